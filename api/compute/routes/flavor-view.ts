/** Flavors as Nova shows them per microversion (nova/api/openstack/compute/views/flavors.py). */
import type { FastifyRequest } from 'fastify';
import { API_PREFIX, memberLinks } from '../http.ts';
import type { ApiVersion } from '../microversion.ts';
import type { FlavorRecord } from '../store/records.ts';

export function flavorBrief(f: FlavorRecord, v: ApiVersion, base: string) {
  const out: Record<string, unknown> = {
    id: f.flavorid,
    name: f.name,
    links: memberLinks(base, 'flavors', f.flavorid),
  };
  if (v.atLeast(55)) out.description = f.description;
  return out;
}

export function flavorDetail(f: FlavorRecord, v: ApiVersion, base: string) {
  const out: Record<string, unknown> = {
    id: f.flavorid,
    name: f.name,
    ram: f.memoryMb,
    disk: f.rootGb,
    // Before 2.75 a zero swap is shown as "" (Nova's `swap or ""`).
    swap: v.atLeast(75) ? f.swap : f.swap || '',
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeralGb,
    'OS-FLV-DISABLED:disabled': f.disabled,
    vcpus: f.vcpus,
    'os-flavor-access:is_public': f.isPublic,
    rxtx_factor: f.rxtxFactor,
    links: memberLinks(base, 'flavors', f.flavorid),
  };
  if (v.atLeast(55)) out.description = f.description;
  if (v.atLeast(61)) out.extra_specs = { ...f.extraSpecs };
  return out;
}

/**
 * Nova's `flavors_links`: a `next` link when the page is full, carrying the request's query with
 * the marker set to the last flavor.
 */
export function nextLinks(
  req: FastifyRequest,
  base: string,
  collection: string,
  page: readonly FlavorRecord[],
  limit: number,
) {
  if (page.length === 0 || page.length !== limit) return undefined;
  const params = new URLSearchParams(req.url.split('?')[1] ?? '');
  params.set('marker', page[page.length - 1]!.flavorid);
  return [{ href: `${base}${API_PREFIX}/${collection}?${params.toString()}`, rel: 'next' }];
}
