/**
 * The scoring kernel split over a piscina pool: hosts cut into one contiguous range per worker,
 * both passes (min/max, then scores and top-k) sent to every worker, answers merged here. One
 * `score(profiles)` call handles a batch of requests per round trip (request i uses
 * WEIGHING_PROFILES[profiles[i]]). The columns are copied into SharedArrayBuffers once, when the
 * snapshot is built, and reach the workers through `workerData`: no task carries them.
 */
import { Piscina } from 'piscina';
import type { Snapshot } from '../../core/scheduler/snapshot.ts';
import {
  emptyRanges,
  mergeTop,
  type TopK,
  WEIGHERS,
  WEIGHING_PROFILES,
  widenRange,
} from './scoring-kernel.ts';
import type { ScoringTask, ScoringWorkerData } from './scoring-worker.ts';

/** Contiguous ranges [from, to) covering 0..n-1, one per part, sizes differing by at most 1. */
export function splitRange(n: number, parts: number): [number, number][] {
  if (!Number.isInteger(parts) || parts < 1)
    throw new Error(`parts must be a positive integer, got ${parts}`);
  return Array.from({ length: parts }, (_, i) => [
    Math.floor((i * n) / parts),
    Math.floor(((i + 1) * n) / parts),
  ]);
}

/** Decodes a worker's top answer (k (host, total) pairs per request, host −1 = none). */
export function decodeTop(answer: Float64Array, request: number, k: number): TopK {
  const hosts: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < k; i++) {
    const h = answer[request * 2 * k + 2 * i]!;
    if (h < 0) break;
    hosts.push(h);
    totals.push(answer[request * 2 * k + 2 * i + 1]!);
  }
  return { hosts, totals };
}

export class ScoringPool {
  private readonly pool: Piscina;
  private readonly ranges: [number, number][];

  constructor(
    snapshot: Snapshot,
    readonly threads: number,
  ) {
    const workerData: ScoringWorkerData = { columns: snapshot.cols, profiles: WEIGHING_PROFILES };
    this.pool = new Piscina({
      filename: new URL('./scoring-worker.ts', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      workerData,
    });
    this.ranges = splitRange(snapshot.size, threads);
  }

  private run(task: ScoringTask): Promise<Float64Array> {
    return this.pool.run(task) as Promise<Float64Array>;
  }

  /** The best k hosts of every request of the batch (two round trips to every worker). */
  async score(profiles: Uint8Array, k: number): Promise<TopK[]> {
    const type = 'cp.bench.scoring.v1.range' as const;
    const parts = await Promise.all(this.ranges.map(([from, to]) => this.run({ type, from, to, profiles })));
    const ranges = emptyRanges(profiles.length);
    for (const p of parts) widenRange(ranges, p);
    if (ranges.length !== profiles.length * 2 * WEIGHERS) throw new Error('scoring pool: bad range answer');
    const tops = await Promise.all(
      this.ranges.map(([from, to]) =>
        this.run({ type: 'cp.bench.scoring.v1.top', from, to, profiles, ranges, k }),
      ),
    );
    return Array.from({ length: profiles.length }, (_, r) =>
      mergeTop(
        tops.map((t) => decodeTop(t, r, k)),
        k,
      ),
    );
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
