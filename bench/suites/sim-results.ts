/**
 * What a sim suite run prints (sim-run.ts) and how the suite reports it: the table of runs, the
 * marked place for the real-time mode, and the published peers per core, each figure with its
 * source (or "not found").
 */
import { markdownTable } from '../lib/report.ts';
import { formatOps, formatSig } from '../lib/stats.ts';
import type { ChildOutcome } from './child-run.ts';

export interface SimRunResult {
  readonly scenario: string;
  readonly hosts: number;
  readonly cells: number;
  readonly durationMs: number;
  /** Requests the (scaled) arrivals are expected to submit. */
  readonly expectedArrivals: number;
  readonly submitted: number;
  /** Servers that ended ACTIVE (placed and booted). */
  readonly active: number;
  readonly failed: number;
  /** The whole run: fleet up, the simulated duration, the drain and the final checks. */
  readonly wallMs: number;
  readonly simMs: number;
  readonly rssAfterFleet: number;
  readonly heapAfterFleet: number;
  /** The process's peak RSS (getrusage), bytes. */
  readonly maxRss: number;
  readonly violations: number;
  readonly firstViolation: string | null;
  readonly hash: string;
  /** Highest 1-minute load average seen during the run (the machine is shared). */
  readonly loadMax: number;
}

export interface SimRow {
  readonly hosts: number;
  readonly outcome: ChildOutcome<SimRunResult>;
}

const MIB = 1024 * 1024;

/** Boots per second of wall time over the whole run (what `cellplane sim` prints). */
export function bootsPerWallSecond(r: SimRunResult): number {
  return r.wallMs > 0 ? (r.active * 1000) / r.wallMs : Number.NaN;
}

export function simTable(rows: readonly SimRow[]): string {
  const body = rows.map(({ hosts, outcome }) => {
    if (!outcome.ok)
      return [hosts.toLocaleString('en-US'), `failed: ${outcome.reason}`, ...Array<string>(8).fill('–')];
    const r = outcome.value;
    return [
      `${r.hosts.toLocaleString('en-US')} in ${r.cells} cells`,
      `${r.active.toLocaleString('en-US')} of ${r.submitted.toLocaleString('en-US')}`,
      formatSig(r.wallMs / 1000),
      formatOps(bootsPerWallSecond(r)),
      `${(r.simMs / r.wallMs).toFixed(1)}×`,
      formatOps(r.maxRss / MIB),
      formatOps(r.heapAfterFleet / r.hosts),
      String(r.violations),
      `\`${r.hash.slice(0, 8)}…${r.hash.slice(-6)}\``,
      r.loadMax.toFixed(2),
    ];
  });
  return markdownTable(
    [
      'hosts',
      'servers placed (ACTIVE of submitted)',
      'wall s',
      'boots/s of wall',
      'sim speed-up',
      'peak RSS MiB',
      'heap B per host',
      'violations',
      'hash',
      'max load',
    ],
    body,
  );
}

/**
 * Published peers, per core where the source says how many cores. Each figure is quoted with its
 * source; what the sources do not say is marked "not found".
 */
const PEER_ROWS: readonly (readonly string[])[] = [
  [
    'HashiCorp Nomad C1M (Nomad 0.3.1, 2016)',
    '1,000,000 containers on 5,000 hosts in under 5 minutes: 3,750 containers/s',
    '5 Nomad servers (GCE); cores per server: not found',
    'not found',
    'https://www.hashicorp.com/c1m',
  ],
  [
    'HashiCorp Nomad C2M (Nomad 1.0, 2020)',
    '2,000,000 containers on 6,100 hosts in 22 min 14 s: "nearly 1,500 containers per second"',
    '3 schedulers (AWS spot, 10 regions); cores per server: not found',
    'not found',
    'https://www.hashicorp.com/c2m',
  ],
  [
    'Kubernetes scheduler, 5,000 nodes (2019)',
    'average scheduling throughput 100 pods/s (the test was rate-limited at 100 pods/s)',
    'one kube-scheduler; cores: not found',
    'not found',
    'https://github.com/kubernetes/kubernetes/pull/74041 (comment of 2019-02-21)',
  ],
  [
    'Kubernetes scheduler, 5,000-node scale test (2022)',
    '"~300 pods/s" with the scheduler\'s API QPS limit raised to 300',
    'one kube-scheduler; cores: not found',
    'not found',
    'https://github.com/kubernetes/kubernetes/issues/108606',
  ],
  [
    'Kubernetes SIG-scalability goal',
    'scheduler throughput goal: 100 pods/s',
    '–',
    '–',
    'https://github.com/kubernetes/community/pull/64 (sig-scalability/goals.md)',
  ],
];

/**
 * Published peers, per core where the source says how many cores. Each figure is quoted with its
 * source; what the sources do not say is marked "not found".
 */
export const PEERS = [
  '**Published peers** (their figures, not run here; per core only where the source gives cores):',
  '',
  markdownTable(['system', 'published figure', 'servers / cores used', 'per core', 'source'], PEER_ROWS, 5),
  '',
  'Ours, next to them: the boots/s above are per **2 cores** for the whole control plane in one',
  'process (API-side mapping, durable queues, conductors, scheduler shards, provider-tree claims, host',
  'agents with simulated hypervisors, the invariant checker), not for a scheduler alone; their',
  'figures are scheduler (plus, for Nomad, client) throughput on clusters of many machines. No source',
  'found gives the cores behind its figure, so no per-core ratio is computed.',
].join('\n');

export const REAL_TIME_NOTE = `**NATS/etcd/Redis (real-time mode)**: not run by this suite (10,000 hosts take 15+ minutes of
wall time): see the section "Simulator in real time" below (\`./cellplane sim sim/scenarios/realtime-10k.yaml\`).`;
