/**
 * Valid (or nearly valid) requests for every route of the compute API, the ids its answers tell,
 * and its headers. A route registered without a generator here fails the coverage test: add one.
 * Big because it is one table of one generator per route: long by nature.
 */
import fc from 'fast-check';
import type { HTTPMethods } from 'fastify';
import { COMPUTE_TOKEN, computeWorld, HOSTS, PRIVATE_FLAVOR, SEEDED_SERVERS } from './compute-world.ts';
import {
  type Answer,
  type ApiSpec,
  type Draft,
  jsonOf,
  type Known,
  type RouteSpec,
  ref,
} from './requests.ts';

const V = '/v2.1';
/** Mostly the newest microversion, sometimes any other. */
const version = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 79 }).map((m) => `2.${m}`) },
);
const name = fc.oneof(
  fc.constantFrom('a', 'vm', 'web-1', 'x y'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
);
const project = fc.constantFrom('admin', 'p1', 'p2');
/** Flavor 1 (with an extra spec) most, a private one, ones the fuzzer creates, learnt ones. */
const flavorId = fc.oneof(
  { weight: 2, arbitrary: fc.constant('1') },
  { weight: 3, arbitrary: fc.constantFrom('2', PRIVATE_FLAVOR, 'f1', 'f2') },
  { weight: 2, arbitrary: ref('flavor') },
);
const host = fc.constantFrom(...HOSTS, 'ctl1', 'nohost');
const server = ref('server');
const count = fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constantFrom('1', '2', '01'));
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** An object without its undefined fields (fc.record of options). */
const compact = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const query = (o: Record<string, string | number | undefined>) =>
  new URLSearchParams(compact(o) as Record<string, string>).toString();

const route = (method: HTTPMethods, url: string, valid: fc.Arbitrary<Draft>): RouteSpec => ({
  method,
  url: `${V}${url}`.replace(/\/$/, '') || '/',
  valid,
});
const get = (url: string, path: fc.Arbitrary<string>, q: fc.Arbitrary<string> = fc.constant('')) =>
  route(
    'GET',
    url,
    fc.record({ path, query: q, version }).map((d) => ({ ...d, path: `${V}${d.path}` })),
  );
const withBody = (
  method: HTTPMethods,
  url: string,
  path: fc.Arbitrary<string>,
  body: fc.Arbitrary<unknown>,
) =>
  route(
    method,
    url,
    fc.record({ path, body, version, who: opt(project) }).map(({ path, body, version, who }) => ({
      path: `${V}${path}`,
      body,
      version,
      ...(who ? { headers: { 'x-project-id': who } } : {}),
    })),
  );

const flavorQuery = fc
  .record({
    limit: opt(fc.integer({ min: 0, max: 20 })),
    marker: opt(flavorId),
    sort_key: opt(fc.constantFrom('flavorid', 'name', 'memory_mb', 'vcpus', 'id')),
    sort_dir: opt(fc.constantFrom('asc', 'desc')),
    is_public: opt(fc.constantFrom('true', 'false', 'None')),
    minRam: opt(fc.constantFrom('0', '512', '4096')),
  })
  .map(query);

const newFlavor = fc
  .record({
    name,
    id: opt(fc.constantFrom('f1', 'f2', 'f3', null)),
    ram: fc.integer({ min: 1, max: 8192 }),
    vcpus: fc.integer({ min: 1, max: 8 }),
    disk: fc.integer({ min: 0, max: 40 }),
    'OS-FLV-EXT-DATA:ephemeral': opt(fc.integer({ min: 0, max: 4 })),
    swap: opt(fc.integer({ min: 0, max: 512 })),
    rxtx_factor: opt(fc.constantFrom(1, 1.5, '2.0')),
    'os-flavor-access:is_public': opt(fc.boolean()),
    description: opt(fc.oneof(fc.constant(null), name)),
  })
  .map((f) => ({ flavor: compact(f) }));

const specKey = fc.constantFrom('k1', 'hw:cpu_policy', 'trait:CUSTOM_X');
const specValue = fc.oneof(fc.constantFrom('dedicated', 'required', '1'), fc.integer({ min: 0, max: 9 }));

const serverAction = fc.oneof(
  fc.constantFrom('HARD', 'SOFT', 'soft').map((type) => ({ reboot: { type } })),
  fc.constant({ 'os-stop': null }),
  fc.constant({ 'os-start': null }),
  flavorId.map((flavorRef) => ({ resize: { flavorRef } })),
  fc
    .oneof(
      fc.constant(null),
      host.map((h) => ({ host: h })),
    )
    .map((migrate) => ({ migrate })),
  fc.constant({ confirmResize: null }),
  fc.constant({ revertResize: null }),
  opt(host).map((h) => ({ evacuate: h ? { host: h } : {} })),
);

