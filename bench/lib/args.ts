/** Command-line options of bench/run.ts. */
import { parseArgs } from 'node:util';

export interface BenchArgs {
  /** Run only suites whose name contains this. */
  readonly filter: string | undefined;
  /** Short runs: a smoke test, never written to RESULTS.md. */
  readonly quick: boolean;
  /** Print only; leave RESULTS.md alone. */
  readonly write: boolean;
  /** Also the long runs a suite leaves out by default (the sim suite's 50,000 hosts). */
  readonly full: boolean;
  readonly help: boolean;
}

export const USAGE = `usage: npm run bench -- [--filter <suite>] [--quick | --full] [--no-write]
  --filter <name>  run only suites whose name contains <name> (e.g. codec)
  --quick          short runs (smoke test); results are printed, not written
  --full           also the long runs (the sim suite's 50,000 hosts: ~8 min, ~3.6 GiB)
  --no-write       print results without updating bench/RESULTS.md`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      filter: { type: 'string', short: 'f' },
      quick: { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const quick = values.quick ?? false;
  const full = values.full ?? false;
  if (quick && full) throw new Error('--quick and --full contradict each other: choose one');
  return {
    filter: values.filter,
    quick,
    write: !quick && !values['no-write'],
    full,
    help: values.help ?? false,
  };
}
