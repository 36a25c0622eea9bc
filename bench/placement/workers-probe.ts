/**
 * Do piscina workers over SharedArrayBuffers pay off for the candidate search? Measures, at
 * 50,000 roots: the index's filter passes alone (limit=1: enumeration stops at once), the full
 * query (limit=1000), one column pass in process, and a piscina round trip doing that same pass
 * on half the slots over a SharedArrayBuffer (2 workers, the machine's cores).
 *   node --import tsx bench/placement/workers-probe.ts
 */
import { Piscina } from 'piscina';
import { CandidateIndex, indexCandidates } from '../../core/placement/index/index.ts';
import { loadState, makeFleet } from './fleet.ts';
import { timeCalls } from './latency.ts';
import { queryFor } from './queries.ts';

const ROOTS = 50_000;
const LIMITS = { minCalls: 200, maxCalls: 5000, maxMs: 2000 };

async function main(): Promise<void> {
  const state = loadState(makeFleet(ROOTS, false, 'bench-placement-1'));
  const ix = new CandidateIndex(state);
  const q = queryFor(false);
  const passes = timeCalls(() => indexCandidates(ix, q.group, { limit: 1 }), LIMITS);
  const full = timeCalls(() => indexCandidates(ix, q.group, { limit: q.limit }), LIMITS);
  const shared = new SharedArrayBuffer(8 * ROOTS);
  const col = new Float64Array(shared).fill(100);
  const inline = timeCalls(() => {
    let n = 0;
    for (let i = 0; i < ROOTS; i++) if (col[i]! + 2 <= 128) n++;
    return n;
  }, LIMITS);
  const pool = new Piscina({
    filename: new URL('./probe-worker.mjs', import.meta.url).href,
    minThreads: 2,
    maxThreads: 2,
  });
  try {
    const half = ROOTS / 2;
    const task = (from: number, to: number) => pool.run({ shared, from, to, threshold: 128 });
    for (let i = 0; i < 500; i++) await Promise.all([task(0, half), task(half, ROOTS)]); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      await Promise.all([task(0, half), task(half, ROOTS)]);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const fmt = (x: number) => `${(x * 1000).toFixed(0)} µs`;
    console.log(`index filter passes (limit=1): p50 ${fmt(passes.p50Ms)} p99 ${fmt(passes.p99Ms)}`);
    console.log(`index full query (limit=1000): p50 ${fmt(full.p50Ms)} p99 ${fmt(full.p99Ms)}`);
    console.log(`one column pass in process: p50 ${fmt(inline.p50Ms)} p99 ${fmt(inline.p99Ms)}`);
    console.log(
      `same pass split over 2 piscina workers (SAB): p50 ${fmt(times[1000]!)} p99 ${fmt(times[1980]!)}`,
    );
  } finally {
    await pool.destroy();
  }
}

await main();
