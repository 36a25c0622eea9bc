/**
 * Scoring suite: the placement scoring kernel (core/scheduler's weighers over the snapshot's
 * capacity columns, every host scored for one request, best k kept) at 1,000 / 10,000 / 50,000
 * hosts, in the calling thread and split over a piscina pool of 2 workers reading the columns from
 * SharedArrayBuffers, with 1 and 64 requests per round trip. The pool variants are asynchronous,
 * so each size runs in a child process (scoring-run.ts: all variants, the same process) started
 * from `prepare`; the harness table times rank() and the kernel in this process. `--quick` (seen
 * in process.argv) runs 1,000 and 10,000 hosts with short samples.
 */

import { markdownTable } from '../lib/report.ts';
import { formatOps, formatRatio, formatSig } from '../lib/stats.ts';
import { type BenchCase, defineSuite } from '../lib/types.ts';
import { type ChildOutcome, runChild } from './child-run.ts';
import {
  prepareProfiles,
  rankTop,
  SCORING_SEED,
  scoreAll,
  sharedSnapshot,
  TOP_K,
  topDifference,
  WEIGHING_PROFILES,
} from './scoring-kernel.ts';
import type { ScoringRunResult } from './scoring-run.ts';

const QUICK = process.argv.includes('--quick');
export const SCORING_SIZES = QUICK ? [1000, 10_000] : [1000, 10_000, 50_000];
const THREADS = 2;
const BATCH = 64;
const CHILD_TIMEOUT_MS = 300_000;

const runs = new Map<number, ChildOutcome<ScoringRunResult>>();

const rowOf = (hosts: number) => `score ${hosts.toLocaleString('en-US')} hosts, keep ${TOP_K}`;

function scoringCase(hosts: number, variant: 'rank() (core)' | 'kernel'): BenchCase {
  return {
    row: rowOf(hosts),
    variant,
    params: { hosts, k: TOP_K },
    prepare() {
      if (!runs.has(hosts))
        runs.set(
          hosts,
          runChild<ScoringRunResult>(
            'bench/suites/scoring-run.ts',
            [hosts, THREADS, BATCH, QUICK ? 'quick' : 'full'],
            {
              timeoutMs: CHILD_TIMEOUT_MS,
            },
          ),
        );
      const snapshot = sharedSnapshot(hosts);
      const prepared = prepareProfiles(snapshot);
      for (const ws of prepared) {
        const d = topDifference(scoreAll(ws, hosts, TOP_K), rankTop(ws, hosts, TOP_K));
        if (d) throw new Error(`scoring at ${hosts} hosts: the kernel and rank() differ: ${d}`);
      }
      let n = 0;
      const next = () => prepared[n++ % prepared.length]!;
      return variant === 'kernel'
        ? () => scoreAll(next(), hosts, TOP_K)
        : () => rankTop(next(), hosts, TOP_K);
    },
  };
}

/** Within this of 1× the pool neither pays off nor loses (the shared VM's noise is about that). */
const BREAK_EVEN = 0.1;

/** One plain sentence per size: does the pool pay off against 1 thread? */
export function poolVerdict(hosts: number, label: string, ratio: number): string {
  const where = `${hosts.toLocaleString('en-US')} hosts, ${label}`;
  if (!Number.isFinite(ratio)) return `${where}: not measured`;
  const r = formatRatio(ratio);
  if (ratio >= 1 + BREAK_EVEN) return `${where}: **pays off** (${r} the requests/s of 1 thread)`;
  if (ratio <= 1 - BREAK_EVEN) return `${where}: **does not pay off** (${r})`;
  return `${where}: break-even (${r}): the round trips eat what the split saves`;
}

