/**
 * Runs one case with benchmark.js 2.1.4: an explicit warm-up, then benchmark.js's own
 * calibration and sampling (each sample times a loop of many calls). The op is passed as a
 * closure and no setup/teardown is given, so benchmark.js calls it rather than decompiling
 * it (decompiled source would lose the closure).
 */
import Benchmark from 'benchmark';
import { percentile } from './stats.ts';
import type { BenchCase } from './types.ts';

export interface RunLimits {
  /** Calls the op in a loop this long before measuring (JIT warm-up). */
  readonly warmupMs: number;
  /** benchmark.js `maxTime`: seconds of sampling per case (it overshoots by one cycle). */
  readonly maxTimeS: number;
  /** benchmark.js `minSamples`. */
  readonly minSamples: number;
}

/** Default run: the 27 codec cases take ~40 s on 2 vCPUs. */
export const FULL: RunLimits = { warmupMs: 150, maxTimeS: 0.75, minSamples: 10 };
export const QUICK: RunLimits = { warmupMs: 20, maxTimeS: 0.1, minSamples: 5 };

export interface CaseResult {
  readonly row: string;
  readonly variant: string;
  readonly params: Readonly<Record<string, string | number>>;
  /** benchmark.js ops/s: total calls ÷ total time, so one disturbed sample drags it down. */
  readonly hz: number;
  /** ops/s of the median sample: robust to the odd disturbed sample on a shared machine. */
  readonly medianHz: number;
  /** Relative margin of error, percent (95%). */
  readonly rme: number;
  readonly meanUs: number;
  /** Percentiles of the per-sample mean time per call (not of single calls). */
  readonly p50Us: number;
  readonly p99Us: number;
  readonly samples: number;
}

/** Written by every op call so the engine cannot drop the work as dead code. */
export let sink: unknown;

function warmUp(op: () => unknown, ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) sink = op();
  }
}

export function runCase(c: BenchCase, limits: RunLimits): CaseResult {
  const op = c.prepare();
  warmUp(op, limits.warmupMs);
  const bench = new Benchmark(
    `${c.row} ${c.variant}`,
    () => {
      sink = op();
    },
    {
      maxTime: limits.maxTimeS,
      minSamples: limits.minSamples,
      initCount: 1,
    },
  );
  bench.run({ async: false });
  return resultOf(bench, c.row, c.variant, c.params ?? {});
}

/** A finished benchmark's CaseResult; throws if it failed (`failure`: an error seen by the op). */
export function resultOf(
  bench: Benchmark,
  row: string,
  variant: string,
  params: CaseResult['params'],
  failure?: unknown,
): CaseResult {
  const error = failure ?? (bench as unknown as { error?: unknown }).error;
  if (error) throw new Error(`benchmark "${bench.name}" failed`, { cause: error });
  const usPerCall = bench.stats.sample.map((s) => s * 1e6);
  return {
    row,
    variant,
    params,
    hz: bench.hz,
    medianHz: 1e6 / percentile(usPerCall, 50),
    rme: bench.stats.rme,
    meanUs: bench.stats.mean * 1e6,
    p50Us: percentile(usPerCall, 50),
    p99Us: percentile(usPerCall, 99),
    samples: usPerCall.length,
  };
}
