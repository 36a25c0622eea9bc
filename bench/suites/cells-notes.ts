/**
 * The cells suite's notes in RESULTS.md: the select latency table with the issue's target
 * (select p99 < 5 ms at 10,000 hosts), the boots/s table, how each number was taken, and what
 * is known of peers. Pure: renders what the child processes returned.
 */
import { markdownTable } from '../lib/report.ts';
import { formatSig } from '../lib/stats.ts';
import type { BootResult, SelectResult } from './cells-latency.ts';

/** A child's result, or why it failed; `cmd` reproduces it. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T; readonly cmd: string }
  | { readonly ok: false; readonly reason: string; readonly cmd: string };

/** The issue's target: select p99 under this at TARGET_HOSTS hosts. */
export const TARGET_P99_MS = 5;
export const TARGET_HOSTS = 10_000;

const n = (x: number) => Math.round(x).toLocaleString('en-US');

/** `holds` / `missed` for a p99 against the target. */
export function verdict(p99Ms: number): string {
  return p99Ms < TARGET_P99_MS ? '**holds**' : '**missed**';
}

export function selectNotes(
  sizes: readonly number[],
  results: ReadonlyMap<string, Outcome<SelectResult>>,
): string {
  const rows: string[][] = [];
  for (const hosts of sizes)
    for (const mode of ['embedded', 'nats'] as const) {
      const o = results.get(`${mode}/${hosts}`);
      const label = [n(hosts), mode];
      if (!o) rows.push([...label, '–', '–', '–', '–', '–', '–', '–', '–']);
      else if (!o.ok) rows.push([...label, `failed: ${o.reason}`, '', '', '', '', '', '', '']);
      else {
        const r = o.value;
        rows.push([
          ...label,
          formatSig(r.latency.p50Ms),
          formatSig(r.latency.p99Ms),
          formatSig(r.latency.maxMs),
          n(r.requestsPerS),
          n(r.latency.count),
          `${r.explain.evaluated} / ${r.explain.feasible} of ${n(r.explain.hosts)} (${n(r.feasible)} fit)`,
          n(r.loadMs),
          n(r.takeoverMs),
        ]);
      }
    }
  const target = (['embedded', 'nats'] as const).map((mode) => {
    const o = results.get(`${mode}/${TARGET_HOSTS}`);
    if (!o) return `${mode}: not run`;
    if (!o.ok) return `${mode}: failed`;
    return `${mode} p99 ${formatSig(o.value.latency.p99Ms)} ms, ${verdict(o.value.latency.p99Ms)}`;
  });
  const where = [...results.values()].find((o) => o.ok && o.value.mode === 'nats');
  return [
    '**Select latency, one request at a time** (single asks timed with performance.now(), HDR',
    "histogram, after the warm-up; `evaluated / feasible` is what the last reply's explain reports):",
    '',
    markdownTable(
      [
        'hosts',
        'mode',
        'p50 ms',
        'p99 ms',
        'max ms',
        'req/s',
        'requests',
        'evaluated / feasible',
        'load ms',
        'takeover ms',
      ],
      rows,
      2,
    ),
    '',
    `**The issue's target** (select p99 < ${TARGET_P99_MS} ms at ${n(TARGET_HOSTS)} hosts): ${target.join('; ')}.`,
    '',
    '`embedded`: ' +
      (firstWhere(results, 'embedded') ?? '–') +
      '. `nats`: ' +
      (where?.ok ? where.value.where : '–') +
      '.',
    '`load ms`: registering every tree and claiming its usage through the tree actors (64 in flight);',
    '`takeover ms`: from starting the shard to serving (election, resync of every tree from the store).',
    'The default profile keeps Nomad-style limits: after a seeded shuffle it stops once it has enough',
    'feasible hosts, so a select evaluates only the hosts in the column above, not all of them; the',
    'snapshot is rebuilt only when a tree changes shape. The in-process selector (first table) is the',
    'pipeline alone: the difference to `embedded` is the actor runtime and codec, to `nats` also the',
    'two loopback hops through nats-server.',
    '',
    `Commands (run by the suite): ${[...results.values()].map((o) => `\`${o.cmd}\``).join(', ')}.`,
  ].join('\n');
}

function firstWhere(results: ReadonlyMap<string, Outcome<SelectResult>>, mode: string): string | undefined {
  for (const o of results.values()) if (o.ok && o.value.mode === mode) return o.value.where;
  return undefined;
}

export function bootNotes(
  b: { cells: number; hostsPerCell: number; concurrency: number; spawnMs: string },
  results: ReadonlyMap<string, Outcome<BootResult>>,
): string {
  const rows: string[][] = [];
  const lines: string[] = [];
  for (const mode of ['embedded', 'nats'] as const) {
    const o = results.get(mode);
    if (!o) rows.push([mode, '–', '–', '–', '–', '–', '–', '–']);
    else if (!o.ok) rows.push([mode, `failed: ${o.reason}`, '', '', '', '', '', '']);
    else {
      const r = o.value;
      rows.push([
        mode,
        n(r.servers),
        formatSig(r.acceptedPerS),
        formatSig(r.settledPerS),
        `${formatSig(r.post.p50Ms)} / ${formatSig(r.post.p99Ms)}`,
        `${n(r.acceptMs)} / ${n(r.settleMs)}`,
        `${r.active} / ${r.errors}`,
        n(r.startMs),
      ]);
      lines.push(
        `- \`${mode}\`: ${r.where}; settled = ${r.settledBy}.${r.faults.length ? ` Faults: ${r.faults.join(' | ')}.` : ''}`,
      );
    }
    if (o) lines.push(`  Command: \`${o.cmd}\``);
  }
  return [
    `**Boots per second end to end** (${b.cells} cells × ${n(b.hostsPerCell)} fake hosts, 1 shard per cell,`,
    `spawn latency ${b.spawnMs} ms, POST /v2.1/servers with m1.tiny/small/medium in turn, ${b.concurrency} in flight;`,
    'timed from the first POST; 32 servers booted and settled untimed first):',
    '',
    markdownTable(
      [
        'mode',
        'servers',
        'accepted/s',
        'settled/s',
        'POST p50 / p99 ms',
        'accepted / settled ms',
        'ACTIVE / ERROR',
        'start-up ms',
      ],
      rows,
    ),
    '',
    ...lines,
    '',
    "**Peers.** Nova's scheduler (with Placement, conductor and RabbitMQ) is not runnable on this",
    'machine, so no side-by-side run; no published Nova figure is quoted here, because none was found',
    'whose setup (hosts, flavors, fake driver, hardware) could be named next to these. The placement',
    "suite above compares cellplane's allocation candidates with the real OpenStack Placement.",
  ].join('\n');
}
