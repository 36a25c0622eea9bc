/**
 * The Placement API's view of the live fleet: every cell's provider trees (the records their
 * tree actors commit, `rp/<root>` in each cell's store) merged into one Placement engine state,
 * so the Placement routes (api/placement) answer `resource provider list|show`, inventories,
 * traits, aggregates, usages and the allocations the compute path made, with their consumers.
 *
 * Kept current without polling: each cell's tree change events (`cp.<cell>.events.rp.*`) name
 * the tree that changed, whose record is read again and put in place of the old one (events
 * only say which tree; the record is the truth, so a lost event is repaired by the next one of
 * that tree, and a reload is a `resync()`). A cell added later is followed when the directory
 * says so.
 *
 * Writes (`write`): the route's engine operation runs on the merged state, its changes are
 * read off, the state is put back as the records say, and each changed provider's new traits,
 * aggregates or inventory tuning go to the tree actor that owns it (`adjust`, checked against
 * the generation the write was made against; kept across the host's registers). The actor's
 * commit is then read back, so the answer and the next read see it. Custom traits and classes
 * an operator creates live in this view (Placement's registry), not in the trees, until a
 * provider carries them. Creating or deleting providers and writing allocations are the compute
 * path's: answered 501.
 */

import { treeEventWildcard } from '../actors/provider-tree.ts';
import { ProviderTreeClient } from '../actors/provider-tree-client.ts';
import { treeChanged } from '../actors/provider-tree-messages.ts';
import { insertProvider, TREE_INDEX, type TreeRecord, treeRecords } from '../actors/provider-tree-store.ts';
import { ActorClient } from '../actors/runtime/client.ts';
import type { PlacementBackend } from '../api/placement/service.ts';
import type { CellRecord } from '../cells/mapping.ts';
import { decode } from '../core/codec/envelope.ts';
import { CellplaneError, toCellplaneError } from '../core/errors.ts';
import type { Uuid } from '../core/model/ids.ts';
import type { Outcome } from '../core/placement/operations.ts';
import { PlacementState } from '../core/placement/state.ts';
import type { Bus, Subscription } from '../core/ports/bus.ts';
import type { Store } from '../core/ports/store.ts';
import { indexPages } from '../core/stores/records.ts';

/** Tree records read per index page at start and on a resync. */
export const FLEET_TREE_PAGE = 500;
/** Trait sets whose cells are remembered (per view version). */
export const MAX_TRAIT_QUERIES = 256;

export interface FleetPlacementOptions {
  /** The cells (a CellDirectory): those with records are read; new ones are followed. */
  readonly cells: {
    list(): readonly CellRecord[];
    onChange(cb: () => void): () => void;
  };
  portsOf(cell: CellRecord): { store: Store; bus: Bus } | Promise<{ store: Store; bus: Bus }>;
  /** A tree that could not be read (it stays as last read). Must not throw. */
  readonly onProblem?: (message: string) => void;
}

/** Root → the providers and consumers it put in the merged state. */
interface Held {
  readonly providers: readonly Uuid[];
  readonly consumers: ReadonlyMap<Uuid, ReadonlyMap<Uuid, ReadonlyMap<string, number>>>;
}

export class FleetPlacement implements PlacementBackend {
  private state = new PlacementState();
  private readonly held = new Map<Uuid, Held>();
  private readonly followed = new Map<string, Promise<Subscription | undefined>>();
  private readonly stopWatching: () => void;
  /** Trees to read again, and the one loop reading them (events come faster than reads). */
  private readonly dirty = new Map<Uuid, CellRecord>();
  private loading: Promise<void> | undefined;
  /** Each tree's last record read, its cell, and each provider's tree. */
  private readonly records = new Map<Uuid, TreeRecord>();
  private readonly cellOfRoot = new Map<Uuid, CellRecord>();
  private readonly rootOf = new Map<Uuid, Uuid>();
  private readonly clients = new Map<string, ProviderTreeClient>();
  /** Writes run one at a time. */
  private writes: Promise<unknown> = Promise.resolve();
  /** Grows when a tree's trait set changes (the trait answers below are kept per version). */
  private version = 0;
  private readonly traitCells = new Map<string, { version: number; cells: ReadonlySet<string> }>();

  private constructor(private readonly o: FleetPlacementOptions) {
    this.stopWatching = o.cells.onChange(() => {
      for (const c of o.cells.list()) void this.follow(c);
    });
  }

  /** Follows every cell, then reads every tree; resolves with the view complete. */
  static async open(o: FleetPlacementOptions): Promise<FleetPlacement> {
    const f = new FleetPlacement(o);
    await Promise.all(o.cells.list().map((c) => f.follow(c)));
    return f;
  }

