/**
 * Placement's refusals as data. Every engine operation returns an `Outcome`: `{ ok: true, value }`
 * or `{ ok: false, error }` where `error` is a CellplaneError whose `code` gives the HTTP status
 * (invalid 400, notFound 404, conflict 409) and whose `details.placementCode` is the code of
 * Placement's error body (`placement.concurrent_update`, …). Losing a generation race is an
 * expected outcome, never a thrown exception (STYLE.md §6).
 */
import { CellplaneError, type ErrorCode } from '../errors.ts';

/** The codes of placement/errors.py; the API puts them in `errors[].code`. */
export const PlacementCodes = {
  undefined: 'placement.undefined_code',
  inventoryInUse: 'placement.inventory.inuse',
  concurrentUpdate: 'placement.concurrent_update',
  duplicateName: 'placement.duplicate_name',
  providerInUse: 'placement.resource_provider.inuse',
  cannotDeleteParent: 'placement.resource_provider.cannot_delete_parent',
  providerNotFound: 'placement.resource_provider.not_found',
  queryDuplicateKey: 'placement.query.duplicate_key',
  queryBadValue: 'placement.query.bad_value',
  queryMissingValue: 'placement.query.missing_value',
} as const;

export type PlacementCode = (typeof PlacementCodes)[keyof typeof PlacementCodes];

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: CellplaneError };

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function refuse<T = never>(
  code: ErrorCode,
  placementCode: PlacementCode,
  message: string,
  details: Record<string, unknown> = {},
): Outcome<T> {
  const retryable = placementCode === PlacementCodes.concurrentUpdate;
  return {
    ok: false,
    error: new CellplaneError(code, message, { details: { placementCode, ...details }, retryable }),
  };
}

/** A stale provider or consumer generation: re-read and retry. */
export function concurrentUpdate<T = never>(
  message: string,
  details: Record<string, unknown> = {},
): Outcome<T> {
  return refuse('conflict', PlacementCodes.concurrentUpdate, message, details);
}

export function invalid<T = never>(message: string, details: Record<string, unknown> = {}): Outcome<T> {
  return refuse('invalid', PlacementCodes.undefined, message, details);
}

export function notFound<T = never>(message: string, details: Record<string, unknown> = {}): Outcome<T> {
  return refuse('notFound', PlacementCodes.undefined, message, details);
}

/** Placement's code for an error, `placement.undefined_code` when it carries none. */
export function placementCodeOf(err: unknown): PlacementCode {
  const d = (err as { details?: { placementCode?: unknown } } | undefined)?.details;
  const c = d?.placementCode;
  const known = Object.values(PlacementCodes) as string[];
  return typeof c === 'string' && known.includes(c) ? (c as PlacementCode) : PlacementCodes.undefined;
}

/** Unwraps an outcome, throwing its error: for callers (and tests) that treat refusal as a bug. */
export function unwrap<T>(o: Outcome<T>): T {
  if (!o.ok) throw o.error;
  return o.value;
}
