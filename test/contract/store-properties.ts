/**
 * The Store's safety properties as fast-check runs over any adapter: the memory store runs
 * them at full strength (test/unit/store-properties.test.ts), Redis a lighter run
 * (store.real.test.ts). fast-check prints the seed and the shrunk history on failure.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Store, WriteOp } from '../../core/ports/store.ts';
import { historyArb, ReferenceStore, type Snapshot, snapshotOf } from './store-model.ts';

export interface PropertyRun {
  numRuns: number;
  maxCommits: number;
  /** Fixes the seed to replay a failure; omitted = fresh. */
  seed?: number;
}

type MakeStore = () => Promise<Store>;

async function withStore<T>(make: MakeStore, f: (s: Store) => Promise<T>): Promise<T> {
  const store = await make();
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

function params<T>(run: PropertyRun): fc.Parameters<T> {
  return run.seed === undefined ? { numRuns: run.numRuns } : { numRuns: run.numRuns, seed: run.seed };
}

/** After any sequence of commits, every result and the final state equal the reference model's. */
export function assertEqualsModel(make: MakeStore, run: PropertyRun): Promise<void> {
  const prop = fc.asyncProperty(
    historyArb(run.maxCommits),
    fc.integer({ min: 1, max: 4 }),
    (history, pageSize) =>
      withStore(make, async (store) => {
        const model = new ReferenceStore();
        for (const ops of history) expect(await store.commit(ops)).toEqual(model.commit(ops));
        expect(await snapshotOf(store, pageSize)).toEqual(model.snapshot());
      }),
  );
  return fc.assert(prop, params(run));
}

/** While a key exists, every write gives it a strictly greater generation (a delete restarts it at 1). */
export function assertGenerationsIncrease(make: MakeStore, run: PropertyRun): Promise<void> {
  const prop = fc.asyncProperty(historyArb(run.maxCommits), (history) =>
    withStore(make, async (store) => {
      const last = new Map<string, number>();
      for (const ops of history) {
        const res = await store.commit(ops);
        if (!res.ok) continue;
        const deleted = new Set(ops.flatMap((o) => (o.op === 'delete' ? [o.key] : [])));
        for (const [key, gen] of Object.entries(res.generations)) {
          if (gen > 0 && !deleted.has(key)) expect(gen).toBeGreaterThan(last.get(key) ?? 0);
          last.set(key, gen);
          expect((await store.get(key))?.generation ?? 0).toBe(gen);
        }
      }
    }),
  );
  return fc.assert(prop, params(run));
}

/** What the last write op per key / (index, member) in `ops` leaves behind. */
function lastEffects(ops: readonly WriteOp[]) {
  const keys = new Map<string, Uint8Array | null>();
  const members = new Map<string, { index: string; member: string; present: boolean }>();
  for (const op of ops) {
    if (op.op === 'put') keys.set(op.key, op.value);
    else if (op.op === 'delete') keys.set(op.key, null);
    else if (op.op === 'index' || op.op === 'unindex') {
      members.set(JSON.stringify([op.index, op.member]), { ...op, present: op.op === 'index' });
    }
  }
  return { keys, members: [...members.values()] };
}

function expectApplied(before: Snapshot, after: Snapshot, ops: readonly WriteOp[]): void {
  const { keys, members } = lastEffects(ops);
  for (const [key, entry] of Object.entries(after.entries)) {
    const written = keys.get(key);
    if (written === undefined) expect(entry).toEqual(before.entries[key]);
    else if (written === null) expect(entry).toBeNull();
    else expect(entry?.value).toEqual([...written]);
  }
  for (const { index, member, present } of members)
    expect(after.indexes[index]?.includes(member)).toBe(present);
  for (const [index, list] of Object.entries(after.indexes)) {
    const untouched = (m: string) => !members.some((e) => e.index === index && e.member === m);
    expect(list.filter(untouched)).toEqual((before.indexes[index] ?? []).filter(untouched));
  }
}

/** A commit either applies every op (and touches nothing else) or changes nothing at all. */
export function assertAllOrNothing(make: MakeStore, run: PropertyRun): Promise<void> {
  const prop = fc.asyncProperty(historyArb(run.maxCommits), (history) =>
    withStore(make, async (store) => {
      for (const ops of history) {
        const before = await snapshotOf(store, 100);
        const res = await store.commit(ops);
        const after = await snapshotOf(store, 100);
        if (res.ok) expectApplied(before, after, ops);
        else expect(after).toEqual(before);
      }
    }),
  );
  return fc.assert(prop, params(run));
}