const newServer = fc
  .record({
    name,
    imageRef: fc.constantFrom('cirros', 'img-1'),
    flavorRef: fc.oneof(
      flavorId,
      flavorId.map((id) => `http://api.test/v2.1/flavors/${id}`),
    ),
    networks: fc.constantFrom('none', 'auto'),
    min_count: opt(count),
    max_count: opt(count),
    availability_zone: opt(fc.constantFrom('nova', 'nova:cn1', 'z1', ':cn2')),
    metadata: opt(fc.dictionary(fc.constantFrom('a', 'b', 'role'), fc.constantFrom('x', 'web'))),
    description: opt(fc.oneof(fc.constant(null), name)),
    return_reservation_id: opt(fc.boolean()),
    group: opt(ref('group')),
  })
  .map(({ group, ...s }) => ({
    server: compact(s),
    ...(group ? { 'os:scheduler_hints': { group } } : {}),
  }));

const serverQuery = fc
  .record({
    limit: opt(fc.integer({ min: 0, max: 10 })),
    marker: opt(server),
    sort_key: opt(fc.constantFrom('created_at', 'display_name', 'uuid', 'host')),
    sort_dir: opt(fc.constantFrom('asc', 'desc')),
    all_tenants: opt(fc.constantFrom('1', 'True')),
    status: opt(fc.constantFrom('ACTIVE', 'BUILD', 'error')),
    name: opt(name),
    'changes-since': opt(fc.constantFrom('2026-01-01T00:00:00Z', '2030-01-01')),
  })
  .map(query);

const legacyService = fc
  .record({
    action: fc.constantFrom('enable', 'disable', 'disable-log-reason', 'force-down'),
    host,
    binary: fc.constantFrom('nova-compute', 'nova-scheduler'),
    reason: opt(name),
    down: opt(fc.boolean()),
  })
  .map(({ action, host, binary, reason, down }) => ({
    path: `${V}/os-services/${action}`,
    version: '2.11',
    body: compact({ host, binary, disabled_reason: reason, forced_down: down }),
  }));

