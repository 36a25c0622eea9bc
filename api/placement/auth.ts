/**
 * Authentication for the Placement API: a static admin token (`X-Auth-Token`, compared in
 * constant time) or none at all. The version document `/` is always open, as in Placement.
 * Real RBAC (Keystone tokens, policies) comes later.
 */
import { timingSafeEqual } from 'node:crypto';
import { CellplaneError } from '../../core/errors.ts';
import { PlacementHttpError } from './errors.ts';

export type AuthConfig = { readonly mode: 'token'; readonly token: string } | { readonly mode: 'noauth' };

export function checkAuthConfig(auth: AuthConfig): AuthConfig {
  if (auth.mode === 'token' && (typeof auth.token !== 'string' || auth.token.length === 0))
    throw new CellplaneError('invalid', 'auth mode "token" needs a non-empty token');
  if (auth.mode !== 'token' && auth.mode !== 'noauth')
    throw new CellplaneError('invalid', `auth mode must be "token" or "noauth", got ${String(auth)}`);
  return Object.freeze({ ...auth });
}

/** Paths answered without a token. */
export function isOpenPath(path: string): boolean {
  return path === '/' || path === '';
}

/** Throws Placement's 401 unless the request carries the token. */
export function authenticate(auth: AuthConfig, header: string | string[] | undefined): void {
  if (auth.mode === 'noauth') return;
  const given = Buffer.from(Array.isArray(header) ? (header[0] ?? '') : (header ?? ''));
  const want = Buffer.from(auth.token);
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    throw new PlacementHttpError(401, 'The request you have made requires authentication.');
  }
}
