/**
 * The end-of-run summary for a terminal: aligned plain-text tables. Colour only when asked
 * (by default: stdout is a TTY and NO_COLOR is unset); widths are measured on the plain text so
 * colour never breaks alignment. User strings are stripped of control characters.
 */
import { escapeTerminal, truncate } from './escape.ts';
import { bootsPerSecond, formatDuration, round, type SimReport, scenarioExtras, timeKind } from './types.ts';

export interface SummaryOptions {
  /** Colour the output with ANSI codes. Default: `shouldColour(process.stdout)`. */
  color?: boolean;
  /** Widest a text cell may be before it is cut with an ellipsis. Default 60. */
  maxCellWidth?: number;
  /** Most rows of a long table (failures, capacity) before "… N more". Default 30. */
  maxRows?: number;
}

/** Whether to colour output written to `stream`: a TTY, NO_COLOR unset (or FORCE_COLOR set). */
export function shouldColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}

type Align = 'l' | 'r';
type Tone = 'bad' | 'ok' | undefined;
interface Cell {
  text: string;
  tone?: Tone;
}

const ANSI = { bold: '\x1b[1m', red: '\x1b[31m', green: '\x1b[32m', reset: '\x1b[0m' };

class Printer {
  readonly lines: string[] = [];
  constructor(private readonly o: Required<SummaryOptions>) {}

  title(text: string): void {
    if (this.lines.length > 0) this.lines.push('');
    this.lines.push(this.o.color ? `${ANSI.bold}${text}${ANSI.reset}` : text);
  }

  cell(text: unknown, tone?: Tone): Cell {
    return { text: truncate(escapeTerminal(text), this.o.maxCellWidth), tone };
  }

  table(head: string[], align: Align[], rows: Cell[][]): void {
    const shown = rows.slice(0, this.o.maxRows);
    const all = [head.map((h) => ({ text: h })), ...shown];
    const widths = head.map((_, i) => Math.max(...all.map((r) => [...(r[i]?.text ?? '')].length)));
    const fmt = (r: Cell[], isHead: boolean) =>
      r
        .map((c, i) => {
          const w = widths[i] ?? 0;
          const pad = ' '.repeat(Math.max(0, w - [...c.text].length));
          // No padding after a left-aligned last column (it would sit inside the colour codes).
          const text = align[i] === 'r' ? pad + c.text : i === r.length - 1 ? c.text : c.text + pad;
          return this.paint(text, isHead ? undefined : c.tone);
        })
        .join('  ')
        .trimEnd();
    if (head.some((h) => h !== '')) {
      this.lines.push(`  ${fmt(all[0]!, true)}`);
      this.lines.push(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
    }
    for (const r of shown) this.lines.push(`  ${fmt(r, false)}`);
    if (rows.length > shown.length) this.lines.push(`  … ${rows.length - shown.length} more`);
  }

  private paint(text: string, tone: Tone): string {
    if (!this.o.color || tone === undefined) return text;
    return `${tone === 'bad' ? ANSI.red : ANSI.green}${text}${ANSI.reset}`;
  }
}

const ms = (v: number | null) => (v === null ? '-' : round(v, 1));
const pct = (f: number | null) => (f === null ? '-' : `${round(f * 100, 1)}%`);

export function renderSummaryTable(report: SimReport, options: SummaryOptions = {}): string {
  const p = new Printer({
    color: options.color ?? shouldColour(process.stdout),
    maxCellWidth: options.maxCellWidth ?? 60,
    maxRows: options.maxRows ?? 30,
  });
  const { scenario: s, metrics: m, invariants } = report;
  const rates = bootsPerSecond(m);
  const seconds = m.durationMs / 1000;
  const v = invariants.violations.length;

  p.title(`Simulation ${escapeTerminal(s.name)}`);
  const facts: [string, Cell][] = [
    ['seed', p.cell(s.seed)],
    ['mode', p.cell(s.mode)],
    [`${timeKind(report)} time`, p.cell(formatDuration(m.durationMs))],
    ...(s.hash === undefined ? [] : ([['metrics hash', p.cell(s.hash)]] as [string, Cell][])),
    ...scenarioExtras(s).map(([k, val]): [string, Cell] => [k, p.cell(val)]),
    ['submitted', p.cell(m.requests.submitted)],
    ['active', p.cell(m.requests.active)],
    ['failed', p.cell(m.requests.failed, m.requests.failed > 0 ? 'bad' : undefined)],
    ['in flight', p.cell(m.requests.inFlight)],
    ['success rate', p.cell(pct(m.successRate))],
    ['boots/s mean', p.cell(seconds > 0 ? round(m.requests.active / seconds) : '-')],
    ['boots/s peak', p.cell(rates.length > 0 ? round(Math.max(...rates)) : '-')],
    ['reschedules', p.cell(m.reschedules)],
    ['claim conflicts', p.cell(m.claimConflicts)],
    ['invariant checks', p.cell(invariants.checks)],
    ['violations', p.cell(v, v > 0 ? 'bad' : 'ok')],
    ['anomalies', p.cell(m.anomalies.count, m.anomalies.count > 0 ? 'bad' : undefined)],
  ];
  p.table(
    ['', ''],
    ['l', 'l'],
    facts.map(([k, c]) => [{ text: k }, c]),
  );

  p.title(`Latency (ms of ${timeKind(report)} time)`);
  const lat = (name: string, l: typeof m.latencyMs.schedule) =>
    [name, l.count, ms(l.mean), ms(l.p50), ms(l.p95), ms(l.p99), ms(l.max)].map((x) => p.cell(x));
  p.table(
    ['latency', 'count', 'mean', 'p50', 'p95', 'p99', 'max'],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    [lat('schedule', m.latencyMs.schedule), lat('end-to-end', m.latencyMs.endToEnd)],
  );

  const reasons = Object.entries(m.failuresByReason).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (reasons.length > 0) {
    p.title('Failures by reason');
    p.table(
      ['reason', 'requests'],
      ['l', 'r'],
      reasons.map(([r, n]) => [p.cell(r), p.cell(n, 'bad')]),
    );
  }

  p.title('Capacity left (each flavor counted alone)');
  p.table(
    ['flavor', 'fits'],
    ['l', 'r'],
    report.capacity.totals.map((t) => [p.cell(t.flavor), p.cell(t.fits)]),
  );

  const f = report.fragmentation;
  p.title(`Fragmentation (nothing fits on ${f.strandedHosts} of ${f.hosts} hosts)`);
  p.table(
    ['class', 'stranded', 'total free', 'stranded %'],
    ['l', 'r', 'r', 'r'],
    f.classes.map((c) => [
      p.cell(c.rc),
      p.cell(round(c.stranded)),
      p.cell(round(c.totalFree)),
      p.cell(pct(c.fraction)),
    ]),
  );

  if (v > 0) {
    p.title('Invariant violations');
    p.table(
      ['violation'],
      ['l'],
      invariants.violations.map((x) => [p.cell(x, 'bad')]),
    );
  }
  return `${p.lines.join('\n')}\n`;
}
