/**
 * CLI overrides of a parsed scenario (`--cells N`, `--hosts N`, `--seed S`, `--duration D`),
 * applied in that order; the result is re-checked with the parser's cross-checks and frozen.
 *
 * --cells N: names: generated cells become <prefix>1..<prefix>N; listed cells keep the first N
 *   names, extra cells are named cell<k> (k = position, skipping names in use). Every profile
 *   keeps its total host count: a profile spread over all cells is dealt evenly over the N cells;
 *   a profile pinned to cells (a cells list or per-cell counts) keeps its count in surviving
 *   cells and its hosts in removed cells are dealt evenly over its surviving cells (over all N
 *   cells when none survive). Overrides of removed cells are dropped.
 * --hosts N: every (cell, profile) group is scaled by N / total, rounded by largest remainder so
 *   the total is exactly N (ties to the earlier cell, then the earlier profile); groups may drop
 *   to 0 hosts when N is small, but a profile that had hosts keeps at least one while N allows
 *   (one host moves to it from the biggest group of a profile with more than one).
 * --duration D: arrival and fault windows that ended at the old duration end at D; others are
 *   clipped to D; anything that starts at or after D is an error.
 * Afterwards every profile's spread is the resulting per-cell counts (kind 'map').
 */

import { crossCheck, type Locate } from './scenario-checks.ts';
import { deepFreeze, ScenarioError } from './scenario-error.ts';
import { MAX_CELLS, MAX_HOSTS } from './scenario-fleet.ts';
import { countsOf, dealEvenly, resolveCells, scaleToTotal } from './scenario-layout.ts';
import type {
  Arrival,
  CellOverride,
  FaultSpec,
  FaultTiming,
  HostProfile,
  Scenario,
  ScenarioOverrides,
  ScenarioProblem,
} from './scenario-types.ts';
import { formatDuration } from './scenario-units.ts';

const NOWHERE: Locate = () => ({ line: 0, column: 0 });

export function applyOverrides(s: Scenario, o: ScenarioOverrides): Scenario {
  const bad: ScenarioProblem[] = [];
  const check = (flag: string, v: number | undefined, min: number, max: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) {
      bad.push({ line: 0, column: 0, path: flag, message: `must be an integer in ${min}..${max}, got ${v}` });
    }
  };
  check('--cells', o.cells, 1, MAX_CELLS);
  check('--hosts', o.hosts, 1, MAX_HOSTS);
  check('--seed', o.seed, 0, 0xffff_ffff);
  check('--duration', o.durationMs, 1, Number.MAX_SAFE_INTEGER);
  if (bad.length > 0) throw new ScenarioError(s.file, bad);

  let names = s.fleet.cells.map((c) => c.name);
  let counts = countsOf(s.fleet.cells);
  let overrides: Record<string, CellOverride> = { ...s.fleet.cellOverrides };
  if (o.cells !== undefined && o.cells !== names.length) {
    const next = cellNames(s, o.cells);
    counts = respread(s.fleet.profiles, counts, next);
    overrides = Object.fromEntries(Object.entries(overrides).filter(([c]) => next.includes(c)));
    names = next;
  }
  if (o.hosts !== undefined) counts = scaleHosts(names, Object.keys(s.fleet.profiles), counts, o.hosts);
  const profiles: Record<string, HostProfile> = {};
  for (const p of Object.values(s.fleet.profiles)) {
    profiles[p.name] = {
      ...p,
      spread: { kind: 'map', counts: Object.fromEntries(counts.get(p.name) ?? []) },
    };
  }
  for (const [cell, ov] of Object.entries(overrides)) {
    const ps = Object.fromEntries(Object.entries(ov.profiles).map(([p, v]) => [p, { ...v, count: null }]));
    overrides[cell] = { ...ov, profiles: ps };
  }
  const cells = resolveCells(names, profiles, overrides);
  const fleet = {
    ...s.fleet,
    cells,
    profiles,
    cellOverrides: overrides,
    totalHosts: cells.reduce((a, c) => a + c.totalHosts, 0),
  };
  let { run, workload, faults } = s;
  if (o.seed !== undefined) run = { ...run, seed: o.seed };
  if (o.durationMs !== undefined && o.durationMs !== s.run.durationMs) {
    const [from, to] = [s.run.durationMs, o.durationMs];
    run = { ...run, durationMs: to };
    workload = { ...workload, arrivals: workload.arrivals.map((a) => stretchArrival(a, from, to)) };
    faults = faults.map((f) => stretchFault(f, from, to));
  }
  const out: Scenario = { ...s, run, fleet, workload, faults };
  const problems = crossCheck(out, NOWHERE).map((p) =>
    o.cells !== undefined && p.message.startsWith('names no cell')
      ? {
          ...p,
          message: `names a cell that --cells ${o.cells} leaves out (cells are now ${names.join(', ')})`,
        }
      : p,
  );
  if (problems.length > 0)
    throw new ScenarioError(
      s.file,
      problems,
      `${s.file}: after ${describe(o)}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:`,
    );
  return deepFreeze(out);
}

