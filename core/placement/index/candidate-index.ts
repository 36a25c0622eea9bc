/**
 * CandidateIndex: PlacementState in columns, for allocation candidates at fleet scale.
 *
 * Every provider gets a dense slot, in creation order (the order `state.providers()` gives, so
 * scanning slots in ascending order visits trees in the reference's order). Per slot: its uuid,
 * its root's slot (`rootOf`), and per resource class a `ClassColumn`; per trait and aggregate a
 * bitset over slots; `alive` and `roots` bitsets; per root a cached list of its tree's slots in
 * `state.subtree` order (depth-first pre-order, the reference's giver order).
 *
 * Kept current through `state.subscribe`, synchronously, so a query after a write sees it:
 * inventories/usages/traits/aggregates rewrite one slot; a created provider appends a slot; a
 * deleted one leaves a hole; a move re-roots its subtree. Once holes pass
 * `max(compactMinHoles, live × compactHoleRatio)` the index rebuilds from the state (which
 * re-slots in creation order). Call `close()` to stop listening.
 *
 * `derived[slot]` is for readers that derive something from one provider and keep it between
 * queries (the Placement API keeps the provider's JSON text there): the index clears it whenever
 * that provider changes in any way (its slot is re-read, renamed, moved with its tree, deleted)
 * and on a rebuild, so what a reader finds there was derived from the provider as it is now.
 *
 * Reads only the state's public views (never its maps); the query is in query.ts.
 */
import type { Uuid } from '../../model/ids.ts';
import type { PlacementState, StateChange } from '../state.ts';
import { type Bitset, clearBit, grown, setBit, wordsFor } from './bitset.ts';
import { ClassColumn } from './columns.ts';

/** Slots allocated up front; arrays double when full. */
const INITIAL_SLOTS = 1024;
export interface CandidateIndexOptions {
  /** Holes (deleted providers' slots) tolerated before a rebuild, at least … (default 4096) */
  readonly compactMinHoles?: number;
  /** … or this fraction of the live providers, whichever is larger (default 0.25). */
  readonly compactHoleRatio?: number;
}

const DEFAULTS: Required<CandidateIndexOptions> = { compactMinHoles: 4096, compactHoleRatio: 0.25 };

const NO_STRINGS: readonly never[] = [];

export class CandidateIndex {
  /** Slots handed out so far (live + holes); queries scan [0, slotCount). */
  slotCount = 0;
  /** Allocated slots (array lengths). */
  slotCapacity = 0;
  uuidOf: (Uuid | undefined)[] = [];
  readonly slotOf = new Map<Uuid, number>();
  rootOf = new Int32Array(0);
  alive: Bitset = new Uint32Array(0);
  roots: Bitset = new Uint32Array(0);
  readonly columns = new Map<string, ClassColumn>();
  readonly traitBits = new Map<string, Bitset>();
  readonly aggregateBits = new Map<Uuid, Bitset>();
  /** Per slot, a reader's value derived from the provider; see the header. */
  derived: unknown[] = [];
  /** Rebuilds so far (the first build included): for tests and measurements. */
  rebuilds = 0;
  private holes = 0;
  private slotClasses: (readonly string[])[] = [];
  private slotTraits: (readonly string[])[] = [];
  private slotAggregates: (readonly Uuid[])[] = [];
  private members: (Int32Array | undefined)[] = [];
  private readonly unsubscribe: () => void;
  private readonly opts: Required<CandidateIndexOptions>;

  constructor(
    readonly state: PlacementState,
    opts: CandidateIndexOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    this.rebuild();
    this.unsubscribe = state.subscribe((c) => this.apply(c));
  }

  close(): void {
    this.unsubscribe();
  }

  get words(): number {
    return wordsFor(this.slotCount);
  }

  /** Slots of `rootSlot`'s tree in `state.subtree` order (cached until the tree changes). */
  treeOf(rootSlot: number): Int32Array {
    const cached = this.members[rootSlot];
    if (cached) return cached;
    const uuids = this.state.subtree(this.uuidOf[rootSlot]!);
    const out = new Int32Array(uuids.length);
    for (let i = 0; i < uuids.length; i++) out[i] = this.slotOf.get(uuids[i]!)!;
    this.members[rootSlot] = out;
    return out;
  }

  hasAggregates(slot: number): boolean {
    return this.slotAggregates[slot]!.length > 0;
  }

  /** Drops everything and re-reads the state, slots in creation order. */
  rebuild(): void {
    this.rebuilds++;
    this.slotCount = 0;
    this.holes = 0;
    this.slotOf.clear();
    this.columns.clear();
    this.traitBits.clear();
    this.aggregateBits.clear();
    this.allocate(Math.max(INITIAL_SLOTS, this.state.providerCount * 2));
    for (const rp of this.state.providers()) {
      this.uuidOf[this.slotCount] = rp.uuid;
      this.slotOf.set(rp.uuid, this.slotCount++);
    }
    for (const rp of this.state.providers()) this.fill(this.slotOf.get(rp.uuid)!);
  }

  private apply(c: StateChange): void {
    if (c.kind !== 'provider') return; // consumer writes are followed by a 'usages' per provider
    if (c.what === 'created') {
      this.created(c.uuid);
      return;
    }
    const slot = this.slotOf.get(c.uuid);
    if (slot === undefined) {
      this.rebuild(); // cannot happen: every provider has a slot
      return;
    }
    this.derived[slot] = undefined;
    switch (c.what) {
      case 'deleted':
        this.deleted(c.uuid, slot);
        break;
      case 'moved':
        this.moved(c.uuid, slot);
        break;
      case 'inventories':
      case 'usages':
        this.fillClasses(slot);
        break;
      case 'traits':
        this.fillTraits(slot);
        break;
      case 'aggregates':
        this.fillAggregates(slot);
        break;
      case 'renamed':
        break;
    }
  }

