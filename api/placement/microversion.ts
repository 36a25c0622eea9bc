/**
 * Placement microversions (OpenStack-API-Version: placement X.Y): 1.0 to 1.39, like Placement 8.0.
 * An absent header means the minimum; `latest` the maximum. A malformed value is 400, one out of
 * range 406 (both without version headers, as the real service answers).
 */
import { PlacementHttpError } from './errors.ts';

export const MIN_MINOR = 0;
export const MAX_MINOR = 39;
export const SERVICE_TYPE = 'placement';
export const VERSION_HEADER = 'openstack-api-version';

/** A requested microversion 1.minor (Placement has no major other than 1). */
export class Microversion {
  constructor(readonly minor: number) {}

  /** True when this version is at least 1.`min` (and at most 1.`max` when given). */
  atLeast(min: number, max = Number.POSITIVE_INFINITY): boolean {
    return this.minor >= min && this.minor <= max;
  }

  toString(): string {
    return `1.${this.minor}`;
  }
}

export const MIN_VERSION = new Microversion(MIN_MINOR);
export const MAX_VERSION = new Microversion(MAX_MINOR);

/** The `placement` entry of an OpenStack-API-Version header (comma separated, per service). */
function placementEntry(header: string): string | undefined {
  for (const part of header.split(',')) {
    const [service, ...rest] = part.trim().split(/\s+/);
    if (service?.toLowerCase() === SERVICE_TYPE) return rest.join(' ');
  }
  return undefined;
}

/** Parses the header; throws the 400/406 PlacementHttpError Placement would answer. */
export function negotiate(header: string | string[] | undefined): Microversion {
  const raw = Array.isArray(header) ? header.join(',') : header;
  const value = raw === undefined ? undefined : placementEntry(raw);
  if (value === undefined || value === '') return MIN_VERSION;
  if (value.toLowerCase() === 'latest') return MAX_VERSION;
  const m = /^(\d+)\.(\d+)$/.exec(value);
  if (!m) {
    throw new PlacementHttpError(400, `Invalid microversion: invalid version string: ${value}`, {
      versionError: true,
    });
  }
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major !== 1 || minor < MIN_MINOR || minor > MAX_MINOR) {
    throw new PlacementHttpError(406, `Invalid microversion: Unacceptable version header: ${value}`, {
      versionError: true,
    });
  }
  return new Microversion(minor);
}

/** Routes that appear at a microversion answer 404 below it (Placement's version_handler). */
export function requireVersion(v: Microversion, min: number, status: 404 | 405 = 404): void {
  if (!v.atLeast(min)) throw new PlacementHttpError(status, '');
}