export const COMPUTE_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', url: '/', valid: fc.constant({ path: '/' }) },
  { method: 'GET', url: V, valid: fc.constant({ path: V }) },
  get('/flavors', fc.constant('/flavors'), flavorQuery),
  { ...withBody('POST', '/flavors', fc.constant('/flavors'), newFlavor), weight: 3 },
  get('/flavors/detail', fc.constant('/flavors/detail'), flavorQuery),
  get(
    '/flavors/:id',
    flavorId.map((f) => `/flavors/${f}`),
  ),
  route(
    'PUT',
    '/flavors/:id',
    fc.record({ f: flavorId, d: fc.oneof(fc.constant(null), name) }).map(({ f, d }) => ({
      path: `${V}/flavors/${f}`,
      body: { flavor: { description: d } },
    })),
  ),
  route(
    'DELETE',
    '/flavors/:id',
    flavorId.map((f) => ({ path: `${V}/flavors/${f}` })),
  ),
  get(
    '/flavors/:id/os-extra_specs',
    flavorId.map((f) => `/flavors/${f}/os-extra_specs`),
  ),
  withBody(
    'POST',
    '/flavors/:id/os-extra_specs',
    flavorId.map((f) => `/flavors/${f}/os-extra_specs`),
    fc.dictionary(specKey, specValue, { minKeys: 1, maxKeys: 3 }).map((s) => ({ extra_specs: s })),
  ),
  get(
    '/flavors/:id/os-extra_specs/:key',
    fc.tuple(flavorId, specKey).map(([f, k]) => `/flavors/${f}/os-extra_specs/${encodeURIComponent(k)}`),
  ),
  route(
    'PUT',
    '/flavors/:id/os-extra_specs/:key',
    fc.record({ f: flavorId, k: specKey, v: specValue }).map(({ f, k, v }) => ({
      path: `${V}/flavors/${f}/os-extra_specs/${encodeURIComponent(k)}`,
      body: { [k]: v },
    })),
  ),
  route(
    'DELETE',
    '/flavors/:id/os-extra_specs/:key',
    fc.tuple(flavorId, specKey).map(([f, k]) => ({
      path: `${V}/flavors/${f}/os-extra_specs/${encodeURIComponent(k)}`,
    })),
  ),
  get(
    '/flavors/:id/os-flavor-access',
    flavorId.map((f) => `/flavors/${f}/os-flavor-access`),
  ),
  withBody(
    'POST',
    '/flavors/:id/action',
    flavorId.map((f) => `/flavors/${f}/action`),
    fc
      .record({ add: fc.boolean(), tenant: project })
      .map(({ add, tenant }) => ({ [add ? 'addTenantAccess' : 'removeTenantAccess']: { tenant } })),
  ),
  get('/os-aggregates', fc.constant('/os-aggregates')),
  withBody(
    'POST',
    '/os-aggregates',
    fc.constant('/os-aggregates'),
    fc
      .record({ name, availability_zone: opt(fc.oneof(fc.constant(null), fc.constantFrom('z1', 'z2'))) })
      .map((a) => ({ aggregate: compact(a) })),
  ),
  get(
    '/os-aggregates/:id',
    ref('aggregate').map((a) => `/os-aggregates/${a}`),
  ),
  withBody(
    'PUT',
    '/os-aggregates/:id',
    ref('aggregate').map((a) => `/os-aggregates/${a}`),
    fc
      .record({ name: opt(name), availability_zone: opt(fc.constantFrom('z1', 'z3', null)) })
      .map((a) => ({ aggregate: Object.keys(compact(a)).length ? compact(a) : { name: 'n' } })),
  ),
  route(
    'DELETE',
    '/os-aggregates/:id',
    ref('aggregate').map((a) => ({ path: `${V}/os-aggregates/${a}` })),
  ),
  withBody(
    'POST',
    '/os-aggregates/:id/action',
    ref('aggregate').map((a) => `/os-aggregates/${a}/action`),
    fc.oneof(
      host.map((h) => ({ add_host: { host: h } })),
      host.map((h) => ({ remove_host: { host: h } })),
      fc
        .dictionary(fc.constantFrom('k', 'availability_zone', 'ssd'), fc.constantFrom('v', 'z1', null), {
          maxKeys: 2,
        })
        .map((metadata) => ({ set_metadata: { metadata } })),
    ),
  ),
  get('/os-availability-zone', fc.constant('/os-availability-zone')),
  get('/os-availability-zone/detail', fc.constant('/os-availability-zone/detail')),
  get(
    '/os-server-groups',
    fc.constant('/os-server-groups'),
    fc
      .record({
        all_projects: opt(fc.constant('True')),
        limit: opt(fc.integer({ min: 0, max: 5 })),
        offset: opt(fc.integer({ min: 0, max: 5 })),
      })
      .map(query),
  ),
  withBody(
    'POST',
    '/os-server-groups',
    fc.constant('/os-server-groups'),
    fc
      .record({
        name,
        policy: fc.constantFrom('affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'),
        max: opt(fc.integer({ min: 1, max: 3 })),
      })
      .map(({ name, policy, max }) => ({
        server_group: { name, policy, ...(max ? { rules: { max_server_per_host: max } } : {}) },
      })),
  ),
  get(
    '/os-server-groups/:id',
    ref('group').map((g) => `/os-server-groups/${g}`),
  ),
  route(
    'DELETE',
    '/os-server-groups/:id',
    ref('group').map((g) => ({ path: `${V}/os-server-groups/${g}` })),
  ),
  get(
    '/os-quota-sets/:project',
    project.map((p) => `/os-quota-sets/${p}`),
  ),
  withBody(
    'PUT',
    '/os-quota-sets/:project',
    project.map((p) => `/os-quota-sets/${p}`),
    fc
      .record({
        instances: opt(fc.integer({ min: 0, max: 30 })),
        cores: opt(fc.integer({ min: 0, max: 60 })),
        ram: opt(fc.constantFrom(4096, 51200, '8192')),
        server_groups: opt(fc.integer({ min: 0, max: 10 })),
        force: opt(fc.constantFrom(true, 'True', false)),
      })
      .map((q) => ({ quota_set: compact(q) })),
  ),
  route(
    'DELETE',
    '/os-quota-sets/:project',
    project.map((p) => ({ path: `${V}/os-quota-sets/${p}` })),
  ),
  get(
    '/os-quota-sets/:project/defaults',
    project.map((p) => `/os-quota-sets/${p}/defaults`),
  ),
  get(
    '/os-quota-sets/:project/detail',
    project.map((p) => `/os-quota-sets/${p}/detail`),
  ),
  get(
    '/os-hypervisors',
    fc.constant('/os-hypervisors'),
    fc
      .record({
        with_servers: opt(fc.constantFrom('true', 'false')),
        hypervisor_hostname_pattern: opt(fc.constantFrom('cn', 'cn1')),
        limit: opt(fc.integer({ min: 0, max: 5 })),
      })
      .map(query),
  ),
  get('/os-hypervisors/detail', fc.constant('/os-hypervisors/detail')),
  get('/os-hypervisors/statistics', fc.constant('/os-hypervisors/statistics')),
  get(
    '/os-hypervisors/:id',
    fc.oneof(ref('hypuuid'), ref('hypid')).map((h) => `/os-hypervisors/${h}`),
  ),
  route(
    'GET',
    '/os-hypervisors/:id/search',
    host.map((h) => ({ path: `${V}/os-hypervisors/${h}/search`, version: '2.52' })),
  ),
  route(
    'GET',
    '/os-hypervisors/:id/servers',
    host.map((h) => ({ path: `${V}/os-hypervisors/${h}/servers`, version: '2.52' })),
  ),
  get(
    '/os-services',
    fc.constant('/os-services'),
    fc.record({ host: opt(host), binary: opt(fc.constant('nova-compute')) }).map(query),
  ),
  route(
    'PUT',
    '/os-services/:id',
    fc.oneof(
      legacyService,
      fc
        .record({
          id: ref('serviceuuid'),
          body: fc.oneof(
            fc
              .record({ status: fc.constantFrom('enabled', 'disabled'), disabled_reason: opt(name) })
              .map(compact),
            fc.boolean().map((forced_down) => ({ forced_down })),
          ),
        })
        .map(({ id, body }) => ({ path: `${V}/os-services/${id}`, body })),
    ),
  ),
  route(
    'DELETE',
    '/os-services/:id',
    fc.oneof(
      ref('serviceuuid').map((id) => ({ path: `${V}/os-services/${id}` })),
      ref('serviceid').map((id) => ({ path: `${V}/os-services/${id}`, version: '2.52' })),
    ),
  ),
  get('/servers', fc.constant('/servers'), serverQuery),
  { ...withBody('POST', '/servers', fc.constant('/servers'), newServer), weight: 6 },
  get('/servers/detail', fc.constant('/servers/detail'), serverQuery),
  get(
    '/servers/:id',
    server.map((s) => `/servers/${s}`),
  ),
  route(
    'DELETE',
    '/servers/:id',
    server.map((s) => ({ path: `${V}/servers/${s}` })),
  ),
  {
    ...withBody(
      'POST',
      '/servers/:id/action',
      server.map((s) => `/servers/${s}/action`),
      serverAction,
    ),
    weight: 4,
  },
  get(
    '/servers/:id/os-instance-actions',
    server.map((s) => `/servers/${s}/os-instance-actions`),
  ),
  get(
    '/servers/:id/os-instance-actions/:requestId',
    fc.oneof(
      fc.tuple(server, ref('request')).map(([s, r]) => `/servers/${s}/os-instance-actions/${r}`),
      fc.constantFrom(...SEEDED_SERVERS).map(([s]) => `/servers/${s}/os-instance-actions/req-${s}`),
    ),
  ),
];

