/** Command-line options of bench/run.ts. */
import { parseArgs } from 'node:util';

export interface BenchArgs {
  /** Run only suites whose name contains this. */
  readonly filter: string | undefined;
  /** Short runs: a smoke test, never written to RESULTS.md. */
  readonly quick: boolean;
  /** Print only; leave RESULTS.md alone. */
  readonly write: boolean;
  readonly help: boolean;
}

export const USAGE = `usage: npm run bench -- [--filter <suite>] [--quick] [--no-write]
  --filter <name>  run only suites whose name contains <name> (e.g. codec)
  --quick          short runs (smoke test); results are printed, not written
  --no-write       print results without updating bench/RESULTS.md`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      filter: { type: 'string', short: 'f' },
      quick: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const quick = values.quick ?? false;
  return {
    filter: values.filter,
    quick,
    write: !quick && !values['no-write'],
    help: values.help ?? false,
  };
}