  private created(uuid: Uuid): void {
    if (this.slotCount === this.slotCapacity) this.grow(this.slotCapacity * 2);
    const slot = this.slotCount++;
    this.slotOf.set(uuid, slot);
    this.uuidOf[slot] = uuid;
    this.fill(slot);
  }

  private deleted(uuid: Uuid, slot: number): void {
    this.members[this.rootOf[slot]!] = undefined;
    this.members[slot] = undefined;
    for (const rc of this.slotClasses[slot]!) this.columns.get(rc)?.clear(slot);
    for (const t of this.slotTraits[slot]!) clearBit(this.traitBits.get(t)!, slot);
    for (const a of this.slotAggregates[slot]!) clearBit(this.aggregateBits.get(a)!, slot);
    this.slotClasses[slot] = this.slotTraits[slot] = this.slotAggregates[slot] = NO_STRINGS;
    clearBit(this.alive, slot);
    clearBit(this.roots, slot);
    this.slotOf.delete(uuid);
    this.uuidOf[slot] = undefined;
    this.holes++;
    const live = this.slotCount - this.holes;
    if (this.holes > Math.max(this.opts.compactMinHoles, live * this.opts.compactHoleRatio)) this.rebuild();
  }

  private moved(uuid: Uuid, slot: number): void {
    this.members[this.rootOf[slot]!] = undefined;
    this.members[slot] = undefined;
    for (const u of this.state.subtree(uuid)) this.fillTree(this.slotOf.get(u)!);
  }

  /** Everything about one slot from the state. */
  private fill(slot: number): void {
    this.derived[slot] = undefined;
    this.slotClasses[slot] = this.slotTraits[slot] = this.slotAggregates[slot] = NO_STRINGS;
    this.members[slot] = undefined;
    this.fillTree(slot);
    this.fillClasses(slot);
    this.fillTraits(slot);
    this.fillAggregates(slot);
    setBit(this.alive, slot);
  }

  private fillTree(slot: number): void {
    this.derived[slot] = undefined;
    const rp = this.state.provider(this.uuidOf[slot]!)!;
    const rootSlot = this.slotOf.get(rp.rootUuid)!;
    this.rootOf[slot] = rootSlot;
    this.members[rootSlot] = undefined;
    if (rp.parentUuid === null) setBit(this.roots, slot);
    else clearBit(this.roots, slot);
  }

  private fillClasses(slot: number): void {
    for (const rc of this.slotClasses[slot]!) this.columns.get(rc)?.clear(slot);
    const rp = this.state.provider(this.uuidOf[slot]!)!;
    for (const [rc, inv] of rp.inventories) this.column(rc).set(slot, inv, rp.usages.get(rc) ?? 0);
    this.slotClasses[slot] = rp.inventories.size === 0 ? NO_STRINGS : [...rp.inventories.keys()];
  }

  private fillTraits(slot: number): void {
    for (const t of this.slotTraits[slot]!) clearBit(this.traitBits.get(t)!, slot);
    const rp = this.state.provider(this.uuidOf[slot]!)!;
    for (const t of rp.traits) setBit(this.bits(this.traitBits, t), slot);
    this.slotTraits[slot] = rp.traits.size === 0 ? NO_STRINGS : [...rp.traits];
  }

  private fillAggregates(slot: number): void {
    for (const a of this.slotAggregates[slot]!) clearBit(this.aggregateBits.get(a)!, slot);
    const rp = this.state.provider(this.uuidOf[slot]!)!;
    for (const a of rp.aggregates) setBit(this.bits(this.aggregateBits, a), slot);
    this.slotAggregates[slot] = rp.aggregates.size === 0 ? NO_STRINGS : [...rp.aggregates];
  }

  private column(rc: string): ClassColumn {
    let col = this.columns.get(rc);
    if (!col) {
      col = new ClassColumn(this.slotCapacity);
      this.columns.set(rc, col);
    }
    return col;
  }

  private bits<K>(map: Map<K, Bitset>, key: K): Bitset {
    let b = map.get(key);
    if (!b) {
      b = new Uint32Array(wordsFor(this.slotCapacity));
      map.set(key, b);
    }
    return b;
  }

  private allocate(slots: number): void {
    this.slotCapacity = slots;
    this.uuidOf = new Array(slots);
    this.rootOf = new Int32Array(slots);
    this.alive = new Uint32Array(wordsFor(slots));
    this.roots = new Uint32Array(wordsFor(slots));
    this.slotClasses = new Array(slots).fill(NO_STRINGS);
    this.slotTraits = new Array(slots).fill(NO_STRINGS);
    this.slotAggregates = new Array(slots).fill(NO_STRINGS);
    this.members = new Array(slots);
    this.derived = new Array(slots);
  }

  private grow(slots: number): void {
    const words = wordsFor(slots);
    this.slotCapacity = slots;
    const rootOf = new Int32Array(slots);
    rootOf.set(this.rootOf);
    this.rootOf = rootOf;
    this.alive = grown(this.alive, words);
    this.roots = grown(this.roots, words);
    for (const col of this.columns.values()) col.grow(slots);
    for (const [k, b] of this.traitBits) this.traitBits.set(k, grown(b, words));
    for (const [k, b] of this.aggregateBits) this.aggregateBits.set(k, grown(b, words));
  }
}