const BAD_VERSIONS = ['compute 2.80', 'compute 3.1', 'compute 2.0', 'compute x', 'compute', 'compute 2.01'];

/** Ids in a successful answer of the compute API. */
function learn(routeKey: string, a: Answer, known: Known): void {
  const j = jsonOf(a) as Record<string, unknown> | undefined;
  const each = (list: unknown, kind: string | ((id: unknown) => string)) => {
    if (!Array.isArray(list)) return;
    for (const x of list) {
      const id = (x as { id?: unknown })?.id;
      known.add(typeof kind === 'string' ? kind : kind(id), id);
    }
  };
  const rid = a.headers['x-openstack-request-id'];
  if ((routeKey === 'POST /v2.1/servers' || routeKey.endsWith('/action')) && typeof rid === 'string')
    known.add('request', rid);
  if (!j || typeof j !== 'object') return;
  const one = (k: string) => (j[k] as { id?: unknown } | undefined)?.id;
  known.add('server', one('server'));
  known.add('aggregate', one('aggregate'));
  known.add('group', one('server_group'));
  known.add('flavor', one('flavor'));
  each(j.servers, 'server');
  each(j.aggregates, 'aggregate');
  each(j.server_groups, 'group');
  each(j.flavors, 'flavor');
  each(j.services, (id) => (typeof id === 'number' ? 'serviceid' : 'serviceuuid'));
  each(j.hypervisors, (id) => (typeof id === 'number' ? 'hypid' : 'hypuuid'));
  for (const x of (j.instanceActions as Array<{ request_id?: unknown }> | undefined) ?? [])
    known.add('request', x.request_id);
}

export const computeApi: ApiSpec = {
  name: 'compute',
  routes: COMPUTE_ROUTES,
  world: computeWorld,
  baseHeaders: { 'x-auth-token': COMPUTE_TOKEN },
  versionHeaders: (v) => ({ 'openstack-api-version': `compute ${v ?? '2.79'}` }),
  badVersionHeaders: [
    ...BAD_VERSIONS.map((v) => ({ 'openstack-api-version': v })),
    { 'openstack-api-version': 'placement 1.2' },
    { 'openstack-api-version': 'compute 2.5, compute 2.6' },
    { 'x-openstack-nova-api-version': '2.999999999999999999' },
    { 'x-openstack-nova-api-version': 'latest', 'openstack-api-version': '' },
  ],
  learn,
  fallbacks: { flavor: '1' },
  initial: SEEDED_SERVERS.map(([uuid]) => ['server', uuid] as const),
};
