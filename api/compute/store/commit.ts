/**
 * Optimistic read-check-commit with bounded retry: every multi-record change reads what it
 * depends on, builds WriteOps conditioned on the generations it read, and commits them in ONE
 * atomic `store.commit`. A conflict (another API replica wrote in between) re-runs the attempt on
 * fresh reads; a refusal (not found, name taken…) is thrown by the attempt and never retried.
 */
import { CellplaneError } from '../../../core/errors.ts';
import type { WriteOp } from '../../../core/ports/store.ts';
import type { ComputeRecords } from './records.ts';

/** Attempts per change before answering 409: conflicts need concurrent writers on the same keys. */
export const MAX_COMMIT_ATTEMPTS = 16;

export interface Attempt<T> {
  readonly ops: WriteOp[];
  readonly result: T;
}

export async function commitWithRetry<T>(
  rec: ComputeRecords,
  what: string,
  attempt: () => Promise<Attempt<T>>,
): Promise<T> {
  for (let i = 0; i < MAX_COMMIT_ATTEMPTS; i++) {
    const { ops, result } = await attempt();
    if (ops.length === 0) return result;
    const r = await rec.store.commit(ops);
    if (r.ok) return result;
  }
  throw new CellplaneError(
    'conflict',
    `${what} lost ${MAX_COMMIT_ATTEMPTS} races with concurrent writers of the same records; retry the request`,
  );
}

/** Reads counter `name` and returns the next value plus the op that claims it (checked by generation). */
export async function nextValue(rec: ComputeRecords, name: string): Promise<{ value: number; op: WriteOp }> {
  const cur = await rec.counters.get(name);
  const value = (cur?.value.value ?? 0) + 1;
  return { value, op: rec.counters.put(name, { value }, cur?.generation ?? 0) };
}
