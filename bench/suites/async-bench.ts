/**
 * benchmark.js for an asynchronous op (a piscina round trip), in a child process of a suite:
 * bench/lib/runner.ts is synchronous (`run({ async: false })`), so an op that returns a promise
 * is run here as a deferred benchmark — the same warm-up, limits and result shape as runCase.
 */
import Benchmark from 'benchmark';
import { type CaseResult, type RunLimits, resultOf } from '../lib/runner.ts';

/** Written by every op so the work cannot be dropped. */
export let asyncSink: unknown;

export async function runAsyncCase(
  row: string,
  variant: string,
  op: () => Promise<unknown>,
  limits: RunLimits,
): Promise<CaseResult> {
  const until = performance.now() + limits.warmupMs;
  while (performance.now() < until) asyncSink = await op();
  let failure: unknown;
  const bench = new Benchmark(`${row} ${variant}`, {
    defer: true,
    fn: (deferred: { resolve(): void }) => {
      op().then(
        (r) => {
          asyncSink = r;
          deferred.resolve();
        },
        (err: unknown) => {
          failure ??= err;
          deferred.resolve();
        },
      );
    },
    maxTime: limits.maxTimeS,
    minSamples: limits.minSamples,
    initCount: 1,
  });
  await new Promise<void>((resolve) => {
    bench.on('complete', () => resolve());
    bench.run({ async: true });
  });
  return resultOf(bench, row, variant, {}, failure);
}
