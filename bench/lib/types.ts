/**
 * Benchmarks are data (STYLE.md §14): a suite is a list of cases, each a row (the workload
 * and its parameters) × a variant (the implementation compared). Only the function a case's
 * `prepare` returns is timed; building inputs and checking results happen in `prepare`.
 */

export interface BenchCase {
  /** Table row: the workload, e.g. `select (ENC)`. Cases sharing a row are compared. */
  readonly row: string;
  /** Table column: the implementation, e.g. `msgpackr`. */
  readonly variant: string;
  /** Parameters shown with the results (sizes, counts). */
  readonly params?: Readonly<Record<string, string | number>>;
  /**
   * Untimed: builds inputs, checks the op gives the right answer (throw if not), and
   * returns the op. The op's return value is kept so the engine cannot drop the work.
   */
  prepare(): () => unknown;
}

export interface Ratio {
  /** Ratio column header, e.g. `msgpackr/JSON`. */
  readonly label: string;
  /** ops/s of this variant … */
  readonly of: string;
  /** … divided by ops/s of this one (so > 1 means `of` is faster). */
  readonly to: string;
}

export interface Suite {
  /** Short id, matched by `--filter` and used to mark the suite's section in RESULTS.md. */
  readonly name: string;
  readonly title: string;
  /** Markdown paragraph saying what is measured and how to read it. */
  readonly about: string;
  /** Seed of any generated inputs (recorded with the results). */
  readonly seed?: string | number;
  readonly ratios?: readonly Ratio[];
  readonly cases: () => readonly BenchCase[];
  /** Extra markdown for the results (e.g. message sizes). */
  readonly notes?: () => string;
}

export function defineSuite(suite: Suite): Suite {
  if (!/^[a-z][a-z0-9-]*$/.test(suite.name)) throw new Error(`suite name "${suite.name}" must be kebab-case`);
  return Object.freeze(suite);
}
