/**
 * Child process of the sim suite: ONE simulator run in virtual mode, alone in its process so that
 * its peak RSS is its own.
 *
 *   node --import tsx bench/suites/sim-run.ts <scenario.yaml> <hosts> [<duration, e.g. 30m>]
 *
 * Parses the scenario (line-numbered errors), scales its arrivals with the fleet (sim-scale.ts:
 * arrivals per host as in the file), applies `--hosts` (and `--duration` when given) as
 * `cellplane sim` does, runs sim/run.ts's runSimulation quietly and prints one JSON line
 * (SimRunResult). Peak RSS is the kernel's high-water mark (getrusage maxrss), not a sample. The
 * machine is shared: the 1-minute load average is sampled every LOAD_SAMPLE_MS of wall time (an
 * unref'd real timer, outside the simulation's virtual clock) and its maximum reported.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { runSimulation } from '../../sim/run.ts';
import { applyOverrides, expectedRequests, parseDuration, parseScenario } from '../../sim/scenario.ts';
import { parsePositive } from './cells-process.ts';
import type { SimRunResult } from './sim-results.ts';
import { scaleArrivals } from './sim-scale.ts';

const LOAD_SAMPLE_MS = 5_000;

async function main(): Promise<void> {
  const [file, hostsArg, durationArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: sim-run.ts <scenario.yaml> <hosts> [<duration>]');
  const hosts = parsePositive('hosts', hostsArg);
  let durationMs: number | undefined;
  if (durationArg !== undefined) {
    const d = parseDuration(durationArg);
    if (!d.ok) throw new Error(`duration ${d.message}`);
    durationMs = d.value;
  }
  const parsed = parseScenario(readFileSync(file, 'utf8'), {
    file,
  });
  const scenario = applyOverrides(scaleArrivals(parsed, hosts), {
    hosts,
    ...(durationMs !== undefined ? { durationMs } : {}),
  });
  const run = { ...scenario.run, mode: 'virtual' as const };
  const arrivals = scenario.workload.arrivals.reduce(
    (n, a) => n + expectedRequests(a, scenario.run.durationMs),
    0,
  );
  let loadMax = loadavg()[0]!;
  const sampler = setInterval(() => {
    loadMax = Math.max(loadMax, loadavg()[0]!);
  }, LOAD_SAMPLE_MS).unref();
  const r = await runSimulation({ ...scenario, run }).finally(() => clearInterval(sampler));
  const result: SimRunResult = {
    scenario: scenario.name,
    hosts: r.hosts,
    cells: scenario.fleet.cells.length,
    durationMs: scenario.run.durationMs,
    expectedArrivals: Math.round(arrivals),
    submitted: r.submitted,
    active: r.active,
    failed: r.failed,
    wallMs: r.wallMs,
    simMs: r.simMs,
    rssAfterFleet: r.memory.rssAfterFleet,
    heapAfterFleet: r.memory.heapAfterFleet,
    maxRss: process.resourceUsage().maxRSS * 1024,
    violations: r.violations.length,
    firstViolation: r.violations[0] ? `${r.violations[0].invariant}: ${r.violations[0].message}` : null,
    hash: r.hash,
    loadMax: Math.round(Math.max(loadMax, loadavg()[0]!) * 100) / 100,
  };
  console.log(JSON.stringify(result));
}

await main();
