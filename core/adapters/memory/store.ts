/**
 * The embedded Store: everything in process memory, same semantics as the Redis adapter
 * (test/contract/store.contract.ts). Values are copied in and out, so a caller mutating
 * its buffer never changes what is stored. Index members are kept in a sorted array in
 * UTF-8 byte order (binary search; insert is O(n), fine for embedded sizes).
 */

import { copyBytes } from '../../codec/bytes.ts';
import { CellplaneError } from '../../errors.ts';
import type {
  CommitResult,
  Conflict,
  ListOptions,
  ListPage,
  Store,
  StoreEntry,
  WriteOp,
} from '../../ports/store.ts';
import { checkListOptions, checkName, checkOps, compareUtf8 } from '../../stores/rules.ts';

interface Cell {
  value: Uint8Array;
  generation: number;
}

/** Index of the first element of `sorted` that is >= `s` (or > `s` when `strict`). */
function lowerBound(sorted: readonly string[], s: string, strict: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareUtf8(sorted[mid]!, s);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function expectationOf(op: WriteOp): number | undefined {
  return op.op === 'put' || op.op === 'delete' || op.op === 'check' ? op.expectedGeneration : undefined;
}

export class MemoryStore implements Store {
  private readonly cells = new Map<string, Cell>();
  private readonly indexes = new Map<string, string[]>();
  private closed = false;

  async get(key: string): Promise<StoreEntry | undefined> {
    this.ensureOpen();
    checkName('key', key);
    return this.read(key);
  }

  async getMany(keys: readonly string[]): Promise<(StoreEntry | undefined)[]> {
    this.ensureOpen();
    for (const k of keys) checkName('key', k);
    return keys.map((k) => this.read(k));
  }

  async commit(ops: readonly WriteOp[]): Promise<CommitResult> {
    this.ensureOpen();
    checkOps(ops);
    const conflicts: Conflict[] = [];
    for (const op of ops) {
      const expected = expectationOf(op);
      if (expected === undefined || !('key' in op)) continue;
      const actual = this.cells.get(op.key)?.generation ?? 0;
      if (actual !== expected) conflicts.push({ key: op.key, expected, actual });
    }
    if (conflicts.length > 0) return { ok: false, conflicts };
    const generations: Record<string, number> = Object.create(null);
    for (const op of ops) this.apply(op, generations);
    return { ok: true, generations };
  }

  async list(index: string, opts: ListOptions): Promise<ListPage> {
    this.ensureOpen();
    checkListOptions(index, opts);
    const sorted = this.indexes.get(index) ?? [];
    let members: string[];
    if (!opts.reverse) {
      const start = opts.after === undefined ? 0 : lowerBound(sorted, opts.after, true);
      members = sorted.slice(start, start + opts.limit + 1);
    } else {
      const end = opts.after === undefined ? sorted.length : lowerBound(sorted, opts.after, false);
      members = sorted.slice(Math.max(0, end - opts.limit - 1), end).reverse();
    }
    // One extra member was read to learn whether another page follows.
    if (members.length <= opts.limit) return { members, next: undefined };
    members.length = opts.limit;
    return { members, next: members[opts.limit - 1] };
  }

  async count(index: string): Promise<number> {
    this.ensureOpen();
    checkName('index', index);
    return this.indexes.get(index)?.length ?? 0;
  }

  async scanKeys(prefix: string): Promise<string[]> {
    this.ensureOpen();
    if (prefix !== '') checkName('prefix', prefix);
    return [...this.cells.keys()].filter((k) => k.startsWith(prefix)).sort(compareUtf8);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * Fault injection: forgets every key and index, as Redis's FLUSHALL does (or a Redis without
   * persistence that restarted). Not part of the Store port: no role may empty a store.
   */
  clear(): void {
    this.cells.clear();
    this.indexes.clear();
  }

  private read(key: string): StoreEntry | undefined {
    const c = this.cells.get(key);
    return c && { key, value: copyBytes(c.value), generation: c.generation };
  }

  private apply(op: WriteOp, generations: Record<string, number>): void {
    switch (op.op) {
      case 'put': {
        const generation = (this.cells.get(op.key)?.generation ?? 0) + 1;
        this.cells.set(op.key, { value: copyBytes(op.value), generation });
        generations[op.key] = generation;
        return;
      }
      case 'delete':
        this.cells.delete(op.key);
        generations[op.key] = 0;
        return;
      case 'check':
        return;
      case 'index': {
        const sorted = this.indexes.get(op.index) ?? [];
        this.indexes.set(op.index, sorted);
        const at = lowerBound(sorted, op.member, false);
        if (sorted[at] !== op.member) sorted.splice(at, 0, op.member);
        return;
      }
      case 'unindex': {
        const sorted = this.indexes.get(op.index);
        if (!sorted) return;
        const at = lowerBound(sorted, op.member, false);
        if (sorted[at] === op.member) sorted.splice(at, 1);
        if (sorted.length === 0) this.indexes.delete(op.index);
        return;
      }
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new CellplaneError('closed', 'store is closed');
  }
}
