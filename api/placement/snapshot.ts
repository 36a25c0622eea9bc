/**
 * Between PlacementState and its stored records: `loadState` rebuilds a state from a store (in
 * creation order), `recordOps` turns the changes of one write into store ops.
 */
import type { Uuid } from '../../core/model/ids.ts';
import {
  type PlacementState,
  PlacementState as State,
  type StateChange,
} from '../../core/placement/operations.ts';
import type { WriteOp } from '../../core/ports/store.ts';
import { loadAll, type PlacementRecords, type ProviderRecord } from './records.ts';

/**
 * Creation order of providers, custom classes and custom traits (Placement lists in that order).
 * A new record comes after every LIVE one (max + 1): the numbers are a function of the stored
 * records alone, so a reload (after a refused composite write, or a restart) hands out the same
 * numbers as a service that never reloaded.
 */
export class Sequence {
  private next = 1;
  /** A dropped key held the highest number: `next` is recomputed on the next assign. */
  private stale = false;
  private readonly seqs = new Map<string, number>();

  assign(key: string, seq?: number): number {
    if (this.stale && seq === undefined) {
      this.next = 1 + Math.max(0, ...this.seqs.values());
      this.stale = false;
    }
    const s = seq ?? this.next;
    this.seqs.set(key, s);
    this.next = Math.max(this.next, s + 1);
    return s;
  }

  of(key: string): number {
    return this.seqs.get(key) ?? this.assign(key);
  }

  drop(key: string): void {
    const s = this.seqs.get(key);
    this.seqs.delete(key);
    if (s !== undefined && s === this.next - 1) this.stale = true;
  }
}

export interface Loaded {
  readonly state: PlacementState;
  readonly seq: Sequence;
}

export async function loadState(rec: PlacementRecords): Promise<Loaded> {
  const [providers, consumers, classes, traits] = await Promise.all([
    loadAll(rec.providers),
    loadAll(rec.consumers),
    loadAll(rec.classes),
    loadAll(rec.traits),
  ]);
  const state = new State();
  const seq = new Sequence();
  for (const c of classes.sort((a, b) => a.seq - b.seq)) {
    state.addCustomResourceClass(c.name);
    seq.assign(`c:${c.name}`, c.seq);
  }
  for (const t of traits.sort((a, b) => a.seq - b.seq)) {
    state.addCustomTrait(t.name);
    seq.assign(`t:${t.name}`, t.seq);
  }
  insertProviders(
    state,
    seq,
    providers.sort((a, b) => a.seq - b.seq),
  );
  for (const c of consumers) {
    const allocations = new Map<Uuid, Map<string, number>>();
    for (const [rp, byClass] of Object.entries(c.allocations))
      allocations.set(rp as Uuid, new Map(Object.entries(byClass)));
    state.writeConsumer(c.uuid, { ...c, allocations });
  }
  // Writing consumers does not bump generations; restore them last.
  for (const p of providers) state.restoreGeneration(p.uuid, p.generation);
  return { state, seq };
}

/** Parents first: a provider re-parented under a younger one (1.37) is moved after all exist. */
function insertProviders(state: PlacementState, seq: Sequence, providers: readonly ProviderRecord[]): void {
  const late: ProviderRecord[] = [];
  for (const p of providers) {
    const parentReady = p.parentUuid === null || state.provider(p.parentUuid) !== undefined;
    state.insertProvider(p.uuid, p.name, parentReady ? p.parentUuid : null);
    if (!parentReady) late.push(p);
    seq.assign(`p:${p.uuid}`, p.seq);
    state.replaceInventories(p.uuid, new Map(Object.entries(p.inventories)));
    state.replaceTraits(p.uuid, p.traits);
    state.replaceAggregates(p.uuid, p.aggregates);
  }
  for (const p of late) state.moveProvider(p.uuid, p.parentUuid);
}

/** Store ops that make the records match `state` for everything `changes` touched. */
export function recordOps(
  state: PlacementState,
  seq: Sequence,
  rec: PlacementRecords,
  changes: readonly StateChange[],
): WriteOp[] {
  const providers = new Set<Uuid>();
  const consumers = new Set<Uuid>();
  const classes = new Set<string>();
  const traits = new Set<string>();
  for (const c of changes) {
    if (c.kind === 'provider') providers.add(c.uuid);
    else if (c.kind === 'consumer') consumers.add(c.uuid);
    else if (c.kind === 'resourceClass') classes.add(c.name);
    else traits.add(c.name);
  }
  const ops: WriteOp[] = [];
  for (const uuid of providers) ops.push(providerOp(state, seq, rec, uuid));
  for (const uuid of consumers) {
    const c = state.consumer(uuid);
    if (!c) ops.push(rec.consumers.delete(uuid));
    else {
      const allocations: Record<string, Record<string, number>> = {};
      for (const [rp, byClass] of c.allocations) allocations[rp] = Object.fromEntries(byClass);
      const { projectId, userId, consumerType, generation } = c;
      ops.push(rec.consumers.put(uuid, { uuid, projectId, userId, consumerType, generation, allocations }));
    }
  }
  for (const name of classes) {
    if (state.isCustomResourceClass(name))
      ops.push(rec.classes.put(name, { name, seq: seq.of(`c:${name}`) }));
    else {
      seq.drop(`c:${name}`);
      ops.push(rec.classes.delete(name));
    }
  }
  for (const name of traits) {
    if (state.isCustomTrait(name)) ops.push(rec.traits.put(name, { name, seq: seq.of(`t:${name}`) }));
    else {
      seq.drop(`t:${name}`);
      ops.push(rec.traits.delete(name));
    }
  }
  return ops;
}

function providerOp(state: PlacementState, seq: Sequence, rec: PlacementRecords, uuid: Uuid): WriteOp {
  const rp = state.provider(uuid);
  if (!rp) {
    seq.drop(`p:${uuid}`);
    return rec.providers.delete(uuid);
  }
  return rec.providers.put(uuid, {
    seq: seq.of(`p:${uuid}`),
    uuid,
    name: rp.name,
    parentUuid: rp.parentUuid,
    generation: rp.generation,
    traits: [...rp.traits],
    aggregates: [...rp.aggregates],
    inventories: Object.fromEntries(rp.inventories),
  });
}
