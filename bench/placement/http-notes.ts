/**
 * The placement suite's notes for the HTTP comparison: cellplane's Placement API over HTTP next to
 * the real Placement over HTTP (the fair comparison), the targets, and where the time of
 * one HTTP request goes.
 */
import { markdownTable } from '../lib/report.ts';
import { formatRatio, formatSig } from '../lib/stats.ts';
import type { OursHttp } from './http-results.ts';
import type { Latency } from './latency.ts';
import { DB_LABEL, fastest, PEER_DBS, type Peer } from './peer.ts';

export interface HttpRow {
  readonly row: string;
  readonly roots: number;
  readonly kind: 'flat' | 'nested';
  /** The index in process (single-call latencies). */
  readonly index?: Latency;
  readonly ours?: OursHttp | string;
  /** The real Placement on each database. */
  readonly placement?: Peer;
}

/** Issue 3: at 10,000 providers, a three-class request with limit=1000. */
export const TARGET = { roots: 10_000, kind: 'flat', p99Ms: 5, timesPlacement: 50 } as const;

const ms = (x: number) => formatSig(x);
const obj = <T>(x: T | string | undefined): T | undefined => (typeof x === 'object' ? x : undefined);
const cell = (x: unknown, show: () => string) => (typeof x === 'string' ? x : x === undefined ? '–' : show());

function comparison(rows: readonly HttpRow[]): string {
  return markdownTable(
    [
      'fleet',
      'cellplane HTTP p50/p99 ms',
      'same via fetch p50/p99 ms',
      'cellplane HTTP q/s',
      'cellplane q/s, 4 in flight',
      'Placement HTTP p50/p99 ms (faster db)',
      'Placement q/s',
      'cellplane/Placement (HTTP)',
      'HTTP/in-process index q/s',
    ],
    rows.map((r) => {
      const o = obj(r.ours);
      const best = fastest(r.placement);
      const p = best?.run;
      const failed = PEER_DBS.map((db) => r.placement?.[db]).find((x) => typeof x === 'string');
      return [
        r.row,
        cell(r.ours, () => `${ms(o!.p50Ms)} / ${ms(o!.p99Ms)} (${o!.requests})`),
        o ? `${ms(o.fetch.p50Ms)} / ${ms(o.fetch.p99Ms)} (${o.fetch.requests})` : '–',
        o ? formatSig(o.qps) : '–',
        o ? `${formatSig(o.concurrent.qps)} (p50 ${ms(o.concurrent.p50Ms)} ms)` : '–',
        best
          ? `${ms(best.run.p50Ms)} / ${ms(best.run.p99Ms)} (${best.run.calls}, ${DB_LABEL[best.db]})`
          : (failed ?? '–'),
        p ? formatSig(p.qps) : '–',
        o && p ? formatRatio(o.qps / p.qps) : '–',
        o && r.index ? formatRatio(o.qps / r.index.qps) : '–',
      ];
    }),
  );
}

function targets(rows: readonly HttpRow[]): string {
  const t = rows.find((r) => r.roots === TARGET.roots && r.kind === TARGET.kind);
  const o = obj(t?.ours);
  if (!t || !o)
    return `**Targets** (${TARGET.roots.toLocaleString('en-US')} roots ${TARGET.kind}): not measured in this run.`;
  const p = fastest(t.placement)?.run;
  const holds = (ok: boolean) => (ok ? '**holds**' : '**missed**');
  const ratio = p ? o.qps / p.qps : Number.NaN;
  return [
    `**The issue's targets over HTTP** (${t.row}, \`resources=VCPU:2,MEMORY_MB:4096,DISK_GB:40&limit=1000\`):`,
    `p99 under ${TARGET.p99Ms} ms: ${ms(o.p99Ms)} ms, ${holds(o.p99Ms < TARGET.p99Ms)};`,
    `at least ${TARGET.timesPlacement}× Placement's throughput: ${formatRatio(ratio)},`,
    `${p ? holds(ratio >= TARGET.timesPlacement) : 'Placement not measured'}.`,
    t.index
      ? `In process the index alone answers in p50 ${ms(t.index.p50Ms)} / p99 ${ms(t.index.p99Ms)} ms.`
      : '',
  ].join(' ');
}

function breakdown(rows: readonly HttpRow[]): string {
  return markdownTable(
    [
      'fleet',
      'search ms',
      'JSON text ms (API)',
      'objects + stringify ms (before)',
      'body KB',
      'HTTP p50 ms',
      'rest ms',
      'server load ms',
      'TCP conns',
    ],
    rows.flatMap((r) => {
      const o = obj(r.ours);
      if (!o) return [];
      const b = o.breakdown;
      return [
        [
          r.row,
          ms(b.searchMs),
          ms(b.textMs),
          ms(b.objectsMs),
          formatSig(b.bodyBytes / 1024),
          ms(o.p50Ms),
          ms(o.p50Ms - b.searchMs - b.textMs),
          formatSig(o.loadMs),
          String(o.connections),
        ],
      ];
    }),
  );
}

export function httpNotes(rows: readonly HttpRow[]): string {
  return [
    "**Over HTTP, side by side** (the fair comparison: cellplane's Placement API, `api/placement`,",
    'in its own process on a free loopback port, memory store, noauth, loaded with the same fleet',
    'through its store and `PlacementService.open`; the real Placement as above; both queried by the',
    'same client, node:http with keep-alive reading each body whole (`bench/placement/http-client.ts`),',
    "one request at a time unless marked in flight; `via fetch`: cellplane again through Node's fetch,",
    'the client used before, whose own work shows in its numbers):',
    '',
    comparison(rows),
    '',
    targets(rows),
    '',
    '**Where one HTTP request goes** (cellplane; search and JSON timed in process on the same fleet,',
    'p50; `rest` = HTTP p50 − search − JSON text: routing, query parsing and validation, GC, socket',
    "writes and the client's read; server load = fleet → memory store → `PlacementService.open`):",
    '',
    breakdown(rows),
  ].join('\n');
}
