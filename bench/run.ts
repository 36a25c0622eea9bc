/**
 * Benchmark entry: `npm run bench -- [--filter <suite>] [--quick] [--no-write]`.
 * Runs each selected suite case by case, prints its section and (full runs only) replaces
 * that suite's section in bench/RESULTS.md.
 */
import { parseBenchArgs, USAGE } from './lib/args.ts';
import { machineInfo } from './lib/machine.ts';
import { renderSection, writeResults } from './lib/report.ts';
import { type CaseResult, FULL, QUICK, runCase } from './lib/runner.ts';
import { formatOps } from './lib/stats.ts';
import { SUITES } from './suites/index.ts';

const RESULTS_FILE = new URL('./RESULTS.md', import.meta.url);
/** Dependencies whose versions are recorded with the results. */
const RECORDED_PACKAGES = ['msgpackr', 'benchmark'];

function main(): number {
  let args: ReturnType<typeof parseBenchArgs>;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const suites = SUITES.filter((s) => !args.filter || s.name.includes(args.filter));
  if (suites.length === 0) {
    console.error(`no suite matches "${args.filter}"; suites: ${SUITES.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const limits = args.quick ? QUICK : FULL;
  const flags = [
    ...(args.filter ? ['--filter', args.filter] : []),
    ...(args.quick ? ['--quick'] : []),
    ...(args.full ? ['--full'] : []),
  ];
  const command = flags.length > 0 ? `npm run bench -- ${flags.join(' ')}` : 'npm run bench';
  for (const suite of suites) {
    const machine = machineInfo(RECORDED_PACKAGES);
    const cases = suite.cases();
    console.log(
      `# ${suite.name}: ${cases.length} cases${args.quick ? ' (quick)' : ''}, load ${machine.loadAvg1m}`,
    );
    const results: CaseResult[] = [];
    for (const c of cases) {
      const r = runCase(c, limits);
      console.log(
        `  ${r.row.padEnd(36)} ${r.variant.padEnd(12)} ${formatOps(r.hz).padStart(12)} ops/s ±${r.rme.toFixed(1)}%`,
      );
      results.push(r);
    }
    const section = renderSection(suite, results, machine, command);
    console.log(`\n${section}\n`);
    if (args.write) {
      writeResults(RESULTS_FILE, suite.name, section);
      console.log(`wrote the ${suite.name} section of bench/RESULTS.md`);
    }
  }
  return 0;
}

process.exitCode = main();
