/**
 * Cells suite: (1) select latency of one scheduler shard at 1,000 and 10,000 hosts — the
 * selector alone in process (benchmark.js, the harness's usual cases), the shard asked through
 * ActorClient on the memory bus (`embedded`), and on NATS with an etcd election and trees in
 * Redis (`nats`); (2) boots per second end to end through the compute API, embedded and as role
 * processes on NATS/etcd/Redis. The asynchronous measurements run in child processes
 * (cells-select.ts, cells-boots.ts: the harness is synchronous, as for the placement suite's
 * HTTP runs), started from `prepare` and timed in their own loops (single requests, HDR
 * histograms); their numbers go to the notes. `--quick` (seen in process.argv) runs 1,000 hosts
 * only and a few hundred boots. Not run in CI.
 */
import { execFileSync } from 'node:child_process';
import { ShardSelector } from '../../actors/scheduler-shard-select.ts';
import { ShardView } from '../../actors/scheduler-shard-view.ts';
import { DEFAULT_PROFILE_SPEC } from '../../core/scheduler/profile.ts';
import { type BenchCase, defineSuite } from '../lib/types.ts';
import { hostSpecs, SEED, selectRequest, treeFor, usageFor } from './cells-fleet.ts';
import { type BootResult, lastJsonLine, type SelectResult } from './cells-latency.ts';
import { bootNotes, type Outcome, selectNotes } from './cells-notes.ts';

const QUICK = process.argv.includes('--quick');
export const CELLS_SIZES = QUICK ? [1000] : [1000, 10_000];
const SELECT = QUICK ? { requests: 500, warmup: 200 } : { requests: 5000, warmup: 1000 };
export const BOOTS = {
  cells: 2,
  hostsPerCell: 500,
  concurrency: 32,
  spawnMs: '1-5',
  embedded: QUICK ? 300 : 5000,
  nats: QUICK ? 200 : 5000,
} as const;
const CHILD_TIMEOUT_MS = 1_200_000;
const FAILURE_CHARS = 120;

export const selectResults = new Map<string, Outcome<SelectResult>>();
export const bootResults = new Map<string, Outcome<BootResult>>();

/** Runs a cells child (`node --import tsx FILE ARGS…`); its result, or why it failed. */
function runChild<T>(file: string, args: readonly (string | number)[]): Outcome<T> {
  const cmd = `node --import tsx ${file} ${args.join(' ')}`;
  console.log(`    ${cmd}`);
  try {
    const out = execFileSync('node', ['--import', 'tsx', file, ...args.map(String)], {
      encoding: 'utf8',
      timeout: CHILD_TIMEOUT_MS, // then SIGTERM: the children stop their servers on it
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    return { ok: true, value: lastJsonLine<T>(out, file), cmd };
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    const line =
      stderr.split('\n').find((l) => /^\s*(\w*Error|CellplaneError)\b/.test(l)) ??
      (err as Error).message.split('\n')[0]!;
    return { ok: false, reason: line.trim().slice(0, FAILURE_CHARS), cmd };
  }
}

function selectCase(hosts: number): BenchCase {
  return {
    row: `select 1 instance · ${hosts.toLocaleString('en-US')} hosts`,
    variant: 'in process',
    params: { hosts },
    prepare() {
      // The deployed shard first (children), then the in-process view (this process's memory).
      for (const mode of ['embedded', 'nats'] as const) {
        const key = `${mode}/${hosts}`;
        if (!selectResults.has(key))
          selectResults.set(
            key,
            runChild<SelectResult>('bench/suites/cells-select.ts', [
              mode,
              hosts,
              SELECT.requests,
              SELECT.warmup,
            ]),
          );
      }
      if (hosts === CELLS_SIZES.at(-1)) runBoots();
      const view = new ShardView();
      for (const spec of hostSpecs('cell1', hosts)) {
        const { root, providers } = treeFor(spec);
        const used = usageFor(spec.hostname);
        const snapshots = providers.map((p) => {
          const usages: Record<string, number> = {};
          for (const rc of Object.keys(p.inventories))
            usages[rc] = p.uuid === root ? (used[rc as keyof typeof used] ?? 0) : 0;
          return [p.uuid, { ...p, generation: 1, usages }] as const;
        });
        view.putTree({ root, version: 1, providers: new Map(snapshots) });
      }
      const selector = new ShardSelector(DEFAULT_PROFILE_SPEC, 0);
      let n = 0;
      const op = () => selector.select(view, selectRequest(n++));
      const first = op();
      if (first.outcome !== 'selected' || first.explain.hosts !== hosts)
        throw new Error(
          `in-process select at ${hosts} hosts: ${first.outcome} on ${first.explain.hosts} hosts`,
        );
      return op;
    },
  };
}

function runBoots(): void {
  const b = BOOTS;
  for (const mode of ['embedded', 'nats'] as const) {
    if (bootResults.has(mode)) continue;
    const args = [mode, b[mode], b.concurrency, b.spawnMs, b.cells, b.hostsPerCell];
    bootResults.set(mode, runChild<BootResult>('bench/suites/cells-boots.ts', args));
  }
}

export const cellsSuite = defineSuite({
  name: 'cells',
  title: 'Cells: select latency and boots/s',
  about:
    'One scheduler shard (1 cell, 1 shard) answering `selectHosts` for one instance (4 VCPU, 8 GB, ' +
    '40 GB) at 1,000 and 10,000 hosts: fake-host provider trees (32 cores ×4, 128 GiB, 2 TB; a ' +
    'third with HW_CPU_X86_AVX2) registered through the provider-tree client, each given seeded ' +
    'usage by a claim (10% too full for the request). Asked through ActorClient on the memory bus ' +
    '(`embedded`) and on NATS with the shard elected in etcd and the trees in Redis (`nats`), one ' +
    'request at a time, HDR histogram; the benchmark.js table times the selector alone on the same ' +
    'trees (no bus, no codec). Then boots/s end to end through POST /v2.1/servers: `startEmbedded` ' +
    'with app.inject, and role processes (1 API, per cell 1 conductor + 1 scheduler + 1 agents) on ' +
    'nats-server/etcd/redis-server over HTTP.',
  seed: SEED,
  cases: () => CELLS_SIZES.map(selectCase),
  notes: () => [selectNotes(CELLS_SIZES, selectResults), '', bootNotes(BOOTS, bootResults)].join('\n'),
});
