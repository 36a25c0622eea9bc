/**
 * Identifiers of Placement's model. Providers, consumers and aggregates are UUIDs; Placement
 * normalises a consumer UUID with `str(uuid.UUID(x))`, so we accept any case, with or without
 * dashes, and always store and return the canonical lowercase 8-4-4-4-12 form. Project and user
 * ids are opaque strings of 1..255 characters (Keystone ids, not necessarily UUIDs).
 */
import { CellplaneError } from '../errors.ts';

/** A canonical lowercase dashed UUID. Obtain one only through `parseUuid`/`tryParseUuid`. */
export type Uuid = string & { readonly __brand: 'Uuid' };

/** Longest project or user id Placement accepts. */
export const MAX_EXTERNAL_ID_LENGTH = 255;

const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DASHED_ANY_CASE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const PLAIN_HEX = /^[0-9a-fA-F]{32}$/;

/** The canonical form of `s`, or undefined when `s` is not a UUID. */
export function tryParseUuid(s: unknown): Uuid | undefined {
  if (typeof s !== 'string') return undefined;
  if (CANONICAL.test(s)) return s as Uuid;
  if (DASHED_ANY_CASE.test(s)) return s.toLowerCase() as Uuid;
  if (PLAIN_HEX.test(s)) {
    const h = s.toLowerCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` as Uuid;
  }
  return undefined;
}

/** Like `tryParseUuid` but throws `CellplaneError('invalid')` naming `path`. */
export function parseUuid(s: unknown, path = 'uuid'): Uuid {
  const u = tryParseUuid(s);
  if (u === undefined) {
    throw new CellplaneError('invalid', `${path} must be a UUID, got ${JSON.stringify(s)}`, {
      details: { path, expected: 'a UUID' },
    });
  }
  return u;
}

export function isUuid(s: unknown): s is Uuid {
  return typeof s === 'string' && CANONICAL.test(s);
}

/** True for a project/user id Placement would accept: a string of 1..255 characters. */
export function isExternalId(s: unknown): s is string {
  return typeof s === 'string' && s.length >= 1 && s.length <= MAX_EXTERNAL_ID_LENGTH;
}