function describe(o: ScenarioOverrides): string {
  const parts: string[] = [];
  if (o.cells !== undefined) parts.push(`--cells ${o.cells}`);
  if (o.hosts !== undefined) parts.push(`--hosts ${o.hosts}`);
  if (o.seed !== undefined) parts.push(`--seed ${o.seed}`);
  if (o.durationMs !== undefined) parts.push(`--duration ${formatDuration(o.durationMs)}`);
  return parts.join(' ');
}

function cellNames(s: Scenario, n: number): string[] {
  const naming = s.fleet.cellNaming;
  if (naming.kind === 'generated') return Array.from({ length: n }, (_, i) => `${naming.prefix}${i + 1}`);
  const out = s.fleet.cells.slice(0, n).map((c) => c.name);
  const taken = new Set(s.fleet.cells.map((c) => c.name));
  for (let k = out.length + 1; out.length < n; k++) {
    if (!taken.has(`cell${k}`)) out.push(`cell${k}`);
  }
  return out;
}

type Counts = Map<string, Map<string, number>>;

function respread(
  profiles: Readonly<Record<string, HostProfile>>,
  counts: Counts,
  next: readonly string[],
): Counts {
  const out: Counts = new Map();
  for (const p of Object.values(profiles)) {
    const old = counts.get(p.name) ?? new Map<string, number>();
    const total = [...old.values()].reduce((a, b) => a + b, 0);
    const m = new Map<string, number>();
    const allCells = p.spread.kind !== 'map' && p.spread.cells === null;
    if (allCells) {
      dealEvenly(total, next.length).forEach((n, i) => {
        m.set(next[i]!, n);
      });
    } else {
      let moved = 0;
      for (const [cell, n] of old) {
        if (next.includes(cell)) m.set(cell, n);
        else moved += n;
      }
      const targets = next.filter((c) => (m.get(c) ?? 0) > 0);
      const over = targets.length > 0 ? targets : next;
      dealEvenly(moved, over.length).forEach((n, i) => {
        m.set(over[i]!, (m.get(over[i]!) ?? 0) + n);
      });
    }
    out.set(p.name, m);
  }
  return out;
}

function scaleHosts(
  cells: readonly string[],
  profiles: readonly string[],
  counts: Counts,
  total: number,
): Counts {
  const slots: Array<[string, string]> = [];
  for (const c of cells) for (const p of profiles) slots.push([c, p]);
  const weights = slots.map(([c, p]) => counts.get(p)?.get(c) ?? 0);
  const scaled = scaleToTotal(weights, total);
  keepEveryProfile(slots, weights, scaled);
  const out: Counts = new Map(profiles.map((p) => [p, new Map<string, number>()]));
  slots.forEach(([c, p], i) => {
    if (scaled[i]! > 0) out.get(p)!.set(c, scaled[i]!);
  });
  return out;
}

/**
 * A profile that had hosts keeps at least one when N allows: its biggest group takes a host
 * from the biggest group of a profile that has more than one. Mutates `scaled`.
 */
function keepEveryProfile(
  slots: ReadonlyArray<[string, string]>,
  weights: readonly number[],
  scaled: number[],
): void {
  const total = (p: string) => slots.reduce((a, s, i) => a + (s[1] === p ? scaled[i]! : 0), 0);
  const biggest = (pick: (i: number) => boolean, of: readonly number[]) => {
    let best = -1;
    for (let i = 0; i < slots.length; i++) if (pick(i) && (best < 0 || of[i]! > of[best]!)) best = i;
    return best;
  };
  for (const p of new Set(slots.map((s) => s[1]))) {
    if (total(p) > 0 || !slots.some((s, i) => s[1] === p && weights[i]! > 0)) continue;
    const donor = biggest((i) => scaled[i]! > 0 && total(slots[i]![1]) > 1, scaled);
    if (donor < 0) return;
    scaled[donor]!--;
    scaled[biggest((i) => slots[i]![1] === p, weights)]!++;
  }
}

function stretchEnd(end: number, from: number, to: number): number {
  return end === from ? to : Math.min(end, to);
}

function stretchArrival(a: Arrival, from: number, to: number): Arrival {
  if (a.kind === 'burst') return a;
  return { ...a, endMs: stretchEnd(a.endMs, from, to) };
}

function stretchTiming(t: FaultTiming, from: number, to: number): FaultTiming {
  return t.kind === 'at' ? t : { ...t, endMs: stretchEnd(t.endMs, from, to) };
}

function stretchFault(f: FaultSpec, from: number, to: number): FaultSpec {
  if (f.kind === 'spawn_failure') return { ...f, endMs: stretchEnd(f.endMs, from, to) };
  return { ...f, timing: stretchTiming(f.timing, from, to) };
}
