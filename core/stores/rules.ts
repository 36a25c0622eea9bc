/**
 * Rules every Store adapter applies the same way (core/ports/store.ts), so the memory
 * and Redis adapters cannot drift: input validation, named limits, and the order of
 * keys and index members (UTF-8 byte order, which is Redis's lexicographic order).
 */
import { CellplaneError } from '../errors.ts';
import type { ListOptions, WriteOp } from '../ports/store.ts';

/** Most ops in one commit: keeps one Lua script run (which blocks Redis) short. */
export const MAX_COMMIT_OPS = 4096;
/** Largest page `list` returns. */
export const MAX_LIST_LIMIT = 10_000;
/** Largest value: Redis's own limit is 512 MiB; bulk state records are small. */
export const MAX_VALUE_BYTES = 64 * 1024 * 1024;

const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Keys, index names and members are non-empty, well-formed Unicode (a lone surrogate
 * has no UTF-8 form, so it would not round-trip through Redis).
 */
export function checkName(what: string, s: unknown): asserts s is string {
  if (typeof s !== 'string' || s.length === 0) {
    throw new CellplaneError('invalid', `${what} must be a non-empty string`);
  }
  if (LONE_SURROGATE.test(s)) {
    throw new CellplaneError('invalid', `${what} ${JSON.stringify(s)} is not well-formed Unicode`);
  }
}

function checkGeneration(g: unknown, key: string): void {
  if (!Number.isSafeInteger(g) || (g as number) < 0) {
    throw new CellplaneError('invalid', `expectedGeneration for "${key}" must be an integer >= 0`);
  }
}

/** Throws `invalid` for a malformed commit, before anything is checked or written. */
export function checkOps(ops: readonly WriteOp[]): void {
  if (ops.length > MAX_COMMIT_OPS) {
    throw new CellplaneError('invalid', `a commit holds at most ${MAX_COMMIT_OPS} ops, got ${ops.length}`);
  }
  for (const op of ops) {
    switch (op.op) {
      case 'put':
        checkName('key', op.key);
        if (!(op.value instanceof Uint8Array)) {
          throw new CellplaneError('invalid', `value for "${op.key}" must be a Uint8Array`);
        }
        if (op.value.byteLength > MAX_VALUE_BYTES) {
          throw new CellplaneError('invalid', `value for "${op.key}" exceeds ${MAX_VALUE_BYTES} bytes`);
        }
        if (op.expectedGeneration !== undefined) checkGeneration(op.expectedGeneration, op.key);
        break;
      case 'delete':
        checkName('key', op.key);
        if (op.expectedGeneration !== undefined) checkGeneration(op.expectedGeneration, op.key);
        break;
      case 'check':
        checkName('key', op.key);
        checkGeneration(op.expectedGeneration, op.key);
        break;
      case 'index':
      case 'unindex':
        checkName('index', op.index);
        checkName('member', op.member);
        break;
      default:
        throw new CellplaneError('invalid', `unknown store op ${JSON.stringify((op as { op: unknown }).op)}`);
    }
  }
}

export function checkListOptions(index: string, opts: ListOptions): void {
  checkName('index', index);
  if (!Number.isSafeInteger(opts.limit) || opts.limit < 1 || opts.limit > MAX_LIST_LIMIT) {
    throw new CellplaneError('invalid', `list limit must be an integer in 1..${MAX_LIST_LIMIT}`);
  }
  if (opts.after !== undefined) checkName('after', opts.after);
}

/**
 * Compares strings in UTF-8 byte order (= code point order). Plain `<` compares UTF-16
 * code units, which puts U+10000.. (surrogate pairs) before U+E000..U+FFFF; Redis does not.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    // Equal prefixes keep both strings aligned, so a surrogate here starts a code point above 0xFFFF.
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
