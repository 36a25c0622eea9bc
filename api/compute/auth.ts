/**
 * Authentication and request identity for the Compute API. Like the Placement API: a static
 * admin token (`X-Auth-Token`, compared in constant time) or none. Every authenticated caller is
 * an admin. The project and user a request acts for come from `X-Project-Id`/`X-User-Id` (the
 * headers keystonemiddleware hands to Nova), defaulting to the configured ones. Keystone tokens
 * and policies come later. The version documents (`/`, `/v2.1`) are open, as in Nova.
 */
import { timingSafeEqual } from 'node:crypto';
import { CellplaneError } from '../../core/errors.ts';
import { ComputeHttpError } from './errors.ts';

export type AuthConfig = { readonly mode: 'token'; readonly token: string } | { readonly mode: 'noauth' };

export interface Identity {
  readonly projectId: string;
  readonly userId: string;
}

/** Longest project or user id accepted from a header (Keystone ids are at most 64). */
export const MAX_IDENTITY_LENGTH = 255;

export function checkAuthConfig(auth: AuthConfig): AuthConfig {
  if (auth?.mode === 'token' && (typeof auth.token !== 'string' || auth.token.length === 0))
    throw new CellplaneError('invalid', 'auth mode "token" needs a non-empty token');
  if (auth?.mode !== 'token' && auth?.mode !== 'noauth')
    throw new CellplaneError('invalid', `auth mode must be "token" or "noauth", got ${JSON.stringify(auth)}`);
  return Object.freeze({ ...auth });
}

/** Paths answered without a token: the version documents. */
export function isOpenPath(path: string): boolean {
  return path === '/' || path === '' || path === '/v2.1' || path === '/v2.1/';
}

/** Throws Nova's 401 unless the request carries the token. */
export function authenticate(auth: AuthConfig, header: string | string[] | undefined): void {
  if (auth.mode === 'noauth') return;
  const given = Buffer.from(Array.isArray(header) ? (header[0] ?? '') : (header ?? ''));
  const want = Buffer.from(auth.token);
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    throw new ComputeHttpError(401, 'The request you have made requires authentication.');
  }
}

function headerId(v: string | string[] | undefined, name: string, fallback: string): string {
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (s === undefined || s === '') return fallback;
  if (s.length > MAX_IDENTITY_LENGTH || [...s].some((c) => c.charCodeAt(0) < 0x20))
    throw new ComputeHttpError(400, `${name} must be 1..${MAX_IDENTITY_LENGTH} printable characters`);
  return s;
}

export function identityOf(
  headers: Record<string, string | string[] | undefined>,
  fallback: Identity,
): Identity {
  return {
    projectId: headerId(headers['x-project-id'], 'X-Project-Id', fallback.projectId),
    userId: headerId(headers['x-user-id'], 'X-User-Id', fallback.userId),
  };
}
