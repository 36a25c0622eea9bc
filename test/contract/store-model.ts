/**
 * A deliberately naive reference model of the Store port and fast-check generators of
 * commits over a small key space (so commits collide often). Written independently of
 * the adapters: maps and sets, sorted with Buffer.compare on UTF-8 bytes at read time.
 */
import fc from 'fast-check';
import type { CommitResult, Conflict, Store, WriteOp } from '../../core/ports/store.ts';

/** Keys and members include glob characters, ':' and non-BMP text on purpose. */
export const MODEL_KEYS = ['a', 'b', 'c*', 'd:e', 'é', '😀'] as const;
export const MODEL_INDEXES = ['x', 'y[1]'] as const;
export const MODEL_MEMBERS = ['m1', 'm2', 'm 3', '\uFB00', '😀', '?'] as const;

/** More pages than any model index can fill: paging that exceeds it is looping. */
const MAX_PAGES = 100;

export const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export interface Snapshot {
  entries: Record<string, { value: number[]; generation: number } | null>;
  indexes: Record<string, string[]>;
  keys: string[];
}

export class ReferenceStore {
  readonly cells = new Map<string, { value: Uint8Array; generation: number }>();
  readonly indexes = new Map<string, Set<string>>();

  commit(ops: readonly WriteOp[]): CommitResult {
    const conflicts: Conflict[] = [];
    for (const op of ops) {
      if (op.op === 'index' || op.op === 'unindex' || op.expectedGeneration === undefined) continue;
      const actual = this.cells.get(op.key)?.generation ?? 0;
      if (actual !== op.expectedGeneration)
        conflicts.push({ key: op.key, expected: op.expectedGeneration, actual });
    }
    if (conflicts.length) return { ok: false, conflicts };
    const generations: Record<string, number> = {};
    for (const op of ops) {
      if (op.op === 'put') {
        const generation = (this.cells.get(op.key)?.generation ?? 0) + 1;
        this.cells.set(op.key, { value: Uint8Array.from(op.value), generation });
        generations[op.key] = generation;
      } else if (op.op === 'delete') {
        this.cells.delete(op.key);
        generations[op.key] = 0;
      } else if (op.op === 'index') {
        if (!this.indexes.has(op.index)) this.indexes.set(op.index, new Set());
        this.indexes.get(op.index)!.add(op.member);
      } else if (op.op === 'unindex') {
        this.indexes.get(op.index)?.delete(op.member);
      }
    }
    return { ok: true, generations };
  }

  snapshot(): Snapshot {
    const entries: Snapshot['entries'] = {};
    for (const k of MODEL_KEYS) {
      const c = this.cells.get(k);
      entries[k] = c ? { value: [...c.value], generation: c.generation } : null;
    }
    const indexes: Snapshot['indexes'] = {};
    for (const i of MODEL_INDEXES) indexes[i] = [...(this.indexes.get(i) ?? [])].sort(byteOrder);
    return { entries, indexes, keys: [...this.cells.keys()].sort(byteOrder) };
  }
}

/** Reads everything in the model's universe from a real store, paging with `pageSize`. */
export async function snapshotOf(store: Store, pageSize: number): Promise<Snapshot> {
  const got = await store.getMany(MODEL_KEYS);
  const entries: Snapshot['entries'] = {};
  MODEL_KEYS.forEach((k, i) => {
    const e = got[i];
    entries[k] = e ? { value: [...e.value], generation: e.generation } : null;
  });
  const indexes: Snapshot['indexes'] = {};
  for (const index of MODEL_INDEXES) {
    const members: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      if (++pages > MAX_PAGES) throw new Error(`paging ${index} did not end`);
      const page = await store.list(index, { limit: pageSize, ...(after === undefined ? {} : { after }) });
      members.push(...page.members);
      after = page.next;
    } while (after !== undefined);
    if ((await store.count(index)) !== members.length) throw new Error(`count(${index}) disagrees with list`);
    const reverse: string[] = [];
    pages = 0;
    do {
      if (++pages > MAX_PAGES) throw new Error(`reverse paging ${index} did not end`);
      const opts = { limit: pageSize, reverse: true, ...(after === undefined ? {} : { after }) };
      const page = await store.list(index, opts);
      reverse.push(...page.members);
      after = page.next;
    } while (after !== undefined);
    if (reverse.reverse().join('\0') !== members.join('\0'))
      throw new Error(`reverse list of ${index} disagrees`);
    indexes[index] = members;
  }
  return { entries, indexes, keys: await store.scanKeys('') };
}

const key = fc.constantFrom(...MODEL_KEYS);
/** Half the writes carry no expectation, so enough commits succeed to build up generations. */
const expected = fc.option(fc.nat({ max: 4 }), { nil: undefined, freq: 2 });
const value = fc.uint8Array({ maxLength: 6 });

const op: fc.Arbitrary<WriteOp> = fc.oneof(
  { arbitrary: fc.record({ key, value, expectedGeneration: expected }).map((r) => put(r)), weight: 4 },
  { arbitrary: fc.record({ key, expectedGeneration: expected }).map((r) => del(r)), weight: 2 },
  {
    arbitrary: fc
      .record({ key, expectedGeneration: fc.nat({ max: 3 }) })
      .map((r) => ({ op: 'check' as const, ...r })),
    weight: 1,
  },
  {
    arbitrary: fc
      .record({
        op: fc.constantFrom('index' as const, 'unindex' as const),
        index: fc.constantFrom(...MODEL_INDEXES),
        member: fc.constantFrom(...MODEL_MEMBERS),
      })
      .map((r): WriteOp => r),
    weight: 3,
  },
);

function put(r: { key: string; value: Uint8Array; expectedGeneration: number | undefined }): WriteOp {
  return r.expectedGeneration === undefined
    ? { op: 'put', key: r.key, value: r.value }
    : { op: 'put', key: r.key, value: r.value, expectedGeneration: r.expectedGeneration };
}

function del(r: { key: string; expectedGeneration: number | undefined }): WriteOp {
  return r.expectedGeneration === undefined
    ? { op: 'delete', key: r.key }
    : { op: 'delete', key: r.key, expectedGeneration: r.expectedGeneration };
}

/** A commit of 0..6 ops. */
export const commitArb: fc.Arbitrary<WriteOp[]> = fc.array(op, { maxLength: 6, size: 'max' });
/** A history of commits. */
export const historyArb = (maxCommits: number): fc.Arbitrary<WriteOp[][]> =>
  fc.array(commitArb, { minLength: 1, maxLength: maxCommits, size: 'max' });