  async read<T>(fn: (state: PlacementState) => T): Promise<T> {
    await this.loading;
    return fn(this.state);
  }

  write<T>(fn: (state: PlacementState) => Outcome<T>): Promise<Outcome<T>> {
    const run = this.writes.then(() => this.writeNow(fn));
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async writeNow<T>(fn: (state: PlacementState) => Outcome<T>): Promise<Outcome<T>> {
    await this.loading;
    const changed = new Map<Uuid, Set<string>>();
    let unsupported: string | undefined;
    const unsubscribe = this.state.subscribe((c) => {
      if (
        c.kind === 'provider' &&
        (c.what === 'traits' || c.what === 'aggregates' || c.what === 'inventories')
      )
        changed.set(c.uuid, (changed.get(c.uuid) ?? new Set()).add(c.what));
      else if (c.kind === 'provider' || c.kind === 'consumer') unsupported ??= `${c.kind} ${c.what}`;
    });
    let out: Outcome<T>;
    try {
      out = fn(this.state);
    } finally {
      unsubscribe();
    }
    if (unsupported !== undefined) {
      this.rebuild(); // whatever the operation did to providers or consumers, undone
      throw new CellplaneError(
        'notImplemented',
        `this Placement endpoint serves the fleet's live provider trees: creating or deleting providers and writing allocations are the compute path's (${unsupported}); traits, aggregates and inventories of existing providers can be set`,
      );
    }
    const wanted = [...changed].map(([uuid, what]) => ({ uuid, what, ...this.wanted(uuid) }));
    for (const root of new Set(wanted.map((w) => w.root))) this.replace(root, this.records.get(root)); // as the records say
    if (!out.ok) return out;
    for (const w of wanted) await this.adjust(w);
    return out;
  }

  /** The merged state again from the records (the custom names an operator created kept). */
  private rebuild(): void {
    const records = [...this.records.values()];
    const traits = this.state.traitNames().filter((t) => this.state.isCustomTrait(t));
    const classes = this.state.resourceClasses().filter((c) => this.state.isCustomResourceClass(c));
    this.state = new PlacementState();
    this.held.clear();
    this.records.clear();
    this.rootOf.clear();
    for (const t of traits) this.state.addCustomTrait(t);
    for (const c of classes) this.state.addCustomResourceClass(c);
    for (const r of records) this.replace(r.root, r);
  }

  /** What the write wants provider `uuid` to be, and where it lives. */
  private wanted(uuid: Uuid) {
    const rp = this.state.provider(uuid)!;
    const root = this.rootOf.get(uuid)!;
    const before = this.records.get(root)?.providers.find((p) => p.uuid === uuid);
    return {
      root,
      generation: before?.generation ?? rp.generation,
      traits: [...rp.traits],
      aggregates: [...rp.aggregates],
      inventories: Object.fromEntries(rp.inventories),
    };
  }

  /** Hands one provider's change to its tree actor, then reads the tree back. */
  private async adjust(
    w: ReturnType<FleetPlacement['wanted']> & { uuid: Uuid; what: Set<string> },
  ): Promise<void> {
    const cell = this.cellOfRoot.get(w.root)!;
    const ports = await this.o.portsOf(cell);
    let trees = this.clients.get(cell.uuid);
    if (!trees) {
      trees = new ProviderTreeClient(new ActorClient(ports.bus, { scope: cell.name }));
      this.clients.set(cell.uuid, trees);
    }
    await trees.adjust(w.root, {
      provider: w.uuid,
      generation: w.generation,
      ...(w.what.has('traits') ? { traits: w.traits } : {}),
      ...(w.what.has('aggregates') ? { aggregates: w.aggregates } : {}),
      ...(w.what.has('inventories') ? { inventories: w.inventories } : {}),
    });
    const rec = await treeRecords(ports.store).get(w.root);
    this.replace(w.root, rec?.value);
  }

  /**
   * Uuids of the cells with a tree having every trait of `traits` on some provider: where a boot
   * requiring them can go, known as soon as an operator's trait write returned (the shards'
   * capacity reports say it a report interval later). Undefined while the view is loading.
   */
  cellsWithTraits(traits: readonly string[]): ReadonlySet<string> | undefined {
    if (this.loading) return undefined;
    const key = [...traits].sort().join(',');
    const held = this.traitCells.get(key);
    if (held && held.version === this.version) return held.cells;
    const cells = new Set<string>();
    for (const [root, record] of this.records) {
      const cell = this.cellOfRoot.get(root);
      if (!cell || cells.has(cell.uuid)) continue;
      const has = new Set(record.providers.flatMap((p) => p.traits));
      if (traits.every((t) => has.has(t))) cells.add(cell.uuid);
    }
    if (this.traitCells.size >= MAX_TRAIT_QUERIES) this.traitCells.clear();
    this.traitCells.set(key, { version: this.version, cells });
    return cells;
  }

  async close(): Promise<void> {
    this.stopWatching();
    for (const s of this.followed.values()) await (await s)?.unsubscribe().catch(() => {});
    this.followed.clear();
    await this.loading;
  }

  /** Subscribes to a cell's tree events (once), then reads all its trees. */
  private follow(cell: CellRecord): Promise<unknown> {
    if (this.followed.has(cell.uuid)) return this.followed.get(cell.uuid)!;
    const started = (async () => {
      const { bus, store } = await this.o.portsOf(cell);
      const sub = await bus.subscribe(treeEventWildcard(cell.name), (m) => {
        try {
          this.mark(decode(treeChanged, m.data).root as Uuid, cell);
        } catch {
          // Not an event this build reads: the tree is read again on its next one.
        }
      });
      for await (const roots of indexPages(store, TREE_INDEX, FLEET_TREE_PAGE))
        for (const r of roots) this.mark(r as Uuid, cell);
      await this.loading;
      return sub;
    })().catch((err: unknown) => {
      this.followed.delete(cell.uuid); // tried again on the next directory change
      this.o.onProblem?.(
        `cell ${cell.name}: its provider trees not followed (${toCellplaneError(err).message})`,
      );
      return undefined;
    });
    this.followed.set(cell.uuid, started);
    return started;
  }

  private mark(root: Uuid, cell: CellRecord): void {
    this.dirty.set(root, cell);
    this.cellOfRoot.set(root, cell);
    this.loading ??= this.drain().finally(() => {
      this.loading = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.dirty.size > 0) {
      const [root, cell] = this.dirty.entries().next().value!;
      this.dirty.delete(root);
      try {
        const { store } = await this.o.portsOf(cell);
        const rec = await treeRecords(store).get(root);
        this.replace(root, rec?.value);
      } catch (err) {
        this.o.onProblem?.(
          `provider tree ${root} of cell ${cell.name} not read (${toCellplaneError(err).message})`,
        );
      }
    }
  }

  /** Puts `record` (undefined: the tree is gone) in place of what `root` held. */
  private replace(root: Uuid, record: TreeRecord | undefined): void {
    if (traitsKey(this.records.get(root)) !== traitsKey(record)) this.version++; // not on claims and releases
    const old = this.held.get(root);
    if (old) {
      for (const [consumer, byProvider] of old.consumers) this.dropAllocations(consumer, byProvider);
      for (const uuid of [...old.providers].reverse()) {
        this.state.removeProvider(uuid);
        this.rootOf.delete(uuid);
      }
      this.held.delete(root);
      this.records.delete(root);
    }
    if (!record) return;
    this.records.set(root, record);
    for (const p of record.providers) this.rootOf.set(p.uuid, root);
    for (const p of record.providers) insertProvider(this.state, p);
    const consumers = new Map<Uuid, Map<Uuid, Map<string, number>>>();
    for (const c of record.consumers) {
      const mine = new Map<Uuid, Map<string, number>>();
      for (const [rp, amounts] of Object.entries(c.allocations))
        mine.set(rp as Uuid, new Map(Object.entries(amounts)));
      consumers.set(c.uuid as Uuid, mine);
      const cur = this.state.consumer(c.uuid as Uuid);
      // A consumer on two trees (a migration's): its allocations are the union of both records'.
      const allocations = new Map(cur?.allocations ?? []);
      for (const [rp, m] of mine) allocations.set(rp, m);
      this.state.writeConsumer(c.uuid as Uuid, {
        uuid: c.uuid as Uuid,
        projectId: c.project,
        userId: c.user,
        consumerType: null,
        generation: Math.max(c.generation, cur?.generation ?? 0),
        allocations,
      });
    }
    for (const p of record.providers) this.state.restoreGeneration(p.uuid, p.generation);
    this.held.set(root, { providers: record.providers.map((p) => p.uuid), consumers });
  }

  private dropAllocations(consumer: Uuid, byProvider: ReadonlyMap<Uuid, unknown>): void {
    const cur = this.state.consumer(consumer);
    if (!cur) return;
    const allocations = new Map([...cur.allocations].filter(([rp]) => !byProvider.has(rp)));
    this.state.writeConsumer(consumer, allocations.size === 0 ? null : { ...cur, allocations });
  }
}

/** A tree's traits, all providers together (undefined: no tree): what `cellsWithTraits` reads. */
function traitsKey(record: TreeRecord | undefined): string | undefined {
  return record && [...new Set(record.providers.flatMap((p) => p.traits))].sort().join(',');
}
