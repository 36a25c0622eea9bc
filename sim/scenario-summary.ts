/**
 * One paragraph a person reads before a run starts: mode, duration, seed, hosts per cell,
 * flavors and their shares, how many requests to expect, groups and faults.
 */

import type { Arrival, Scenario } from './scenario-types.ts';
import { formatDuration } from './scenario-units.ts';

/** Cells listed one by one up to this many; beyond it, a range. */
const MAX_CELLS_LISTED = 8;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Requests an arrival process is expected to submit within the run (mean for Poisson). */
export function expectedRequests(a: Arrival, durationMs: number): number {
  switch (a.kind) {
    case 'constant':
    case 'poisson':
      return (a.ratePerSecond * Math.max(0, Math.min(a.endMs, durationMs) - a.startMs)) / 1000;
    case 'burst':
      return a.startMs < durationMs ? a.count : 0;
    case 'trace':
      return a.records.filter((r) => r.submitMs < durationMs).length;
  }
}

export function scenarioSummary(s: Scenario): string {
  const { run, fleet, workload } = s;
  const parts: string[] = [];
  parts.push(
    `Scenario ${s.name}: ${run.mode} run of ${formatDuration(run.durationMs)}, seed ${run.seed}` +
      (run.warmupMs > 0 ? `, warmup ${formatDuration(run.warmupMs)}` : '') +
      '.',
  );
  parts.push(
    `Fleet: ${fmt(fleet.totalHosts)} hosts in ${fleet.cells.length} cell${fleet.cells.length === 1 ? '' : 's'} (${cellsText(s)}); profiles ${profilesText(s)}.`,
  );
  const weights = Object.entries(workload.mix);
  const sum = weights.reduce((a, [, w]) => a + w, 0);
  const mix = weights.map(([n, w]) => `${n} ${Math.round((100 * w) / sum)}%`).join(', ');
  parts.push(`Flavors: ${Object.keys(workload.flavors).length} defined; mix ${mix}.`);
  const byKind = new Map<string, number>();
  for (const a of workload.arrivals)
    byKind.set(a.kind, (byKind.get(a.kind) ?? 0) + expectedRequests(a, run.durationMs));
  const total = [...byKind.values()].reduce((a, b) => a + b, 0);
  parts.push(
    `Expected requests: ~${fmt(total)} (${[...byKind].map(([k, n]) => `${k} ${fmt(n)}`).join(', ')}).`,
  );
  if (workload.serverGroups.length > 0) {
    parts.push(
      `Server groups: ${workload.serverGroups.map((g) => `${g.name} ${g.policy} x${g.size} for ${Math.round(g.fraction * 100)}% of requests`).join(', ')}.`,
    );
  }
  if (s.faults.length > 0) {
    const kinds = new Map<string, number>();
    for (const f of s.faults) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
    parts.push(`Faults: ${[...kinds].map(([k, n]) => (n > 1 ? `${k} x${n}` : k)).join(', ')}.`);
  } else {
    parts.push('No faults.');
  }
  return parts.join(' ');
}

function cellsText(s: Scenario): string {
  const cells = s.fleet.cells;
  const counts = cells.map((c) => c.totalHosts);
  if (cells.length > 1 && counts.every((n) => n === counts[0])) return `${fmt(counts[0]!)} each`;
  if (cells.length <= MAX_CELLS_LISTED) return cells.map((c) => `${c.name} ${fmt(c.totalHosts)}`).join(', ');
  return `${fmt(Math.min(...counts))}–${fmt(Math.max(...counts))} per cell`;
}

function profilesText(s: Scenario): string {
  const totals = new Map<string, number>();
  for (const c of s.fleet.cells)
    for (const g of c.hostGroups) totals.set(g.profile, (totals.get(g.profile) ?? 0) + g.count);
  return Object.values(s.fleet.profiles)
    .map((p) => `${p.name} ${fmt(totals.get(p.name) ?? 0)}${p.baremetal ? ' (bare metal)' : ''}`)
    .join(', ');
}
