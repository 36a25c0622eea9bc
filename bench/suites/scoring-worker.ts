/**
 * Piscina worker of the scoring suite (runs under tsx: the worker threads inherit the parent's
 * `--import tsx`). At start it rebuilds the Snapshot over the SharedArrayBuffer columns it is
 * given in `workerData` (shared, not copied) and prepares the weighing profiles; each task then
 * runs one pass of the kernel (scoring-kernel.ts) over its host range for a batch of requests.
 */
import { workerData } from 'piscina';
import type { ProfileSpec } from '../../core/scheduler/profile.ts';
import { Snapshot, type SnapshotColumns } from '../../core/scheduler/snapshot.ts';
import { prepareProfiles, topInRange, WEIGHERS, weightRange } from './scoring-kernel.ts';

export interface ScoringWorkerData {
  readonly columns: SnapshotColumns;
  readonly profiles: readonly ProfileSpec[];
}

/** A batch: request i uses profile `profiles[i]`; every message is a versioned union (STYLE.md §7). */
export type ScoringTask =
  | {
      readonly type: 'cp.bench.scoring.v1.range';
      readonly from: number;
      readonly to: number;
      readonly profiles: Uint8Array;
    }
  | {
      readonly type: 'cp.bench.scoring.v1.top';
      readonly from: number;
      readonly to: number;
      readonly profiles: Uint8Array;
      /** Min/max over ALL hosts per request and weigher (the merged answers of the range pass). */
      readonly ranges: Float64Array;
      readonly k: number;
    };

/**
 * range → per request, per weigher, min and max raw weight (2 × WEIGHERS numbers each);
 * top → per request, k (host, total) pairs, best first, host −1 where the range had fewer.
 */
export type ScoringAnswer = Float64Array;

const data = workerData as ScoringWorkerData;
const prepared = prepareProfiles(new Snapshot(data.columns), data.profiles);

export default function score(task: ScoringTask): ScoringAnswer {
  const { from, to, profiles } = task;
  if (task.type === 'cp.bench.scoring.v1.range') {
    const out = new Float64Array(profiles.length * 2 * WEIGHERS);
    for (let r = 0; r < profiles.length; r++)
      weightRange(prepared[profiles[r]!]!, from, to, out, r * 2 * WEIGHERS);
    return out;
  }
  if (task.type === 'cp.bench.scoring.v1.top') {
    const { k } = task;
    const out = new Float64Array(profiles.length * 2 * k).fill(-1);
    for (let r = 0; r < profiles.length; r++) {
      const top = topInRange(prepared[profiles[r]!]!, task.ranges, r * 2 * WEIGHERS, from, to, k);
      for (let i = 0; i < top.hosts.length; i++) {
        out[r * 2 * k + 2 * i] = top.hosts[i]!;
        out[r * 2 * k + 2 * i + 1] = top.totals[i]!;
      }
    }
    return out;
  }
  throw new Error(`scoring worker: unknown task type ${JSON.stringify((task as { type?: unknown }).type)}`);
}
