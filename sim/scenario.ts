/**
 * Scenario files for `cellplane sim <scenario.yaml>` (format: sim/SCENARIOS.md).
 *
 * parseScenario(text, { file }) → a deeply frozen, fully defaulted Scenario (ms, MB, GB), or a
 * ScenarioError listing every problem as `file:line:col: path: message`. Sections are read first
 * (each reports what it can); the cross-checks (flavors against hosts, faults against cells and
 * the duration, group shares) run once the sections are clean, since on a half-read file they
 * would mostly repeat the first problem.
 */

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { crossCheck, locator } from './scenario-checks.ts';
import { deepFreeze, ScenarioError } from './scenario-error.ts';
import { parseFaults } from './scenario-faults.ts';
import { fleetMisfit, fleetOffers } from './scenario-fit.ts';
import { NAME_RE, parseFleet } from './scenario-fleet.ts';
import { type Cur, Reader } from './scenario-reader.ts';
import { parseTrace } from './scenario-trace.ts';
import type { ParseOptions, ReportSpec, RunMode, RunSpec, Scenario } from './scenario-types.ts';
import { parseWorkload, type TraceLoader } from './scenario-workload.ts';

export { deepFreeze, formatProblem, ScenarioError } from './scenario-error.ts';
export { type Demand, flavorDemand } from './scenario-fit.ts';
export { applyOverrides } from './scenario-overrides.ts';
export { expectedRequests, scenarioSummary } from './scenario-summary.ts';
export type * from './scenario-types.ts';
export { formatDuration, parseDuration, parseSize } from './scenario-units.ts';

export const SCENARIO_VERSION = 1;
export const DEFAULT_SEED = 1;
export const DEFAULT_INVARIANT_CHECK_INTERVAL_MS = 1_000;
/** Used for defaults while run.duration is missing or bad (its own problem is reported). */
const UNKNOWN_DURATION_MS = Number.MAX_SAFE_INTEGER;

const TOP_KEYS = ['version', 'name', 'description', 'run', 'fleet', 'workload', 'faults'];

export function parseScenario(text: string, opts: ParseOptions): Scenario {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, merge: true, uniqueKeys: true });
  const r = new Reader(lc, doc);
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const p = lc.linePos(e.pos[0]);
      return {
        line: p.line,
        column: p.col,
        path: '(yaml)',
        message: `YAML syntax: ${e.message.split('\n')[0]}`,
      };
    });
    throw new ScenarioError(opts.file, problems);
  }
  const root = r.root();
  if (root.node === null)
    throw new ScenarioError(opts.file, [
      {
        line: 1,
        column: 1,
        path: '(top level)',
        message: 'the file is empty: a scenario needs run, fleet and workload',
      },
    ]);
  const f = r.map(root, TOP_KEYS);
  if (f === undefined) throw new ScenarioError(opts.file, r.problems);
  const vc = f.get('version');
  if (vc !== undefined && r.value(vc) !== SCENARIO_VERSION) {
    r.problem(
      vc,
      `must be ${SCENARIO_VERSION} (the only scenario format version so far), got ${JSON.stringify(r.value(vc))}`,
    );
  }
  const nc = f.get('name');
  const name = nc === undefined ? defaultName(opts.file) : r.str(nc, NAME_RE);
  const dc = f.get('description');
  const description = dc === undefined ? '' : r.str(dc);
  const run = parseRun(r, f.req('run') ?? root);
  const durationMs = run?.durationMs ?? UNKNOWN_DURATION_MS;
  const fleet = parseFleet(r, f.req('fleet') ?? root);
  const loadTrace = traceLoader(r, opts, fleet === undefined ? null : fleetOffers(fleet));
  const workload = parseWorkload(r, f.req('workload') ?? root, durationMs, loadTrace);
  const fc = f.get('faults');
  const faults = fc === undefined ? [] : parseFaults(r, fc, durationMs, run?.mode ?? 'virtual');
  if (
    r.problems.length > 0 ||
    !run ||
    !fleet ||
    !workload ||
    name === undefined ||
    description === undefined
  ) {
    throw new ScenarioError(opts.file, r.problems);
  }
  const scenario: Scenario = { file: opts.file, name, description, run, fleet, workload, faults };
  const problems = crossCheck(scenario, locator(r.locations));
  if (problems.length > 0) throw new ScenarioError(opts.file, problems);
  return deepFreeze(scenario);
}

function defaultName(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.replace(/\.ya?ml$/i, '') || 'scenario';
}

function parseRun(r: Reader, cur: Cur): RunSpec | undefined {
  const f = r.map(cur, ['duration', 'seed', 'mode', 'warmup', 'invariant_check_interval', 'reports']);
  if (f === undefined) return undefined;
  const durationMs = r.durationMs(f.req('duration', ' (like 30m)'), true);
  const sc = f.get('seed');
  const seed = sc === undefined ? DEFAULT_SEED : r.int(sc, 0, 0xffff_ffff);
  const mc = f.get('mode');
  const mode = mc === undefined ? 'virtual' : r.oneOfValues<RunMode>(mc, ['virtual', 'real']);
  const wc = f.get('warmup');
  const warmupMs = wc === undefined ? 0 : r.durationMs(wc);
  const ic = f.get('invariant_check_interval');
  const invariantCheckIntervalMs = ic === undefined ? DEFAULT_INVARIANT_CHECK_INTERVAL_MS : r.durationMs(ic);
  const rc = f.get('reports');
  const reports = rc === undefined ? { text: '-', json: null, html: null } : parseReports(r, rc);
  if (
    durationMs === undefined ||
    seed === undefined ||
    mode === undefined ||
    warmupMs === undefined ||
    invariantCheckIntervalMs === undefined ||
    reports === undefined
  ) {
    return undefined;
  }
  return { durationMs, seed, mode, warmupMs, invariantCheckIntervalMs, reports };
}

function parseReports(r: Reader, cur: Cur): ReportSpec | undefined {
  const f = r.map(cur, ['text', 'json', 'html']);
  if (f === undefined) return undefined;
  const one = (key: 'text' | 'json' | 'html', dflt: string | null): string | null | undefined => {
    const c = f.get(key);
    if (c === undefined) return dflt;
    const v = r.value(c);
    if (v === null || v === false) return null;
    return r.str(c);
  };
  const text = one('text', '-');
  const json = one('json', null);
  const html = one('html', null);
  if (text === undefined || json === undefined || html === undefined) return undefined;
  return { text, json, html };
}

/** Loads trace CSVs relative to the scenario file; CSV problems carry the CSV's name and lines. */
function traceLoader(
  r: Reader,
  opts: ParseOptions,
  offers: ReturnType<typeof fleetOffers> | null,
): TraceLoader {
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  return (arrivalPath, fileCur, file, o) => {
    const resolvedPath = isAbsolute(file) ? file : join(dirname(opts.file), file);
    let text: string;
    try {
      text = read(resolvedPath);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return r.problem(fileCur, `cannot read trace ${resolvedPath}: ${why}`);
    }
    const memo = new Map<string, string | null>();
    const misfit = (resources: Readonly<Record<string, number>>) => {
      if (offers === null) return null;
      const key = JSON.stringify(resources);
      if (!memo.has(key)) {
        const need = Object.fromEntries(Object.entries(resources).filter(([, n]) => n > 0));
        memo.set(key, fleetMisfit({ resources: need, total: need, required: [], forbidden: [] }, offers));
      }
      return memo.get(key)!;
    };
    const res = parseTrace(text, { file: resolvedPath, path: arrivalPath, misfit, ...o });
    r.problems.push(...res.problems);
    return { resolvedPath, records: res.records };
  };
}
