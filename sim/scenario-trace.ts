/**
 * Trace files for `kind: trace` arrivals: CSV, one request a row (SCENARIOS.md has the columns).
 * Every problem is reported with the CSV's own line and column; at most MAX_TRACE_PROBLEMS are
 * listed per file, then one line counts the rest.
 */

import {
  isCustomResourceClassName,
  isStandardResourceClass,
  STANDARD_RESOURCE_CLASSES,
} from '../core/model/resource-classes.ts';
import type { GroupPolicy, ScenarioProblem, TraceRecord } from './scenario-types.ts';
import { didYouMean } from './scenario-units.ts';

export const TRACE_COLUMNS = ['submit_s', 'flavor', 'duration_s', 'project', 'group'] as const;
export const MAX_TRACE_PROBLEMS = 50;
/** Largest trace a scenario may replay (rows). */
export const MAX_TRACE_ROWS = 10_000_000;
const POLICIES: readonly GroupPolicy[] = ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'];

export interface TraceContext {
  /** The CSV path as shown in messages. */
  readonly file: string;
  /** Key path of the arrival, e.g. workload.arrivals[3]. */
  readonly path: string;
  readonly flavors: readonly string[];
  readonly startMs: number;
  readonly timeScale: number;
  readonly defaultGroupPolicy: GroupPolicy;
  /** Why a request for `resources` fits no host, or null (memoised by the caller). */
  readonly misfit: (resources: Readonly<Record<string, number>>) => string | null;
}

interface Field {
  readonly text: string;
  readonly column: number;
}

/** Splits one CSV line (RFC 4180 quoting with ""), keeping each field's 1-based column. */
export function splitCsvLine(line: string): Field[] | string {
  const out: Field[] = [];
  let i = 0;
  for (;;) {
    const column = i + 1;
    let text = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return `column ${column}: unterminated quoted field`;
        if (line[i] === '"' && line[i + 1] === '"') {
          text += '"';
          i += 2;
        } else if (line[i] === '"') {
          break;
        } else {
          text += line[i++];
        }
      }
      i++;
      if (i < line.length && line[i] !== ',')
        return `column ${i + 1}: expected a comma after the quoted field`;
    } else {
      const end = line.indexOf(',', i);
      text = (end < 0 ? line.slice(i) : line.slice(i, end)).trim();
      i = end < 0 ? line.length : end;
    }
    out.push({ text, column });
    if (i >= line.length) return out;
    i++;
  }
}

export function parseTrace(
  text: string,
  ctx: TraceContext,
): { records: TraceRecord[]; problems: ScenarioProblem[] } {
  const problems: ScenarioProblem[] = [];
  let dropped = 0;
  const problem = (line: number, column: number, col: string, message: string) => {
    if (problems.length < MAX_TRACE_PROBLEMS)
      problems.push({ file: ctx.file, line, column, path: `${ctx.path}.trace.${col}`, message });
    else dropped++;
  };
  const records: TraceRecord[] = [];
  let columns: readonly string[] | null = null;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const fields = splitCsvLine(raw);
    if (typeof fields === 'string') {
      problem(n + 1, 1, 'row', fields);
      continue;
    }
    if (columns === null) {
      const header = !/^[\d.]/.test(fields[0]!.text);
      columns = header ? headerColumns(fields, n + 1, problem) : TRACE_COLUMNS;
      if (header) continue;
    }
    if (records.length >= MAX_TRACE_ROWS) {
      problem(n + 1, 1, 'row', `more than ${MAX_TRACE_ROWS} rows: split the trace`);
      break;
    }
    const rec = parseRow(fields, columns, n + 1, ctx, problem);
    if (rec !== undefined) records.push(rec);
  }
  if (columns === null)
    problems.push({
      file: ctx.file,
      line: 1,
      column: 1,
      path: `${ctx.path}.file`,
      message: 'the trace has no rows',
    });
  if (dropped > 0) {
    problems.push({
      file: ctx.file,
      line: 0,
      column: 0,
      path: `${ctx.path}.trace`,
      message: `... and ${dropped} more problems in this file`,
    });
  }
  records.sort((a, b) => a.submitMs - b.submitMs || a.line - b.line);
  return { records, problems };
}

type Report = (line: number, column: number, col: string, message: string) => void;

function headerColumns(fields: Field[], line: number, problem: Report): string[] {
  const names = fields.map((f) => f.text);
  fields.forEach((f, i) => {
    if (!(TRACE_COLUMNS as readonly string[]).includes(f.text)) {
      problem(
        line,
        f.column,
        'header',
        `unknown column "${f.text}"${didYouMean(f.text, TRACE_COLUMNS)}; columns are ${TRACE_COLUMNS.join(', ')}`,
      );
    } else if (names.indexOf(f.text) !== i) {
      problem(line, f.column, 'header', `column "${f.text}" appears twice`);
    }
  });
  for (const need of ['submit_s', 'flavor', 'duration_s']) {
    if (!names.includes(need)) problem(line, 1, 'header', `missing column "${need}"`);
  }
  return names;
}

