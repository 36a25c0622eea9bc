/** Typed argument parsing for stage factories: unknown keys and wrong types are `invalid`. */

import { CellplaneError } from '../errors.ts';

export type RawArgs = Readonly<Record<string, unknown>>;

function invalid(stage: string, message: string): CellplaneError {
  return new CellplaneError('invalid', `stage ${stage}: ${message}`, { details: { stage } });
}

/** Throws when `raw` holds a key not in `allowed`. */
export function onlyKeys(stage: string, raw: RawArgs, allowed: readonly string[]): void {
  for (const k of Object.keys(raw)) {
    if (!allowed.includes(k)) {
      const known = allowed.length ? allowed.join(', ') : 'none';
      throw invalid(stage, `unknown argument '${k}' (known: ${known})`);
    }
  }
}

export function numberArg(stage: string, raw: RawArgs, key: string, fallback: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(stage, `${key} must be a finite number`);
  return v;
}

/** Only `multiplier` (the common weigher argument). */
export function multiplierArgs(stage: string, fallback: number) {
  return (raw: RawArgs): { multiplier: number } => {
    onlyKeys(stage, raw, ['multiplier']);
    return { multiplier: numberArg(stage, raw, 'multiplier', fallback) };
  };
}

/** No arguments at all. */
export function noArgs(stage: string) {
  return (raw: RawArgs): Record<string, never> => {
    onlyKeys(stage, raw, []);
    return {};
  };
}

export function argError(stage: string, message: string): CellplaneError {
  return invalid(stage, message);
}
