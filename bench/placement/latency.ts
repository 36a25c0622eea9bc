/**
 * Single-call latencies (performance.now() around each call), unlike benchmark.js's samples
 * which are means of many calls: what p50/p99 of one allocation-candidates query means.
 */
import { percentile } from '../lib/stats.ts';

export interface Latency {
  readonly calls: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Calls ÷ total time of the calls, one at a time. */
  readonly qps: number;
}

/** Calls `op` at least `minCalls` times and until `maxMs` has passed or `maxCalls` were made. */
export function timeCalls(
  op: () => unknown,
  limits: { minCalls: number; maxCalls: number; maxMs: number },
): Latency {
  const times: number[] = [];
  const until = performance.now() + limits.maxMs;
  let sink: unknown;
  while (times.length < limits.maxCalls && (times.length < limits.minCalls || performance.now() < until)) {
    const t0 = performance.now();
    sink = op();
    times.push(performance.now() - t0);
  }
  if (sink === Symbol.for('never')) throw new Error('unreachable');
  const total = times.reduce((a, b) => a + b, 0);
  return {
    calls: times.length,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    qps: (times.length * 1000) / total,
  };
}