function parseRow(
  fields: Field[],
  columns: readonly string[],
  line: number,
  ctx: TraceContext,
  problem: Report,
): TraceRecord | undefined {
  if (fields.length > columns.length) {
    problem(
      line,
      fields[columns.length]!.column,
      'row',
      `${fields.length} fields but the trace has ${columns.length} columns`,
    );
    return undefined;
  }
  const get = (name: string): Field | undefined => {
    const i = columns.indexOf(name);
    return i < 0 ? undefined : fields[i];
  };
  const endCol = (fields.at(-1)?.column ?? 1) + (fields.at(-1)?.text.length ?? 0);
  let ok = true;
  const bad = (f: Field | undefined, col: string, message: string): undefined => {
    ok = false;
    problem(line, f?.column ?? endCol, col, message);
    return undefined;
  };
  const seconds = (f: Field | undefined, col: string, optional: boolean): number | null | undefined => {
    if (f === undefined || f.text === '') return optional ? null : bad(f, col, 'is required (seconds)');
    if (optional && /^(forever|inf)$/i.test(f.text)) return null;
    if (!/^\d+(\.\d+)?$/.test(f.text))
      return bad(f, col, `must be a number of seconds >= 0, got "${f.text}"`);
    return Math.round(Number(f.text) * 1000 * ctx.timeScale);
  };
  const submit = seconds(get('submit_s'), 'submit_s', false);
  const duration = seconds(get('duration_s'), 'duration_s', true);
  const ff = get('flavor');
  let flavor: string | null = null;
  let resources: Record<string, number> | null = null;
  if (ff === undefined || ff.text === '') {
    bad(ff, 'flavor', 'is required: a flavor name or resources like "VCPU=2,MEMORY_MB=4096"');
  } else if (ff.text.includes('=')) {
    resources = parseResources(ff, (m) => bad(ff, 'flavor', m)) ?? null;
    const why = resources && ctx.misfit(resources);
    if (why) bad(ff, 'flavor', `no host could ever fit ${ff.text}: ${why}`);
  } else if (!ctx.flavors.includes(ff.text)) {
    bad(
      ff,
      'flavor',
      `unknown flavor "${ff.text}"${didYouMean(ff.text, ctx.flavors)}; define it in workload.flavors or write resources like VCPU=2,MEMORY_MB=4096`,
    );
  } else {
    flavor = ff.text;
  }
  const pf = get('project');
  const gf = get('group');
  let group: TraceRecord['group'] = null;
  if (gf !== undefined && gf.text !== '') {
    const [id, policy, ...rest] = gf.text.split(':');
    if (rest.length > 0 || id === '') bad(gf, 'group', `must be <id> or <id>:<policy>, got "${gf.text}"`);
    else if (policy !== undefined && !(POLICIES as readonly string[]).includes(policy)) {
      bad(
        gf,
        'group',
        `unknown policy "${policy}"${didYouMean(policy, POLICIES)}; one of ${POLICIES.join(', ')}`,
      );
    } else group = { id: id!, policy: (policy as GroupPolicy | undefined) ?? ctx.defaultGroupPolicy };
  }
  if (!ok || submit === undefined || submit === null || duration === undefined) return undefined;
  return {
    line,
    submitMs: ctx.startMs + submit,
    flavor,
    resources,
    durationMs: duration,
    project: pf === undefined || pf.text === '' ? null : pf.text,
    group,
  };
}

/** "VCPU=2,MEMORY_MB=4096" (or with ;) → amounts by class. */
export function parseResources(f: Field, bad: (m: string) => undefined): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  for (const part of f.text.split(/[;,]/)) {
    const [rc, n, ...rest] = part.trim().split('=');
    if (rest.length > 0 || rc === undefined || n === undefined) return bad(`"${part}" is not CLASS=amount`);
    if (!isStandardResourceClass(rc) && !isCustomResourceClassName(rc)) {
      return bad(
        `"${rc}" is not a resource class name: a standard one or CUSTOM_*${didYouMean(rc, STANDARD_RESOURCE_CLASSES)}`,
      );
    }
    if (!/^\d+$/.test(n)) return bad(`amount of ${rc} must be a non-negative integer, got "${n}"`);
    if (rc in out) return bad(`${rc} is given twice`);
    out[rc] = Number(n);
  }
  return out;
}