function poolNotes(): string {
  const rows: string[][] = [];
  const failures: string[] = [];
  const verdicts: string[] = [];
  for (const hosts of SCORING_SIZES) {
    const run = runs.get(hosts);
    if (!run) continue;
    if (!run.ok) {
      failures.push(`- ${hosts.toLocaleString('en-US')} hosts: **failed**: ${run.reason} (\`${run.cmd}\`)`);
      continue;
    }
    const [single, pool, batch] = run.value.variants;
    if (!single || !pool || !batch) continue;
    const us = (v: typeof single) => formatSig(v.p50Us / v.batch);
    verdicts.push(
      `- ${poolVerdict(hosts, '1 request per round trip', pool.requestsPerS / single.requestsPerS)}`,
      `- ${poolVerdict(hosts, `${BATCH} requests per round trip`, batch.requestsPerS / single.requestsPerS)}`,
    );
    rows.push([
      hosts.toLocaleString('en-US'),
      formatOps(single.requestsPerS),
      formatOps(pool.requestsPerS),
      formatOps(batch.requestsPerS),
      formatRatio(pool.requestsPerS / single.requestsPerS),
      formatRatio(batch.requestsPerS / single.requestsPerS),
      `${us(single)} / ${us(pool)} / ${us(batch)}`,
      String(run.value.checked),
    ]);
  }
  const table = markdownTable(
    [
      'hosts',
      '1 thread req/s',
      `pool ${THREADS} req/s`,
      `pool ${THREADS} ×${BATCH} req/s`,
      'pool/1 thread',
      `pool ×${BATCH}/1 thread`,
      'µs per request (p50)',
      'top-k checked',
    ],
    rows,
  );
  const cmds = [...runs.values()].map((r) => `\`${r.cmd}\``).join(', ');
  return [
    `**1 thread vs a piscina pool of ${THREADS} workers** (one child process per size, all variants in it;`,
    'requests per second at the median benchmark.js sample; a pool call is two round trips to every worker:',
    'the min/max pass, then the scores with the global min/max; the columns are SharedArrayBuffers copied',
    `once at start-up and handed to the workers in \`workerData\`; \`×${BATCH}\` = ${BATCH} requests per round trip):`,
    '',
    table,
    ...(failures.length > 0 ? ['', ...failures] : []),
    '',
    `**Where the pool pays off** (within ±${BREAK_EVEN * 100}% of 1× counts as break-even):`,
    '',
    ...verdicts,
    '',
    `Every variant's top ${TOP_K} (host and total) was compared with the kernel's for the requests in`,
    "`top-k checked` and the kernel's with core/scheduler's `rank()` (same arithmetic, ties to the lower",
    `index), before timing. Requests cycle through ${WEIGHING_PROFILES.length} weigher profiles`,
    `(${WEIGHING_PROFILES.map((p) => p.name).join(', ')}: ram, cpu, disk and build-failure with different`,
    'multipliers) so consecutive answers differ. Commands (run by the suite): ' + cmds + '.',
    '',
    "Why batching matters: the placement suite's workers probe (`bench/placement/workers-probe.ts`)",
    'measured one piscina round trip over a SharedArrayBuffer at p50 ~101 µs against a 24 µs column pass',
    'at 50,000 slots; a scoring request here needs two round trips per worker, so 1 request per round',
    'trip only gains where the scoring itself is a few milliseconds, and a batch spreads the round trips',
    'over its requests. A scheduler shard places the instances of one request in sequence (each assumes',
    'the previous), so batches would come from many concurrent requests on one snapshot.',
    '',
    'The harness table above times `rank()` as the pipeline calls it (raw weights, normalise, a full',
    'sort) against the two-pass kernel (min/max, then scores with a running top-k), both in this process.',
    'Note the default profile scores only the `log2` limit of feasible hosts (≈16 at 50,000), not every',
    'host: scoring all hosts is the `limit: all` case, the one where a pool could matter.',
  ].join('\n');
}

export const scoringSuite = defineSuite({
  name: 'scoring',
  title: 'Scoring kernel: one thread vs a piscina pool',
  about:
    'Scoring every host of a seeded fleet (64 cores ×4, 256 GiB, 2 TB, seeded usage, 2% with failed ' +
    "builds) for one request with core/scheduler's weighers (ram, cpu, disk, build-failure: Nova's " +
    'normalisation to 0..100, Σ multiplier × score) and keeping the best ' +
    `${TOP_K} (selected host + alternates), at ${SCORING_SIZES.map((n) => n.toLocaleString('en-US')).join(' / ')} hosts. ` +
    'The columns live in SharedArrayBuffers; the pool splits the hosts in two ranges.',
  seed: SCORING_SEED,
  ratios: [{ label: 'kernel/rank()', of: 'kernel', to: 'rank() (core)' }],
  cases: () => SCORING_SIZES.flatMap((n) => [scoringCase(n, 'rank() (core)'), scoringCase(n, 'kernel')]),
  notes: poolNotes,
});
