/**
 * Sim suite: macro runs of the simulator in virtual mode (sim/run.ts) on
 * sim/scenarios/boot-storm-50k.yaml scaled to 1,000 and 10,000 hosts — and 50,000 (the file as
 * it is) only with `--full`, since that run takes ~8 minutes and ~3.6 GiB. Arrivals are scaled
 * with the hosts (sim-scale.ts), the duration is the file's. Each run is a child process of its
 * own (sim-run.ts: one JSON line), so peak RSS is per run. The harness table times what runs
 * before each simulation in this process: parsing the scenario and scaling it (cheap; the runs are
 * in the notes). `--quick` runs 1,000 hosts for 12 simulated minutes only (the
 * background load starts at 10 min).
 */
import { readFileSync } from 'node:fs';
import { applyOverrides, parseScenario } from '../../sim/scenario.ts';
import { type BenchCase, defineSuite } from '../lib/types.ts';
import { runChild } from './child-run.ts';
import { PEERS, REAL_TIME_NOTE, type SimRow, type SimRunResult, simTable } from './sim-results.ts';
import { scaleArrivals } from './sim-scale.ts';

const QUICK = process.argv.includes('--quick');
const FULL = process.argv.includes('--full');
export const SCENARIO = 'sim/scenarios/boot-storm-50k.yaml';
export const SIM_SIZES = QUICK ? [1000] : FULL ? [1000, 10_000, 50_000] : [1000, 10_000];
/** Simulated duration override (`--quick` only); undefined = the scenario's own. */
const DURATION = QUICK ? '12m' : undefined;
const CHILD_TIMEOUT_MS = 30 * 60_000;

const rows: SimRow[] = [];

function simCase(hosts: number): BenchCase {
  return {
    row: `parse + scale ${SCENARIO.split('/').pop()} to ${hosts.toLocaleString('en-US')} hosts`,
    variant: 'in process',
    params: { hosts },
    prepare() {
      const args = [SCENARIO, hosts, ...(DURATION ? [DURATION] : [])];
      rows.push({
        hosts,
        outcome: runChild<SimRunResult>('bench/suites/sim-run.ts', args, { timeoutMs: CHILD_TIMEOUT_MS }),
      });
      const text = readFileSync(SCENARIO, 'utf8');
      const op = () =>
        applyOverrides(scaleArrivals(parseScenario(text, { file: SCENARIO }), hosts), { hosts });
      const s = op();
      if (s.fleet.totalHosts !== hosts)
        throw new Error(`sim: scaled to ${s.fleet.totalHosts} hosts, not ${hosts}`);
      return op;
    },
  };
}

function notes(): string {
  const done = rows.filter((r) => r.outcome.ok);
  const first = done[0]?.outcome;
  const burst =
    first?.ok === true
      ? ` (e.g. ${first.value.expectedArrivals.toLocaleString('en-US')} requests expected at ${first.value.hosts.toLocaleString('en-US')} hosts)`
      : '';
  return [
    `**Simulator runs, virtual mode** (\`${SCENARIO}\`: 10 cells; the storm's 200,000 boots over 5`,
    'minutes and the background Poisson rate scaled by hosts ÷ 50,000, so arrivals per host and the fleet',
    `fill are as in the file${burst}; duration ${DURATION ?? "the file's 30 min"} plus the drain; faults as in the file:`,
    '0.1% of hosts crash at 3 min for 5 min, 0.5% of spawns fail). One child process per run:',
    '',
    simTable(rows),
    '',
    '`wall s`: the whole run (fleet up, the simulated duration, the drain, the final checks); `boots/s of',
    "wall`: ACTIVE servers ÷ that; `sim speed-up`: simulated ÷ wall time; `peak RSS`: the child's",
    'getrusage high-water mark; `heap B per host`: heap used with the fleet up ÷ hosts (control plane',
    'included); `violations`: the invariant checker (runs during and after the run); `hash`: decision',
    'log + metrics (same seed and scenario → same hash); `max load`: the highest 1-minute load average',
    'sampled every 5 s during the run (2 cores: above 2, the run shared the CPUs with other work and its',
    `wall time is inflated). The 50,000-host run is the file unscaled:`,
    '`npm run bench -- --filter sim --full` (~8 min, ~3.6 GiB).',
    '',
    REAL_TIME_NOTE,
    '',
    `Commands (run by the suite): ${rows.map((r) => `\`${r.outcome.cmd}\``).join(', ')}.`,
    '',
    PEERS,
  ].join('\n');
}

export const simSuite = defineSuite({
  name: 'sim',
  title: 'Simulator: the boot storm at 1k / 10k (/ 50k) hosts',
  about:
    'Macro runs of `cellplane sim` in virtual mode: the real cell router, conductors, scheduler ' +
    'shards, provider-tree actors and host agents (fake hypervisors, 2–8 s simulated spawns) on the ' +
    'embedded adapters and a virtual clock, one process per run.',
  cases: () => SIM_SIZES.map(simCase),
  notes,
});
