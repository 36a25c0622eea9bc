/** Argument checks shared by both Bus adapters (the NATS adapter imports them too). */
import { CellplaneError } from '../../errors.ts';
import { subjectProblem } from '../../ports/bus.ts';

/** Queue, stream and queue-group names: dot-separated tokens of letters, digits, `_` and `-`. */
export const NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Throws `invalid` for a bad subject. */
export function checkSubject(subject: string, allowWildcards: boolean): void {
  const problem = subjectProblem(subject, allowWildcards);
  if (problem) throw new CellplaneError('invalid', problem);
}

/** Throws `invalid` for a bad queue, stream or queue-group name. */
export function checkName(name: string, what: string): void {
  if (!NAME.test(name))
    throw new CellplaneError('invalid', `${what} name "${name}" must be tokens of letters, digits, _ and -`);
}

/** Throws `invalid` unless `n` is an integer >= min. */
export function checkInt(n: number, min: number, what: string): void {
  if (!Number.isInteger(n) || n < min)
    throw new CellplaneError('invalid', `${what} must be an integer >= ${min}, got ${n}`);
}
