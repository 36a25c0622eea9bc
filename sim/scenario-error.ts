/**
 * ScenarioError: every problem of a scenario with its place, one per line as
 * `file:line:col: path: message` (or `file: path: message` when it has no line, e.g. after
 * applyOverrides). Code `invalid`: fix the file or the flags.
 */

import { CellplaneError } from '../core/errors.ts';
import type { ScenarioProblem } from './scenario-types.ts';

/** A scenario that cannot run; `problems` has each one with its place. Code `invalid`. */
export class ScenarioError extends CellplaneError {
  readonly problems: readonly ScenarioProblem[];

  constructor(file: string, problems: readonly ScenarioProblem[], heading?: string) {
    const sorted = sortProblems(file, problems);
    const lines = sorted.map((p) => formatProblem(p.file ?? file, p));
    const head = heading ?? `${file}: ${sorted.length} problem${sorted.length === 1 ? '' : 's'}:`;
    super('invalid', [head, ...lines].join('\n'), { details: { file, problems: sorted } });
    this.name = 'ScenarioError';
    this.problems = sorted;
  }
}

export function formatProblem(file: string, p: ScenarioProblem): string {
  return p.line > 0
    ? `${file}:${p.line}:${p.column}: ${p.path}: ${p.message}`
    : `${file}: ${p.path}: ${p.message}`;
}

/** Problems without a line (summaries, flags) go after the placed ones of their file. */
const lineKey = (p: ScenarioProblem) => (p.line > 0 ? p.line : Number.MAX_SAFE_INTEGER);

function sortProblems(file: string, problems: readonly ScenarioProblem[]): ScenarioProblem[] {
  const rank = (p: ScenarioProblem) => ((p.file ?? file) === file ? 0 : 1);
  return [...problems].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.file ?? '').localeCompare(b.file ?? '') ||
      lineKey(a) - lineKey(b) ||
      a.column - b.column,
  );
}

/** Freezes objects and arrays all the way down. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
