/**
 * Fencing of a cell conductor's writes. Leadership comes from the coordinator, but a leader that
 * lost its lease learns it late (a process stalled under load, a partition): until then it goes on
 * working on the jobs in its hands, beside the new leader, on the same instance records — two
 * builds of one instance racing each other, each undoing the other's placement.
 *
 * So a new leader takes the fence before it takes a job: it writes the cell store's fence record
 * (`conductor/fence`), and every write the conductor's InstanceStore makes from then on carries
 * a check of that record's generation (one extra key in the same atomic commit). A write from
 * any earlier leader fails its check: InstanceStore throws a retryable `conflict` marked fenced,
 * the stale leader's job goes back to the queue, and the new leader runs it.
 *
 * A fence record that vanished (the store lost its data) is taken again by a leader that meets
 * the loss; a store that lost it cannot tell an earlier leader's fence from the current one's.
 */
import { encode } from '../../core/codec/envelope.ts';
import { CellplaneError } from '../../core/errors.ts';
import type { Conflict, Store, WriteOp } from '../../core/ports/store.ts';
import { trustedRecord } from '../../core/stores/records.ts';

/** The fence record's key in the cell store. */
export const FENCE_KEY = 'conductor/fence';

interface FenceRecord {
  readonly holder: string;
  readonly atMs: number;
}

/** Read by operators only (who holds the cell, since when); the code needs just its generation. */
const fenceMessage = trustedRecord<FenceRecord>('cp.cell.conductor_fence');

/** What InstanceStore needs of a fence: the checks to add to a commit. */
export interface WriteFence {
  checks(): readonly WriteOp[];
}

export class ConductorFence implements WriteFence {
  private generation: number | undefined;

  constructor(
    private readonly store: Pick<Store, 'commit'>,
    private readonly holder: string,
    private readonly now: () => number,
  ) {}

  /** Takes the fence: every write of an earlier holder fails from now on. */
  async take(): Promise<void> {
    const out = await this.store.commit([
      { op: 'put', key: FENCE_KEY, value: encode(fenceMessage, { holder: this.holder, atMs: this.now() }) },
    ]);
    if (!out.ok) throw new CellplaneError('conflict', `could not take the conductor fence (${FENCE_KEY})`);
    this.generation = out.generations[FENCE_KEY];
  }

  /**
   * The check each write carries. Kept after leadership ends: a write of a stale leader must fail,
   * not go unchecked. None before the first take (a replica that never led writes nothing).
   */
  checks(): readonly WriteOp[] {
    return this.generation === undefined
      ? []
      : [{ op: 'check', key: FENCE_KEY, expectedGeneration: this.generation }];
  }
}

/** The error a fenced write throws (retryable: the job goes back to the queue). */
export function fencedError(conflict: Conflict): CellplaneError {
  const lost = conflict.actual === 0;
  return new CellplaneError(
    'conflict',
    lost
      ? `the conductor fence (${FENCE_KEY}) is gone: the cell store lost its data`
      : `fenced: another conductor took the lead of this cell (fence generation ${conflict.actual}, this one holds ${conflict.expected})`,
    { retryable: true, details: { fenced: true, fenceLost: lost } },
  );
}

/** True for the error of a write refused by the fence. */
export function isFenced(err: unknown): boolean {
  const d = (err as { details?: { fenced?: unknown } } | undefined)?.details;
  return d?.fenced === true;
}

/** True for the error of a write whose fence record is gone (the leader takes the fence again). */
export function isFenceLost(err: unknown): boolean {
  const d = (err as { details?: { fenceLost?: unknown } } | undefined)?.details;
  return d?.fenceLost === true;
}
