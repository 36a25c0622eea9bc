/**
 * Mappings suite: instance→cell mappings per second into etcd (how they were written before) and
 * into Redis (cells/instance-mappings.ts now), measured in a child process (mappings-run.ts) on a
 * private etcd and Redis at 1 and at 64 mappings in flight; the notes carry its table, side by
 * side with the ratio. The harness times what the embedded control plane pays for one mapping's
 * writes on the memory store (create with its index entry, then remove: two commits). `--quick`
 * (seen in process.argv) maps fewer instances.
 */
import { cellMappingsIndex, mappingKey } from '../../cells/instance-mappings.ts';
import { InstanceMappingMessage } from '../../cells/mapping.ts';
import { MemoryStore } from '../../core/adapters/memory/store.ts';
import { encode } from '../../core/codec/envelope.ts';
import type { WriteOp } from '../../core/ports/store.ts';
import { markdownTable } from '../lib/report.ts';
import { formatOps, formatSig } from '../lib/stats.ts';
import { defineSuite } from '../lib/types.ts';
import { type ChildOutcome, runChild } from './child-run.ts';
import type { MappingsRunResult } from './mappings-run.ts';

const QUICK = process.argv.includes('--quick');
/** [in flight, timed mappings, untimed warmup] per child run. */
const RUNS: ReadonlyArray<readonly [number, number, number]> = QUICK
  ? [
      [1, 200, 50],
      [64, 1000, 200],
    ]
  : [
      [1, 1000, 200],
      [64, 5000, 1000],
    ];
const CHILD_TIMEOUT_MS = 600_000;
const CELL = '11111111-1111-4111-8111-111111111111';
const INSTANCE = '22222222-2222-4222-8222-222222222222';

const runs: ChildOutcome<MappingsRunResult>[] = [];
/** Commits of the timed op that did not apply (checked in the notes: must stay 0). */
let failedCommits = 0;
let timedOps = 0;

function mappingOps(): { create: WriteOp[]; remove: WriteOp[] } {
  const m = { instanceUuid: INSTANCE, cellUuid: CELL, projectId: 'bench', mappedAt: 1_700_000_000_000 };
  const key = mappingKey(INSTANCE);
  const index = cellMappingsIndex(CELL);
  return {
    create: [
      { op: 'put', key, value: encode(InstanceMappingMessage, m), expectedGeneration: 0 },
      { op: 'index', index, member: INSTANCE },
    ],
    remove: [
      { op: 'delete', key, expectedGeneration: 1 },
      { op: 'unindex', index, member: INSTANCE },
    ],
  };
}

function notes(): string {
  const rows: string[][] = [];
  const cmds: string[] = [];
  for (const run of runs) {
    cmds.push(`\`${run.cmd}\``);
    if (!run.ok) {
      rows.push(['?', `**failed**: ${run.reason}`, '', '', '', '', '', '']);
      continue;
    }
    const r = run.value;
    const etcd = r.variants.find((v) => v.variant === 'etcd')!;
    for (const v of r.variants)
      rows.push([
        String(r.concurrency),
        v.variant,
        formatOps(v.mappingsPerS),
        v.variant === 'etcd' ? '1×' : `${formatSig(v.mappingsPerS / etcd.mappingsPerS)}×`,
        formatSig(v.latency.p50Ms),
        formatSig(v.latency.p99Ms),
        formatSig(v.etcdPerMapping),
        formatSig(v.redisPerMapping),
      ]);
  }
  const first = runs.find((r) => r.ok);
  const harness =
    failedCommits === 0
      ? `The harness row: ${timedOps.toLocaleString('en-US')} ops timed, every commit applied.`
      : `**The harness row is wrong**: ${failedCommits} of ${2 * timedOps} commits did not apply.`;
  return [
    harness,
    '',
    '**Instance mappings per second, into etcd before and into Redis after** (child process, one',
    'client connection to each server, every mapping a new instance into one enabled cell, each timed',
    'into an HDR histogram after untimed warmup ones, the variants taking turns in rounds; ratios',
    'against `etcd` of the same run):',
    '',
    markdownTable(
      [
        'in flight',
        'variant',
        'mappings/s',
        '÷ etcd',
        'p50 ms',
        'p99 ms',
        'etcd req/mapping',
        'Redis req/mapping',
      ],
      rows,
    ),
    '',
    '`etcd`: the former path (read the cell, CAS-create `instance-mappings/<uuid>`, read the cell',
    'again). `redis`: InstanceMappings as deployed — one commit of the mapping and its per-cell index,',
    'the cell read before and re-read after shared by concurrent mappers (cells/cell-reads.ts), Redis',
    'with its append-only file fsynced every second (`services up`). `redis fsync always`: the same with',
    'every write fsynced before Redis answers (as etcd does). `redis, own reads`: two etcd reads per',
    'mapping, unshared: what sharing them saves.',
    first?.ok ? `${first.value.where}.` : '',
    `Commands (run by the suite): ${cmds.join(', ')}.`,
  ].join('\n');
}

export const mappingsSuite = defineSuite({
  name: 'mappings',
  title: 'Instance mappings: etcd before, Redis after',
  about:
    'Instance→cell mappings moved off etcd (about 1,000 puts/s here, and holding the cell records, host ' +
    "mappings and leases) into the API layer's store. The table below times one mapping's writes on " +
    "the embedded control plane's memory store (create with its per-cell index entry, then remove: two " +
    'commits); the notes give mappings per second into real etcd and Redis, side by side.',
  cases: () => [
    {
      row: "one mapping's writes, embedded (create + remove)",
      variant: 'memory store',
      prepare() {
        for (const [inFlight, n, warmup] of RUNS)
          runs.push(
            runChild<MappingsRunResult>('bench/suites/mappings-run.ts', [n, inFlight, warmup], {
              timeoutMs: CHILD_TIMEOUT_MS,
            }),
          );
        const store = new MemoryStore();
        const { create, remove } = mappingOps();
        const count = (r: { ok: boolean }) => {
          if (!r.ok) failedCommits++;
        };
        // MemoryStore applies a commit before its promise is returned; each outcome is counted.
        const op = () => {
          timedOps++;
          void store.commit(create).then(count);
          return store.commit(remove).then(count);
        };
        return op;
      },
    },
  ],
  notes,
});
