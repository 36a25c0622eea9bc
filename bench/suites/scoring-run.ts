/**
 * Child process of the scoring suite: one fleet size, all variants in one process.
 *
 *   node --import tsx bench/suites/scoring-run.ts <hosts> <threads> <batch> <full|quick>
 *
 * Builds the seeded fleet's snapshot on SharedArrayBuffer columns (once), starts a piscina pool
 * of `threads` workers over them, checks that the kernel in this thread equals core/scheduler's
 * rank() and that the pool (1 request and `batch` requests per round trip) equals the kernel,
 * request by request (throws on the first difference: a broken variant is never timed), then
 * times with benchmark.js: `1 thread` (the kernel here), `pool` (1 request per round trip, two
 * round trips per request) and `pool ×batch`. Prints one JSON line (ScoringRunResult); rates are
 * per request.
 */
import { type CaseResult, FULL, QUICK, runCase } from '../lib/runner.ts';
import { runAsyncCase } from './async-bench.ts';
import { parsePositive } from './cells-process.ts';
import {
  prepareProfiles,
  rankTop,
  scoreAll,
  sharedSnapshot,
  TOP_K,
  topDifference,
  WEIGHING_PROFILES,
} from './scoring-kernel.ts';
import { ScoringPool } from './scoring-pool.ts';

export interface ScoringVariant {
  readonly variant: string;
  /** Requests per round trip (1 for the calling thread). */
  readonly batch: number;
  /** Requests per second at the median sample. */
  readonly requestsPerS: number;
  readonly rme: number;
  /** Per call (a call = `batch` requests), over benchmark.js samples. */
  readonly p50Us: number;
  readonly p99Us: number;
  readonly samples: number;
}

export interface ScoringRunResult {
  readonly hosts: number;
  readonly threads: number;
  readonly k: number;
  /** Requests whose top-k was compared across all variants (and with rank()). */
  readonly checked: number;
  readonly variants: readonly ScoringVariant[];
}

const profileOf = (i: number) => i % WEIGHING_PROFILES.length;

function variantOf(r: CaseResult, batch: number): ScoringVariant {
  const { variant, rme, p50Us, p99Us, samples } = r;
  return { variant, batch, requestsPerS: r.medianHz * batch, rme, p50Us, p99Us, samples };
}

async function main(): Promise<void> {
  const [hostsArg, threadsArg, batchArg, mode] = process.argv.slice(2);
  const hosts = parsePositive('hosts', hostsArg);
  const threads = parsePositive('threads', threadsArg);
  const batch = parsePositive('batch', batchArg);
  if (mode !== 'full' && mode !== 'quick') throw new Error(`mode must be "full" or "quick", got ${mode}`);
  const limits = mode === 'full' ? FULL : QUICK;
  const snapshot = sharedSnapshot(hosts);
  const prepared = prepareProfiles(snapshot);
  const pool = new ScoringPool(snapshot, threads);
  try {
    // Checks, untimed: kernel = rank(), pool = kernel, for 2 batches of requests.
    const profiles = Uint8Array.from({ length: 2 * batch }, (_, i) => profileOf(i));
    const expected = [...profiles].map((p) => scoreAll(prepared[p]!, hosts, TOP_K));
    const fail = (what: string, i: number, diff: string) => {
      throw new Error(
        `scoring at ${hosts} hosts, request ${i} (${WEIGHING_PROFILES[profiles[i]!]!.name}): ${what} differs: ${diff}`,
      );
    };
    for (let i = 0; i < WEIGHING_PROFILES.length; i++) {
      const d = topDifference(expected[i]!, rankTop(prepared[profiles[i]!]!, hosts, TOP_K));
      if (d) fail('the kernel vs rank()', i, d);
    }
    for (let i = 0; i < profiles.length; i++) {
      const [one] = await pool.score(profiles.subarray(i, i + 1), TOP_K);
      const d = topDifference(one!, expected[i]!);
      if (d) fail('pool (1 per round trip) vs 1 thread', i, d);
    }
    for (let b = 0; b < 2; b++) {
      const got = await pool.score(profiles.subarray(b * batch, (b + 1) * batch), TOP_K);
      got.forEach((t, j) => {
        const d = topDifference(t, expected[b * batch + j]!);
        if (d) fail(`pool ×${batch} vs 1 thread`, b * batch + j, d);
      });
    }

    const row = `${hosts} hosts`;
    let n = 0;
    const single = runCase(
      { row, variant: '1 thread', prepare: () => () => scoreAll(prepared[profileOf(n++)]!, hosts, TOP_K) },
      limits,
    );
    let m = 0;
    const pool1 = await runAsyncCase(
      row,
      `pool ${threads}`,
      () => pool.score(Uint8Array.of(profileOf(m++)), TOP_K),
      limits,
    );
    const batches = [profiles.subarray(0, batch), profiles.subarray(batch)];
    let b = 0;
    const poolBatch = await runAsyncCase(
      row,
      `pool ${threads} ×${batch}`,
      () => pool.score(batches[b++ % 2]!, TOP_K),
      limits,
    );
    const result: ScoringRunResult = {
      hosts,
      threads,
      k: TOP_K,
      checked: profiles.length,
      variants: [variantOf(single, 1), variantOf(pool1, 1), variantOf(poolBatch, batch)],
    };
    console.log(JSON.stringify(result));
  } finally {
    await pool.close();
  }
}

await main();
