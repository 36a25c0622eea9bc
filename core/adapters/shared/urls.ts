/**
 * Server lists of the real adapters. A cluster's members are given as a list or as one string of
 * comma-separated URLs (the form environment variables and flags carry, e.g.
 * `CELLPLANE_ETCD_URL=http://127.0.0.1:2379,http://127.0.0.1:2381`); the clients connect to all
 * of them and fail over between them.
 */
import { CellplaneError } from '../../errors.ts';

/** The members named by `value`, in order; `invalid` for an empty list or an empty entry. */
export function serverList(value: string | readonly string[], what: string): string[] {
  const parts = (typeof value === 'string' ? [value] : [...value]).flatMap((v) => v.split(','));
  const out = parts.map((p) => p.trim());
  if (out.length === 0 || out.some((p) => p === ''))
    throw new CellplaneError(
      'invalid',
      `${what}: expected one URL or several separated by commas, got ${JSON.stringify(value)}`,
    );
  return out;
}
