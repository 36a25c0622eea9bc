/**
 * `cellplane sim <scenario.yaml>`: parse and validate the scenario (line-numbered errors), apply
 * the command-line overrides, run it in virtual time on the real control plane (sim/run.ts) with
 * a progress bar, then print the summary table, the run's hash, the memory per simulated host
 * and the simulated-time speed-up, and write the JSON/HTML reports. Exit status 1 when an
 * invariant was violated (the first offending event is printed), 2 for a bad scenario.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { runRealtime } from '../sim/realtime/run.ts';
import { renderHtmlReport } from '../sim/report/html.ts';
import { writeJsonReport } from '../sim/report/json.ts';
import { ProgressReporter } from '../sim/report/progress.ts';
import { renderSummaryTable, shouldColour } from '../sim/report/terminal.ts';
import { runSimulation, type SimProgress } from '../sim/run.ts';
import {
  applyOverrides,
  parseDuration,
  parseScenario,
  type Scenario,
  ScenarioError,
  scenarioSummary,
} from '../sim/scenario.ts';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description(
      'run a fleet simulation scenario on the real control plane, in virtual time or in real time on NATS/etcd/Redis (see sim/SCENARIOS.md)',
    )
    .argument('<scenario>', 'scenario file (YAML)')
    .option('--virtual', "virtual clock, embedded adapters, deterministic (overrides the scenario's mode)")
    .option(
      '--real',
      "real time, the control plane as processes on NATS, etcd and Redis (overrides the scenario's mode); starts its own servers unless --nats/--etcd/--redis are given",
    )
    .option('--nats <url>', 'real time: use this NATS (with JetStream) instead of starting one')
    .option('--etcd <url>', 'real time: use this etcd instead of starting one')
    .option('--redis <url>', 'real time: use this Redis instead of starting one')
    .option('--verbose', "real time: copy the role processes' stderr here")
    .option(
      '--hosts <n>',
      'scale the fleet to n hosts in all (profile proportions kept)',
      positiveInt('--hosts'),
    )
    .option('--cells <n>', 'number of cells', positiveInt('--cells'))
    .option('--seed <n>', 'seed (overrides the scenario)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--seed must be an integer >= 0, got "${v}"`);
      return n;
    })
    .option('--duration <d>', 'simulated duration, e.g. 90s, 10m (overrides the scenario)')
    .option('--json <file>', 'write the JSON report here (default: as the scenario says)')
    .option('--html <file>', 'write the HTML report here (default: as the scenario says)')
    .option('--quiet', 'no progress bar, no log lines')
    .action(async (file: string, o) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new Error(`cannot read scenario ${file}: ${(err as Error).message}`);
      }
      let scenario: Scenario;
      try {
        // Trace files are resolved against the scenario's directory by the parser.
        scenario = parseScenario(text, { file });
        let durationMs: number | undefined;
        if (o.duration !== undefined) {
          const d = parseDuration(o.duration);
          if (!d.ok) throw new Error(`--duration ${d.message}`);
          durationMs = d.value;
        }
        scenario = applyOverrides(scenario, {
          ...(o.hosts ? { hosts: o.hosts } : {}),
          ...(o.cells ? { cells: o.cells } : {}),
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
          ...(durationMs !== undefined ? { durationMs } : {}),
        });
      } catch (err) {
        if (err instanceof ScenarioError) {
          console.error(err.message);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
      if (o.virtual && o.real) throw new Error('--virtual and --real exclude each other');
      const given = [o.nats, o.etcd, o.redis].filter((x) => x !== undefined).length;
      if (given !== 0 && given !== 3)
        throw new Error(
          'give all three of --nats, --etcd and --redis, or none (the simulator then starts its own)',
        );
      const mode = o.virtual ? 'virtual' : o.real || given === 3 ? 'real' : scenario.run.mode;
      if (mode !== scenario.run.mode) scenario = { ...scenario, run: { ...scenario.run, mode } };
      const err = process.stderr;
      if (!o.quiet) err.write(`${scenarioSummary(scenario)}\n`);
      const progress = o.quiet
        ? undefined
        : new ProgressReporter({ durationMs: scenario.run.durationMs, stream: err });
      const runOpts = {
        ...(progress ? { onProgress: (p: SimProgress) => progress.update(p) } : {}),
        log: (line: string) => {
          if (!o.quiet) err.write(`  ${line}\n`);
        },
      };
      const result =
        mode === 'real'
          ? await runRealtime(scenario, {
              ...runOpts,
              verbose: Boolean(o.verbose),
              ...(given === 3 ? { servers: { nats: o.nats, etcd: o.etcd, redis: o.redis } } : {}),
            })
          : await runSimulation(scenario, runOpts);
      progress?.stop({ simTimeMs: result.simMs, boots: result.active, failures: result.failed });
      console.log(renderSummaryTable(result.report, { color: shouldColour(process.stdout) }));
      const perHost = result.memory.heapAfterFleet / Math.max(1, result.hosts);
      if (mode === 'real') {
        const r = result.report.scenario;
        console.log(
          `memory: RSS of the simulator and its role processes ${mib(result.memory.rssAfterFleet)} MiB with the fleet up, peak ${mib(result.memory.rssPeak)} MiB (${Math.round(perHost / 1024)} KiB per simulated host, control plane included)`,
        );
        console.log(
          `speed: real time, ${(result.simMs / 1000).toFixed(0)} s run + start and drain = ${(result.wallMs / 1000).toFixed(1)} s wall; ${Math.round((result.active / result.simMs) * 1000)} boots/s during the run; ${r.reconciled} outcome(s) read back from the stores`,
        );
        console.log('hash: none (real time is not reproducible; use --virtual for a replayable run)');
      } else {
        console.log(
          `memory: RSS ${mib(result.memory.rssAfterFleet)} MiB with the fleet up, peak ${mib(result.memory.rssPeak)} MiB; heap ${Math.round(perHost)} B per simulated host (control plane included)`,
        );
        console.log(
          `speed: ${(result.simMs / 1000).toFixed(0)} s simulated in ${(result.wallMs / 1000).toFixed(1)} s wall (${(result.simMs / result.wallMs).toFixed(1)}× real time); ${Math.round((result.active / result.wallMs) * 1000)} boots/s of wall time`,
        );
        console.log(`hash: ${result.hash}`);
      }
      const json = o.json ?? scenario.run.reports.json;
      const html = o.html ?? scenario.run.reports.html;
      if (json && json !== '-') {
        await writeJsonReport(json, result.report);
        console.log(`JSON report: ${json}`);
      }
      if (html && html !== '-') {
        await writeFile(html, renderHtmlReport(result.report), 'utf8');
        console.log(`HTML report: ${html}`);
      }
      if (result.violations.length > 0) {
        const v = result.violations[0]!;
        console.error(
          `INVARIANT VIOLATED (${result.violations.length} in all); first at t=${(v.atMs / 1000).toFixed(3)} s: ${v.invariant}: ${v.message}`,
        );
        process.exitCode = 1;
      }
    });
}

function mib(n: number): number {
  return Math.round(n / 1024 / 1024);
}
