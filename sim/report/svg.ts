/**
 * Server-side SVG charts for the HTML report: a line chart and a horizontal bar chart, as
 * strings, no script. Colours come from CSS classes (`s0`…`s7`) and `currentColor`, so the
 * page's stylesheet decides light or dark. Every chart has a <title> and <desc>; every path
 * and bar carries `data-*` attributes naming its series and point count (tests read them).
 */
import { escapeHtml, truncate } from './escape.ts';
import { round } from './types.ts';

export const PALETTE_SIZE = 8;

export interface LineSeries {
  name: string;
  /** [x, y] pairs in x order. */
  points: [number, number][];
}

export interface LineChartOptions {
  id: string;
  title: string;
  description: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Upper end of the y axis; default: a round number above the largest y. */
  yMax?: number;
  formatX?: (x: number) => string;
  formatY?: (y: number) => string;
  width?: number;
  height?: number;
}

const M = { left: 64, right: 16, top: 12, bottom: 44 };

/** The smallest 1/2/5×10^k at or above `n` (at least 1e-9). */
export function niceCeil(n: number): number {
  if (!(n > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

function ticks(min: number, max: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i <= count; i++) out.push(min + ((max - min) * i) / count);
  return out;
}

/** Round-numbered ticks (1/2/5×10^k apart) covering [min, max], about `target` of them. */
function niceTicks(min: number, max: number, target: number): number[] {
  const step = niceCeil((max - min) / target);
  const out: number[] = [];
  for (let k = Math.ceil(min / step); k * step <= max + step * 1e-9; k++)
    out.push(Number((k * step).toPrecision(12)));
  return out;
}

function svgOpen(id: string, title: string, description: string, width: number, height: number): string {
  return (
    `<svg id="${escapeHtml(id)}" class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"` +
    ` aria-labelledby="${escapeHtml(id)}-title ${escapeHtml(id)}-desc">` +
    `<title id="${escapeHtml(id)}-title">${escapeHtml(title)}</title>` +
    `<desc id="${escapeHtml(id)}-desc">${escapeHtml(description)}</desc>`
  );
}

function emptyChart(id: string, title: string, description: string, width: number, height: number): string {
  return (
    svgOpen(id, title, description, width, height) +
    `<text class="empty" x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text></svg>`
  );
}

export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 260;
  const all = o.series.flatMap((s) => s.points);
  if (all.length === 0) return emptyChart(o.id, o.title, o.description, width, height);
  const fx = o.formatX ?? ((x: number) => round(x));
  const fy = o.formatY ?? ((y: number) => round(y));
  let xMin = Number.POSITIVE_INFINITY;
  let xMax = Number.NEGATIVE_INFINITY;
  let yTop = 0;
  for (const [x, y] of all) {
    xMin = Math.min(xMin, x);
    xMax = Math.max(xMax, x);
    yTop = Math.max(yTop, y);
  }
  if (xMax === xMin) xMax = xMin + 1;
  const yMax = o.yMax ?? niceCeil(yTop);
  const pw = width - M.left - M.right;
  const ph = height - M.top - M.bottom;
  const sx = (x: number) => round(M.left + ((x - xMin) / (xMax - xMin)) * pw, 1);
  const sy = (y: number) => round(M.top + ph - (Math.min(y, yMax) / yMax) * ph, 1);

  const parts: string[] = [svgOpen(o.id, o.title, o.description, width, height)];
  parts.push('<g class="axis">');
  for (const t of ticks(0, yMax, 4)) {
    parts.push(
      `<line class="grid" x1="${M.left}" x2="${width - M.right}" y1="${sy(t)}" y2="${sy(t)}"/>`,
      `<text x="${M.left - 6}" y="${sy(t)}" dy="0.32em" text-anchor="end">${escapeHtml(fy(t))}</text>`,
    );
  }
  for (const t of niceTicks(xMin, xMax, 6)) {
    parts.push(
      `<text x="${sx(t)}" y="${height - M.bottom + 16}" text-anchor="middle">${escapeHtml(fx(t))}</text>`,
    );
  }
  parts.push(
    `<line x1="${M.left}" x2="${width - M.right}" y1="${M.top + ph}" y2="${M.top + ph}"/>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}"/>`,
    `<text x="${M.left + pw / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(o.xLabel)}</text>`,
    `<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(o.yLabel)}</text>`,
    '</g>',
  );
  o.series.forEach((s, i) => {
    const cls = `series s${i % PALETTE_SIZE}`;
    const attrs = `data-series="${escapeHtml(s.name)}" data-points="${s.points.length}"`;
    if (s.points.length === 1) {
      const [x, y] = s.points[0]!;
      parts.push(
        `<circle class="${cls}" ${attrs} cx="${sx(x)}" cy="${sy(y)}" r="3"><title>${escapeHtml(s.name)}</title></circle>`,
      );
      return;
    }
    if (s.points.length === 0) return;
    const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x)} ${sy(y)}`).join('');
    parts.push(`<path class="${cls}" ${attrs} d="${d}"><title>${escapeHtml(s.name)}</title></path>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface BarGroup {
  label: string;
  /** One value per series, in the order of `seriesNames`. */
  values: number[];
}

export interface BarChartOptions {
  id: string;
  title: string;
  description: string;
  valueLabel: string;
  seriesNames: string[];
  groups: BarGroup[];
  formatValue?: (v: number) => string;
  width?: number;
}

const BAR_H = 14;
const BAR_GAP = 2;
const GROUP_GAP = 10;
const LABEL_W = 180;

/** Horizontal bars, grouped: long labels (failure reasons) stay readable on the left. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 720;
  const n = o.seriesNames.length;
  const groupH = n * BAR_H + (n - 1) * BAR_GAP;
  const height = M.top + o.groups.length * (groupH + GROUP_GAP) + 30;
  if (o.groups.length === 0 || n === 0) return emptyChart(o.id, o.title, o.description, width, 120);
  const fv = o.formatValue ?? ((v: number) => round(v));
  const vMax = niceCeil(Math.max(0, ...o.groups.flatMap((g) => g.values)));
  const pw = width - LABEL_W - 70;
  const parts: string[] = [svgOpen(o.id, o.title, o.description, width, height)];
  const axisY = height - 30;
  parts.push('<g class="axis">');
  for (const t of ticks(0, vMax, 4)) {
    const x = round(LABEL_W + (t / vMax) * pw, 1);
    parts.push(
      `<line class="grid" x1="${x}" x2="${x}" y1="${M.top}" y2="${axisY}"/>`,
      `<text x="${x}" y="${axisY + 14}" text-anchor="middle">${escapeHtml(fv(t))}</text>`,
    );
  }
  parts.push(
    `<text x="${LABEL_W + pw / 2}" y="${height - 4}" text-anchor="middle">${escapeHtml(o.valueLabel)}</text>`,
    '</g>',
  );
  o.groups.forEach((g, gi) => {
    const y0 = M.top + gi * (groupH + GROUP_GAP);
    parts.push(
      `<text class="label" x="${LABEL_W - 6}" y="${y0 + groupH / 2}" dy="0.32em" text-anchor="end">` +
        `${escapeHtml(truncate(g.label, 28))}<title>${escapeHtml(g.label)}</title></text>`,
    );
    g.values.forEach((v, si) => {
      const y = y0 + si * (BAR_H + BAR_GAP);
      const w = round(vMax > 0 ? (Math.max(0, v) / vMax) * pw : 0, 1);
      const name = o.seriesNames[si] ?? '';
      const tip = n > 1 ? `${g.label} — ${name}: ${fv(v)}` : `${g.label}: ${fv(v)}`;
      parts.push(
        `<rect class="bar s${si % PALETTE_SIZE}" data-label="${escapeHtml(g.label)}" data-series="${escapeHtml(name)}"` +
          ` data-value="${v}" x="${LABEL_W}" y="${y}" width="${w}" height="${BAR_H}"><title>${escapeHtml(tip)}</title></rect>`,
        `<text class="value" x="${LABEL_W + Number(w) + 4}" y="${y + BAR_H / 2}" dy="0.32em">${escapeHtml(fv(v))}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return parts.join('');
}

/** An HTML legend for a chart's series, matching the `s0`…`s7` colour classes. */
export function legend(names: string[]): string {
  if (names.length < 2) return '';
  const items = names.map(
    (name, i) =>
      `<li><span class="swatch s${i % PALETTE_SIZE}" aria-hidden="true"></span>${escapeHtml(name)}</li>`,
  );
  return `<ul class="legend">${items.join('')}</ul>`;
}
