/**
 * Actor addresses (`kind/id`) and their bus subjects: `cp.<scope>.<kind>.<encoded id>`.
 *
 * A scope is where a group of actors lives (a cell, a partition): one host process owns a
 * (scope, kind) pair and subscribes once to `cp.<scope>.<kind>.*`. Kinds and scopes are
 * single subject tokens. Ids are free text (UUIDs, host names with dots, `rack/3`), so they
 * are encoded into one token reversibly: letters, digits and `-` stay as they are; every
 * other UTF-8 byte, `_` included, becomes `_` + two lowercase hex digits (`a.b` → `a_2eb`).
 */
import { CellplaneError } from '../../core/errors.ts';

export interface ActorAddress {
  readonly kind: string;
  readonly id: string;
}

/** First token of every actor subject. */
export const SUBJECT_ROOT = 'cp';
/** Longest id accepted, in UTF-8 bytes (an encoded id is at most three times as long). */
export const MAX_ID_BYTES = 256;

const KIND = /^[a-z][a-z0-9-]*$/;
const SCOPE = /^[A-Za-z0-9-]+$/;
const PLAIN = /[A-Za-z0-9-]/;
const ENCODED = /^(?:[A-Za-z0-9-]|_[0-9a-f]{2})+$/;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function checkKind(kind: string): void {
  if (!KIND.test(kind))
    throw new CellplaneError('invalid', `actor kind "${kind}" must be lowercase letters, digits and -`);
}

export function checkScope(scope: string): void {
  if (!SCOPE.test(scope))
    throw new CellplaneError('invalid', `actor scope "${scope}" must be letters, digits and - (one token)`);
}

/** Encodes an id into one subject token (see the header). Throws `invalid` for "" or a too-long id. */
export function encodeId(id: string): string {
  const raw = utf8.encode(id);
  if (raw.length === 0 || raw.length > MAX_ID_BYTES)
    throw new CellplaneError('invalid', `actor id must be 1..${MAX_ID_BYTES} UTF-8 bytes, got ${raw.length}`);
  let out = '';
  for (const b of raw) {
    const ch = String.fromCharCode(b);
    out += b < 0x80 && PLAIN.test(ch) ? ch : `_${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Inverse of encodeId. Throws `invalid` for any token encodeId cannot have produced. */
export function decodeId(token: string): string {
  if (!ENCODED.test(token)) throw new CellplaneError('invalid', `"${token}" is not an encoded actor id`);
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '_') {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  let id: string;
  try {
    id = strictUtf8.decode(new Uint8Array(bytes));
  } catch (err) {
    throw new CellplaneError('invalid', `"${token}" does not decode to UTF-8`, { cause: err });
  }
  // One token per id: reject escapes of characters that are kept plain (`_61` for `a`).
  if (encodeId(id) !== token) throw new CellplaneError('invalid', `"${token}" is not a canonical actor id`);
  return id;
}

export function actorSubject(scope: string, address: ActorAddress): string {
  checkScope(scope);
  checkKind(address.kind);
  return `${SUBJECT_ROOT}.${scope}.${address.kind}.${encodeId(address.id)}`;
}

/** The one wildcard subscription a host makes for a kind in a scope. */
export function kindWildcard(scope: string, kind: string): string {
  checkScope(scope);
  checkKind(kind);
  return `${SUBJECT_ROOT}.${scope}.${kind}.*`;
}

/** Parses `cp.<scope>.<kind>.<encoded id>`. Throws `invalid` for anything else. */
export function parseSubject(subject: string): { scope: string; address: ActorAddress } {
  const t = subject.split('.');
  if (t.length !== 4 || t[0] !== SUBJECT_ROOT)
    throw new CellplaneError('invalid', `"${subject}" is not an actor subject`);
  return { scope: t[1]!, address: { kind: t[2]!, id: decodeId(t[3]!) } };
}

/** `kind/id`, for logs and errors. */
export function formatAddress(a: ActorAddress): string {
  return `${a.kind}/${a.id}`;
}

/** Parses `kind/id` (the id may itself contain `/`). */
export function parseAddress(text: string): ActorAddress {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1)
    throw new CellplaneError('invalid', `actor address "${text}" must be kind/id`);
  const address = { kind: text.slice(0, slash), id: text.slice(slash + 1) };
  checkKind(address.kind);
  return address;
}
