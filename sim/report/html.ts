/**
 * The human report: one self-contained HTML file (inline CSS and SVG, no script, no external
 * resource — a Content-Security-Policy meta tag enforces it). Every user-supplied string is
 * escaped. Light and dark mode follow the reader's `prefers-color-scheme`.
 */
import { escapeHtml } from './escape.ts';
import { barChart, legend, lineChart } from './svg.ts';
import { bootsPerSecond, formatDuration, round, type SimReport, scenarioExtras, timeKind } from './types.ts';

/** Most invariant violations listed in full; the rest are counted. */
const MAX_VIOLATIONS_SHOWN = 100;

const CSS = `
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--line:#d0d7de;--bad:#b42318;--ok:#1a7f37;
--s0:#0969da;--s1:#bc4c00;--s2:#1a7f37;--s3:#8250df;--s4:#bf3989;--s5:#0a7b83;--s6:#9a6700;--s7:#57606a}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--line:#30363d;--bad:#f97066;--ok:#3fb950;
--s0:#58a6ff;--s1:#f0883e;--s2:#3fb950;--s3:#bc8cff;--s4:#f778ba;--s5:#39c5cf;--s6:#d29922;--s7:#9198a1}}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:980px;padding:16px}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid var(--line)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
.cards{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid var(--line);border-radius:6px;padding:6px 10px;min-width:110px}
.card b{display:block;font-size:1.3em}.card span{color:var(--muted);font-size:.85em}
.bad{color:var(--bad)}.ok{color:var(--ok)}
table{border-collapse:collapse;margin:8px 0}th,td{border-bottom:1px solid var(--line);padding:3px 10px;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;color:var(--muted);padding:4px 0;white-space:nowrap}
svg.chart{max-width:100%;height:auto;color:var(--fg);font-size:11px}
svg .axis line{stroke:var(--muted);stroke-width:1}svg .axis line.grid{stroke:var(--line)}svg text{fill:currentColor}
svg text.empty{fill:var(--muted)}svg path.series{fill:none;stroke-width:1.5}
.s0{--c:var(--s0)}.s1{--c:var(--s1)}.s2{--c:var(--s2)}.s3{--c:var(--s3)}.s4{--c:var(--s4)}.s5{--c:var(--s5)}.s6{--c:var(--s6)}.s7{--c:var(--s7)}
svg path.series{stroke:var(--c)}svg circle.series,svg rect.bar{fill:var(--c)}
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;margin:4px 0}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px;background:var(--c)}
figure{margin:12px 0}figcaption{font-weight:600}
`;

