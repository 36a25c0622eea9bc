/**
 * Raw HTTP against cellplane's Placement API and the real OpenStack Placement 8.0, side by
 * side: the same requests must give the same status, the same protocol headers and the same
 * body shape (keys and value types; error `code` and `title` exactly, error `detail` free —
 * ours names the field, Placement dumps its schema). This is what a client written for
 * Placement (osc-placement, openstacksdk, gophercloud, nova's report client) relies on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlacementServer, startPlacementServer } from '../../deploy/placement-server.ts';
import { type PlacementPeer, startRealPlacement } from '../real/placement-peer.ts';

const RP = 'aaaaaaaa-0000-4000-8000-000000000001';
const MISSING = 'aaaaaaaa-0000-4000-8000-0000000000ff';
const CONSUMER = 'cccccccc-0000-4000-8000-000000000001';

interface Req {
  name: string;
  method: string;
  path: string;
  /** Microversion header value; undefined sends none. */
  version?: string;
  body?: string | object;
  contentType?: string;
  /**
   * Headers not compared, with the reason. Placement's microversion middleware adds `vary`
   * only to responses, not to HTTP errors a handler raises past webob's wsgify (its 404 for a
   * missing provider); we send `vary` on every versioned response, which no client minds.
   */
  ignoreHeaders?: string[];
}

const v = '1.39';
/** In order: later requests depend on what earlier ones created. */
const REQUESTS: Req[] = [
  { name: 'version document', method: 'GET', path: '/' },
  { name: 'no microversion header → 1.0', method: 'GET', path: '/resource_providers' },
  { name: 'latest', method: 'GET', path: '/resource_providers', version: 'latest' },
  { name: 'unsupported microversion', method: 'GET', path: '/resource_providers', version: '1.99' },
  { name: 'malformed microversion', method: 'GET', path: '/resource_providers', version: 'one.two' },
  {
    name: 'create provider',
    method: 'POST',
    path: '/resource_providers',
    version: v,
    body: { name: 'h1', uuid: RP },
  },
  {
    name: 'create provider 1.0 (201, no body)',
    method: 'POST',
    path: '/resource_providers',
    version: '1.0',
    body: { name: 'h0' },
  },
  { name: 'duplicate name', method: 'POST', path: '/resource_providers', version: v, body: { name: 'h1' } },
  { name: 'bad JSON', method: 'POST', path: '/resource_providers', version: v, body: '{"name": "x"' },
  { name: 'schema violation', method: 'POST', path: '/resource_providers', version: v, body: { nam: 'x' } },
  {
    name: 'wrong content type',
    method: 'POST',
    path: '/resource_providers',
    version: v,
    body: 'name=x',
    contentType: 'text/plain',
  },
  { name: 'show provider', method: 'GET', path: `/resource_providers/${RP}`, version: v },
  {
    name: 'show missing provider',
    method: 'GET',
    path: `/resource_providers/${MISSING}`,
    version: v,
    ignoreHeaders: ['vary'],
  },
  { name: 'method not allowed', method: 'PATCH', path: `/resource_providers/${RP}`, version: v, body: {} },
  {
    name: 'set inventories',
    method: 'PUT',
    path: `/resource_providers/${RP}/inventories`,
    version: v,
    body: {
      resource_provider_generation: 0,
      inventories: { VCPU: { total: 8 }, MEMORY_MB: { total: 4096, reserved: 512 } },
    },
  },
  {
    name: 'stale generation',
    method: 'PUT',
    path: `/resource_providers/${RP}/inventories`,
    version: v,
    body: { resource_provider_generation: 0, inventories: { VCPU: { total: 16 } } },
  },
  {
    name: 'unknown resource class',
    method: 'PUT',
    path: `/resource_providers/${RP}/inventories`,
    version: v,
    body: { resource_provider_generation: 1, inventories: { CUSTOM_NOPE: { total: 1 } } },
  },
  { name: 'list inventories', method: 'GET', path: `/resource_providers/${RP}/inventories`, version: v },
  { name: 'one inventory', method: 'GET', path: `/resource_providers/${RP}/inventories/VCPU`, version: v },
  {
    name: 'allocate',
    method: 'PUT',
    path: `/allocations/${CONSUMER}`,
    version: v,
    body: {
      allocations: { [RP]: { resources: { VCPU: 2 } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: null,
      consumer_type: 'INSTANCE',
    },
  },
  {
    name: 'allocate with a stale consumer generation',
    method: 'PUT',
    path: `/allocations/${CONSUMER}`,
    version: v,
    body: {
      allocations: { [RP]: { resources: { VCPU: 1 } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: null,
      consumer_type: 'INSTANCE',
    },
  },
  { name: 'show allocations', method: 'GET', path: `/allocations/${CONSUMER}`, version: v },
  {
    name: 'remove in-use inventory',
    method: 'PUT',
    path: `/resource_providers/${RP}/inventories`,
    version: v,
    body: { resource_provider_generation: 2, inventories: { MEMORY_MB: { total: 4096 } } },
  },
  { name: 'usages', method: 'GET', path: `/resource_providers/${RP}/usages`, version: v },
  { name: 'project usages', method: 'GET', path: '/usages?project_id=p', version: v },
  { name: 'candidates', method: 'GET', path: '/allocation_candidates?resources=VCPU:1&limit=5', version: v },
  { name: 'candidates, bad query', method: 'GET', path: '/allocation_candidates?resources=VCPU', version: v },
  { name: 'traits filter', method: 'GET', path: '/traits?name=startswith:HW_CPU_X86_AVX', version: v },
  { name: 'delete provider in use', method: 'DELETE', path: `/resource_providers/${RP}`, version: v },
  { name: 'free allocations', method: 'DELETE', path: `/allocations/${CONSUMER}`, version: v },
  { name: 'delete provider', method: 'DELETE', path: `/resource_providers/${RP}`, version: v },
];

const PROTOCOL_HEADERS = [
  'openstack-api-version',
  'vary',
  'content-type',
  'location',
  'last-modified',
  'cache-control',
];

interface Seen {
  status: number;
  headers: Record<string, string | undefined>;
  shape: unknown;
}

/** Values replaced by their JSON type; error code/title kept; uuids and request ids typed. */
function shapeOf(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    const shapes = value.map((x) => shapeOf(x));
    return shapes.length === 0
      ? []
      : [JSON.stringify(shapes[0]) === JSON.stringify(shapes.at(-1)) ? shapes[0] : shapes];
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, shapeOf((value as Record<string, unknown>)[k], k)]),
    );
  }
  if ((key === 'code' || key === 'title' || key === 'status') && value !== undefined) return value;
  return value === null ? null : typeof value;
}

