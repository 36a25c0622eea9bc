/**
 * Compute microversions, negotiated like nova/api/openstack/wsgi.py: the `OpenStack-API-Version:
 * compute 2.X` header, else the legacy `X-OpenStack-Nova-API-Version: 2.X`. Absent = 2.1,
 * `latest` = the maximum. A malformed value is 400, one out of range 406 (both answered without
 * version headers).
 *
 * We claim 2.1–2.79: every change up to 2.79 to the resources served here is implemented
 * (2.13 server-group project/user, 2.15 soft policies, 2.36 no network quotas, 2.41 aggregate
 * uuid, 2.55 flavor description, 2.57 no injected-file quotas, 2.61 extra_specs in flavors,
 * 2.64 server-group policy/rules, 2.75 strict query strings and `swap: 0`). 2.86 (extra-spec
 * validation) is not, so we stop below it.
 */
import { ComputeHttpError } from './errors.ts';

export const MIN_MINOR = 1;
export const MAX_MINOR = 79;
export const SERVICE_TYPE = 'compute';
export const VERSION_HEADER = 'openstack-api-version';
export const LEGACY_VERSION_HEADER = 'x-openstack-nova-api-version';

/** A requested microversion 2.minor. */
export class ApiVersion {
  constructor(readonly minor: number) {}

  /** True when this version is at least 2.`min` (and at most 2.`max` when given). */
  atLeast(min: number, max = Number.POSITIVE_INFINITY): boolean {
    return this.minor >= min && this.minor <= max;
  }

  toString(): string {
    return `2.${this.minor}`;
  }
}

export const MIN_VERSION = new ApiVersion(MIN_MINOR);
export const MAX_VERSION = new ApiVersion(MAX_MINOR);

type Header = string | string[] | undefined;
const flat = (h: Header) => (Array.isArray(h) ? h.join(',') : h);

/** The `compute` entry of an OpenStack-API-Version header, or undefined. */
function computeEntry(header: string): string | undefined {
  for (const part of header.split(',')) {
    const [service, ...rest] = part.trim().split(/\s+/);
    if (service?.toLowerCase() === SERVICE_TYPE) return rest.join(' ');
  }
  return undefined;
}

/** The requested version string (new header first, then the legacy one), or undefined. */
function requested(headers: Record<string, Header>): string | undefined {
  const modern = flat(headers[VERSION_HEADER]);
  const entry = modern === undefined ? undefined : computeEntry(modern);
  if (entry !== undefined) return entry;
  return flat(headers[LEGACY_VERSION_HEADER])?.trim();
}

/** Parses the request's version headers; throws Nova's 400/406. */
export function negotiate(headers: Record<string, Header>): ApiVersion {
  const value = requested(headers);
  if (value === undefined || value === '') return MIN_VERSION;
  if (value.toLowerCase() === 'latest') return MAX_VERSION;
  const m = /^([1-9]\d*)\.(0|[1-9]\d*)$/.exec(value);
  if (!m) {
    throw new ComputeHttpError(
      400,
      `API Version String ${value} is of invalid format. Must be of format MajorNum.MinorNum.`,
      { versionError: true },
    );
  }
  const minor = Number(m[2]);
  if (Number(m[1]) !== 2 || minor < MIN_MINOR || minor > MAX_MINOR) {
    throw new ComputeHttpError(
      406,
      `Version ${value} is not supported by the API. Minimum is ${MIN_VERSION} and maximum is ${MAX_VERSION}.`,
      { versionError: true },
    );
  }
  return new ApiVersion(minor);
}

/** A method that appears at a microversion answers 404 below it (Nova's VersionNotFoundForAPIMethod). */
export function requireVersion(v: ApiVersion, min: number): void {
  if (!v.atLeast(min)) throw new ComputeHttpError(404, 'The resource could not be found.');
}