function table(
  id: string,
  caption: string,
  head: string[],
  rows: (string | number)[][],
  numeric: boolean[],
): string {
  const th = head
    .map((h, i) => `<th scope="col"${numeric[i] ? ' class="n"' : ''}>${escapeHtml(h)}</th>`)
    .join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="n"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table id="${id}"><caption>${escapeHtml(caption)}</caption><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function figure(caption: string, svg: string, extra = ''): string {
  return `<figure><figcaption>${escapeHtml(caption)}</figcaption>${svg}${extra}</figure>`;
}

const pct = (f: number | null) => (f === null ? '—' : `${round(f * 100, 1)}%`);
const ms = (v: number | null) => (v === null ? '—' : round(v, 1));

function header(r: SimReport): string {
  const s = r.scenario;
  const facts: [string, string][] = [
    ['seed', String(s.seed)],
    ['mode', s.mode],
    [`${timeKind(r)} time`, formatDuration(r.metrics.durationMs)],
  ];
  if (s.hash !== undefined) facts.push(['metrics hash', String(s.hash)]);
  facts.push(...scenarioExtras(s));
  const dl = facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('');
  return `<header><h1>Simulation report: ${escapeHtml(s.name)}</h1><dl class="facts">${dl}</dl></header>`;
}

function summary(r: SimReport): string {
  const m = r.metrics;
  const rates = bootsPerSecond(m);
  const seconds = m.durationMs / 1000;
  const violations = r.invariants.violations.length;
  const cards: [string, string, string?][] = [
    ['submitted', String(m.requests.submitted)],
    ['active', String(m.requests.active)],
    ['failed', String(m.requests.failed), m.requests.failed > 0 ? 'bad' : undefined],
    ['in flight', String(m.requests.inFlight)],
    ['success rate', pct(m.successRate)],
    ['boots/s mean', seconds > 0 ? round(m.requests.active / seconds) : '—'],
    ['boots/s peak', rates.length > 0 ? round(Math.max(...rates)) : '—'],
    ['reschedules', String(m.reschedules)],
    ['claim conflicts', String(m.claimConflicts)],
    ['invariant checks', String(r.invariants.checks)],
    ['violations', String(violations), violations > 0 ? 'bad' : 'ok'],
    ['anomalies', String(m.anomalies.count), m.anomalies.count > 0 ? 'bad' : undefined],
  ];
  const html = cards
    .map(
      ([k, v, cls]) =>
        `<div class="card"><b${cls ? ` class="${cls}"` : ''}>${escapeHtml(v)}</b><span>${escapeHtml(k)}</span></div>`,
    )
    .join('');
  return `<section aria-label="Summary"><h2>Summary</h2><div class="cards" id="summary">${html}</div>${problems(r)}</section>`;
}

function problems(r: SimReport): string {
  const out: string[] = [];
  const list = (id: string, title: string, items: string[], total: number) => {
    const li = items.map((v) => `<li>${escapeHtml(v)}</li>`).join('');
    const more = total > items.length ? `<p>and ${total - items.length} more</p>` : '';
    out.push(`<h3 class="bad">${escapeHtml(title)}</h3><ul id="${id}">${li}</ul>${more}`);
  };
  const v = r.invariants.violations;
  if (v.length > 0) list('violations', 'Invariant violations', v.slice(0, MAX_VIOLATIONS_SHOWN), v.length);
  const a = r.metrics.anomalies;
  if (a.count > 0)
    list('anomalies', 'Event anomalies (events that broke the request protocol)', a.examples, a.count);
  return out.join('');
}

function bootsSection(r: SimReport): string {
  const m = r.metrics;
  const points = bootsPerSecond(m).map((y, i): [number, number] => [(i * m.boots.bucketMs) / 1000, y]);
  const svg = lineChart({
    id: 'chart-boots',
    title: `Boots per second over ${timeKind(r)} time`,
    description: `${points.length} buckets of ${formatDuration(m.boots.bucketMs)}`,
    xLabel: `${timeKind(r)} time (s)`,
    yLabel: 'boots/s',
    series: [{ name: 'boots/s', points }],
  });
  return `<section><h2>Throughput</h2>${figure('Boots per second', svg)}</section>`;
}

function latencySection(r: SimReport): string {
  const { schedule, endToEnd } = r.metrics.latencyMs;
  const keys = ['p50', 'p95', 'p99', 'max'] as const;
  const svg = barChart({
    id: 'chart-latency',
    title: 'Latency percentiles (ms)',
    description: 'Schedule latency (submitted to scheduled) and end-to-end latency (submitted to active)',
    valueLabel: `milliseconds of ${timeKind(r)} time`,
    seriesNames: ['schedule', 'end-to-end'],
    groups: keys.map((k) => ({ label: k, values: [schedule[k] ?? 0, endToEnd[k] ?? 0] })),
  });
  const rows = (
    [
      ['schedule', schedule],
      ['end-to-end', endToEnd],
    ] as const
  ).map(([name, l]) => [name, l.count, ms(l.mean), ms(l.p50), ms(l.p95), ms(l.p99), ms(l.max)]);
  const t = table(
    'latency-table',
    `Latency (ms of ${timeKind(r)} time)`,
    ['latency', 'count', 'mean', 'p50', 'p95', 'p99', 'max'],
    rows,
    [false, true, true, true, true, true, true],
  );
  return `<section><h2>Latency</h2>${figure('Latency percentiles', svg, legend(['schedule', 'end-to-end']))}${t}</section>`;
}

function utilisationSection(r: SimReport): string {
  const byRc = new Map<string, typeof r.metrics.utilisation>();
  for (const s of r.metrics.utilisation) byRc.set(s.rc, [...(byRc.get(s.rc) ?? []), s]);
  if (byRc.size === 0) return '<section><h2>Utilisation</h2><p>No utilisation samples.</p></section>';
  const figures = [...byRc].map(([rc, series], i) => {
    const svg = lineChart({
      id: `chart-util-${i}`,
      title: `Utilisation of ${rc} per cell`,
      description: `Used / capacity of ${rc} in each of ${series.length} cells over ${timeKind(r)} time`,
      xLabel: `${timeKind(r)} time (s)`,
      yLabel: `${rc} used (%)`,
      yMax: 100,
      series: series.map((s) => ({
        name: s.cell,
        points: s.points.map((p): [number, number] => [p.tMs / 1000, p.fraction * 100]),
      })),
    });
    return figure(`${rc} utilisation per cell`, svg, legend(series.map((s) => s.cell)));
  });
  return `<section><h2>Utilisation</h2>${figures.join('')}</section>`;
}

function failuresSection(r: SimReport): string {
  const reasons = Object.entries(r.metrics.failuresByReason).sort(
    (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1),
  );
  if (reasons.length === 0) return '<section><h2>Failures</h2><p>No request failed.</p></section>';
  const svg = barChart({
    id: 'chart-failures',
    title: 'Failures by reason',
    description: `${r.metrics.requests.failed} failed requests in ${reasons.length} reasons`,
    valueLabel: 'failed requests',
    seriesNames: ['failures'],
    groups: reasons.map(([label, n]) => ({ label, values: [n] })),
    formatValue: (v) => round(v, 0),
  });
  const t = table('failures-table', 'Failures by reason', ['reason', 'requests'], reasons, [false, true]);
  return `<section><h2>Failures</h2>${figure('Failures by reason', svg)}${t}</section>`;
}

function capacitySection(r: SimReport): string {
  const c = r.capacity;
  const totals = table(
    'capacity-totals',
    'Instances that would still fit, per flavor (each flavor counted alone)',
    ['flavor', 'fits'],
    c.totals.map((t) => [t.flavor, t.fits]),
    [false, true],
  );
  const byAz = table(
    'capacity-az',
    'Per AZ',
    ['flavor', 'AZ', 'fits'],
    c.byAz.map((t) => [t.flavor, t.az, t.fits]),
    [false, false, true],
  );
  const rows = table(
    'capacity-table',
    'Per cell and AZ',
    ['flavor', 'cell', 'AZ', 'fits'],
    c.rows.map((t) => [t.flavor, t.cell, t.az, t.fits]),
    [false, false, false, true],
  );
  const f = r.fragmentation;
  const frag = table(
    'fragmentation-table',
    `Free capacity no flavor can use (on ${f.strandedHosts} of ${f.hosts} hosts nothing fits)`,
    ['resource class', 'stranded', 'total free', 'stranded %'],
    f.classes.map((x) => [x.rc, round(x.stranded), round(x.totalFree), pct(x.fraction)]),
    [false, true, true, true],
  );
  return `<section><h2>Capacity at end of run</h2>${totals}${byAz}${rows}<h2>Fragmentation</h2>${frag}</section>`;
}

function flavorSection(r: SimReport): string {
  const rows = Object.entries(r.metrics.byFlavor).map(([f, c]) => [f, c.submitted, c.active, c.failed]);
  return `<section><h2>Requests per flavor</h2>${table('flavor-table', 'Outcomes per flavor', ['flavor', 'submitted', 'active', 'failed'], rows, [false, true, true, true])}</section>`;
}

export function renderHtmlReport(report: SimReport): string {
  const title = `cellplane simulation — ${report.scenario.name} (seed ${report.scenario.seed})`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>`,
    header(report),
    '<main>',
    summary(report),
    bootsSection(report),
    latencySection(report),
    utilisationSection(report),
    failuresSection(report),
    capacitySection(report),
    flavorSection(report),
    '</main></body></html>',
    '',
  ].join('\n');
}
