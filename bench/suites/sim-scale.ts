/**
 * Scaling a scenario's workload with its fleet, for the sim suite: `--hosts` (applyOverrides)
 * scales the hosts only, so a 50,000-host boot storm run on 1,000 hosts would pour 200,000
 * servers into a fleet with room for about 80,000 — it would measure a full fleet refusing
 * requests. `scaleArrivals` multiplies every burst's count and every constant/Poisson rate by
 * the same factor as the hosts, so arrivals per host (and the fleet's fill) stay as in the file.
 * Trace replays cannot be scaled that way and are refused.
 */
import type { Arrival, Scenario } from '../../sim/scenario.ts';

function scaleOne(a: Arrival, factor: number, scenario: string): Arrival {
  switch (a.kind) {
    case 'burst':
      return { ...a, count: Math.max(1, Math.round(a.count * factor)) };
    case 'constant':
    case 'poisson':
      return { ...a, ratePerSecond: a.ratePerSecond * factor };
    case 'trace':
      throw new Error(
        `scenario ${scenario}: a trace replay (${a.file}) cannot be scaled to another fleet size; run it at its own size`,
      );
  }
}

/** `s` with arrivals scaled by `hosts` ÷ the scenario's hosts (apply before `applyOverrides({ hosts })`). */
export function scaleArrivals(s: Scenario, hosts: number): Scenario {
  if (!Number.isInteger(hosts) || hosts < 1)
    throw new Error(`hosts must be a positive integer, got ${hosts}`);
  const factor = hosts / s.fleet.totalHosts;
  const arrivals = s.workload.arrivals.map((a) => scaleOne(a, factor, s.name));
  return { ...s, workload: { ...s.workload, arrivals } };
}