async function send(base: string, r: Req): Promise<Seen> {
  const headers: Record<string, string> = { 'x-auth-token': 'admin', accept: 'application/json' };
  if (r.version) headers['openstack-api-version'] = `placement ${r.version}`;
  let body: string | undefined;
  if (r.body !== undefined) {
    body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    headers['content-type'] = r.contentType ?? 'application/json';
  }
  const res = await fetch(base + r.path, { method: r.method, headers, body });
  const text = await res.text();
  const seen: Seen = { status: res.status, headers: {}, shape: text === '' ? '' : shapeOf(JSON.parse(text)) };
  for (const h of PROTOCOL_HEADERS) {
    const val = res.headers.get(h);
    // Values that differ by nature (time, host) are compared by presence.
    seen.headers[h] = val === null ? undefined : h === 'last-modified' || h === 'location' ? 'present' : val;
  }
  seen.headers['x-openstack-request-id'] = res.headers.has('x-openstack-request-id') ? 'present' : undefined;
  return seen;
}

describe('Placement HTTP compatibility with OpenStack Placement 8.0', () => {
  let peer: PlacementPeer | undefined;
  let ours: PlacementServer | undefined;

  beforeAll(async () => {
    [peer, ours] = await Promise.all([
      startRealPlacement(),
      startPlacementServer({ host: '127.0.0.1', port: 0, auth: { mode: 'token', token: 'admin' } }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([peer?.stop(), ours?.close()]);
  });

  it('answers every request with the same status, protocol headers and body shape', async () => {
    const mismatches: string[] = [];
    for (const r of REQUESTS) {
      const [real, mine] = await Promise.all([send(peer!.url, r), send(ours!.url, r)]);
      for (const h of r.ignoreHeaders ?? []) {
        delete real.headers[h];
        delete mine.headers[h];
      }
      // Both sides are built with the same key order, so their JSON compares exactly.
      if (JSON.stringify(mine) !== JSON.stringify(real)) {
        mismatches.push(`${r.name}: ours ${JSON.stringify(mine)} vs placement ${JSON.stringify(real)}`);
      }
    }
    expect(mismatches).toEqual([]);
  }, 120_000);
});
