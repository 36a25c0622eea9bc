/**
 * Cross-checks on a parsed scenario: rules that span sections (flavors against host profiles,
 * faults against cells, profiles and the run's duration, group shares). They run on the typed
 * object so applyOverrides re-checks exactly the same rules; `locate` turns a key path back into
 * a line and column when the YAML is at hand.
 */

import { flavorDemand, fleetMisfit, fleetOffers } from './scenario-fit.ts';
import type { FaultSpec, FaultTarget, HostCount, Scenario, ScenarioProblem } from './scenario-types.ts';
import { didYouMean, formatDuration } from './scenario-units.ts';

export type Locate = (path: string) => { line: number; column: number };

/** Drops trailing `.key` / `[i]` segments until a known path is found. */
export function locator(locations: ReadonlyMap<string, { line: number; column: number }>): Locate {
  return (path) => {
    for (let p = path; p !== ''; p = p.replace(/(\.[^.[\]]*|\[\d+\])$/, '')) {
      const hit = locations.get(p);
      if (hit !== undefined) return hit;
      if (!/(\.[^.[\]]*|\[\d+\])$/.test(p)) break;
    }
    return { line: 0, column: 0 };
  };
}

export function crossCheck(s: Scenario, locate: Locate): ScenarioProblem[] {
  const out: ScenarioProblem[] = [];
  const add = (path: string, message: string) => out.push({ ...locate(path), path, message });
  const d = s.run.durationMs;
  if (s.run.warmupMs >= d) add('run.warmup', `must be shorter than run.duration (${formatDuration(d)})`);
  const offers = fleetOffers(s.fleet);
  for (const f of Object.values(s.workload.flavors)) {
    const why = fleetMisfit(flavorDemand(f), offers);
    if (why !== null) add(`workload.flavors.${f.name}`, `no host could ever fit flavor "${f.name}": ${why}`);
  }
  const share = s.workload.serverGroups.reduce((a, g) => a + g.fraction, 0);
  if (share > 1 + 1e-9)
    add('workload.server_groups', `fractions add up to ${round(share)}: they must sum to at most 1`);
  s.workload.arrivals.forEach((a, i) => {
    const path = `workload.arrivals[${i}]`;
    const startKey = a.kind === 'burst' ? 'at' : 'start';
    if (a.startMs >= d)
      add(
        `${path}.${startKey}`,
        `starts at ${formatDuration(a.startMs)}, not before the run ends (${formatDuration(d)})`,
      );
    else if (a.kind !== 'trace' && a.endMs > d) {
      add(
        `${path}.${a.kind === 'burst' ? 'window' : 'end'}`,
        `ends at ${formatDuration(a.endMs)}, after the run ends (${formatDuration(d)})`,
      );
    }
  });
  s.faults.forEach((f, i) => {
    checkFault(s, f, `faults[${i}]`, add);
  });
  return out;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function checkFault(
  s: Scenario,
  f: FaultSpec,
  path: string,
  add: (path: string, message: string) => void,
): void {
  const d = s.run.durationMs;
  const cells = s.fleet.cells.map((c) => c.name);
  const profiles = Object.keys(s.fleet.profiles);
  const cell = 'cell' in f ? f.cell : 'target' in f ? f.target.cell : null;
  if (cell !== null && !cells.includes(cell))
    add(`${path}.cell`, `names no cell of fleet.cells${didYouMean(cell, cells)}`);
  if ('target' in f && f.target.profile !== null && !profiles.includes(f.target.profile)) {
    add(`${path}.profile`, `names no host profile${didYouMean(f.target.profile, profiles)}`);
  }
  if (f.kind === 'spawn_failure') {
    if (f.startMs >= d) add(`${path}.start`, `must be before the run ends (${formatDuration(d)})`);
    if (f.endMs > d) add(`${path}.end`, `must not be after the run ends (${formatDuration(d)})`);
    if (f.endMs <= f.startMs) add(`${path}.end`, 'must be after start');
    return;
  }
  const t = f.timing;
  if (t.kind === 'at' && t.atMs >= d)
    add(`${path}.at`, `${formatDuration(t.atMs)} is not within the run (duration ${formatDuration(d)})`);
  if (t.kind !== 'at') {
    if (t.startMs >= d) add(`${path}.start`, `must be before the run ends (${formatDuration(d)})`);
    if (t.endMs > d) add(`${path}.end`, `must not be after the run ends (${formatDuration(d)})`);
  }
  if (
    (f.kind === 'cell_partition' || f.kind === 'heartbeat_loss') &&
    t.kind === 'at' &&
    t.atMs < d &&
    t.atMs + f.durationMs > d
  ) {
    add(
      `${path}.duration`,
      `${f.kind} from ${formatDuration(t.atMs)} for ${formatDuration(f.durationMs)} outlasts the run (${formatDuration(d)}): it must heal before the end`,
    );
  }
  if ('hosts' in f) checkHosts(s, f.kind, f.target, f.hosts, path, add);
}

function checkHosts(
  s: Scenario,
  kind: string,
  target: FaultTarget,
  hosts: HostCount,
  path: string,
  add: (path: string, message: string) => void,
) {
  let eligible = 0;
  for (const c of s.fleet.cells) {
    if (target.cell !== null && c.name !== target.cell) continue;
    for (const g of c.hostGroups) {
      if (target.profile !== null && g.profile !== target.profile) continue;
      if (kind === 'bmc_power_fault' && s.fleet.profiles[g.profile]?.baremetal === null) continue;
      eligible += g.count;
    }
  }
  if (kind === 'bmc_power_fault') {
    const p = target.profile === null ? undefined : s.fleet.profiles[target.profile];
    if (p !== undefined && p.baremetal === null)
      return void add(
        `${path}.profile`,
        `profile "${p.name}" is not bare-metal: BMC faults need a profile with baremetal:`,
      );
    if (eligible === 0)
      return void add(
        path,
        'no bare-metal hosts to fault in its target: add a baremetal: profile or fix cell/profile',
      );
  }
  if (eligible === 0) return void add(path, 'its target (cell/profile) has no hosts');
  if (hosts.kind === 'count' && hosts.count > eligible) {
    add(
      `${path}.count`,
      `${hosts.count} hosts asked but its target has only ${eligible}: lower count or use fraction`,
    );
  }
}
