/**
 * Valid (or nearly valid) requests for every route of the Placement API, the ids and generations
 * its answers tell, and its headers. Providers come from a small pool of uuids (so that requests
 * meet each other's state), their generations from the latest answer that showed them. A route
 * registered without a generator here fails the coverage test: add one. Big because it is one
 * table of one generator per route: long by nature.
 */
import fc from 'fast-check';
import type { HTTPMethods } from 'fastify';
import { AGGREGATES, CONSUMERS, PLACEMENT_TOKEN, PROVIDERS, placementWorld } from './placement-world.ts';
import {
  type Answer,
  type ApiSpec,
  bare,
  type Draft,
  jsonOf,
  type Known,
  type RouteSpec,
  ref,
} from './requests.ts';

export { PLACEMENT_TOKEN };

/** Mostly the newest microversion, sometimes any other. */
const version = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 39 }).map((m) => `1.${m}`) },
);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const compact = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const query = (o: Record<string, string | number | undefined>) =>
  new URLSearchParams(compact(o) as Record<string, string>).toString();

/** A pool provider's index, or a provider created without a uuid. */
const rpIndex = fc.nat({ max: PROVIDERS.length - 1 });
const rp = fc.oneof(
  { weight: 4, arbitrary: rpIndex.map((i) => PROVIDERS[i]!) },
  { weight: 1, arbitrary: ref('rp') },
);
const consumer = fc.constantFrom(...CONSUMERS);
const customClass = fc.constantFrom('CUSTOM_A', 'CUSTOM_B', 'CUSTOM_GPU');
const rc = fc.oneof(fc.constantFrom('VCPU', 'MEMORY_MB', 'DISK_GB'), customClass);
const customTrait = fc.constantFrom('CUSTOM_T1', 'CUSTOM_T2', 'CUSTOM_FAST');
const trait = fc.oneof(fc.constantFrom('HW_CPU_X86_AVX2', 'STORAGE_DISK_SSD'), customTrait);
/** Provider names are unique: mostly fresh ones. */
const name = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('rp', 'cn1', 'x y') },
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{5,12}$/) },
);

const inventory = fc
  .record({
    total: fc.integer({ min: 1, max: 64 }),
    reserved: opt(fc.integer({ min: 0, max: 4 })),
    max_unit: opt(fc.integer({ min: 1, max: 64 })),
    allocation_ratio: opt(fc.constantFrom(1, 1.5, 16)),
  })
  .map(compact);
const allocResources = fc.dictionary(
  fc.constantFrom('VCPU', 'VCPU', 'MEMORY_MB', 'DISK_GB', 'CUSTOM_A'),
  fc.integer({ min: 1, max: 4 }),
  { minKeys: 1, maxKeys: 2 },
);

const route = (method: HTTPMethods, url: string, valid: fc.Arbitrary<Draft>): RouteSpec => ({
  method,
  url,
  valid,
});
const plain = (
  method: HTTPMethods,
  url: string,
  path: fc.Arbitrary<string>,
  q: fc.Arbitrary<string> = fc.constant(''),
) => route(method, url, fc.record({ path, query: q, version }));

/** A provider-scoped write: the provider's path, its latest generation, a body built from them. */
const onProvider = (
  method: HTTPMethods,
  url: string,
  suffix: string,
  body: (gen: string) => fc.Arbitrary<unknown>,
  v: fc.Arbitrary<string | undefined> = version,
) =>
  route(
    method,
    url,
    fc.tuple(rpIndex, v).chain(([i, version]) =>
      body(bare(`gen${i}`)).map((b) => ({
        path: `/resource_providers/${PROVIDERS[i]}${suffix}`,
        body: b,
        version,
      })),
    ),
  );

const allocationBody = (c: number, version: string | undefined) =>
  fc
    .record({
      // Mostly the seeded providers with inventory, small amounts: most allocations fit.
      providers: fc.dictionary(
        fc.constantFrom(PROVIDERS[0]!, PROVIDERS[0]!, PROVIDERS[1]!, ...PROVIDERS),
        allocResources,
        {
          minKeys: 1,
          maxKeys: 2,
        },
      ),
      project: fc.constantFrom('p1', 'p2'),
      user: fc.constantFrom('u1', 'u2'),
      type: fc.constantFrom('INSTANCE', 'MIGRATION'),
    })
    .map(({ providers, project, user, type }) => {
      const allocations = Object.fromEntries(
        Object.entries(providers).map(([u, r]) => [u, { resources: r }]),
      );
      if (version === '1.8')
        return {
          allocations: Object.entries(providers).map(([uuid, r]) => ({
            resource_provider: { uuid },
            resources: r,
          })),
          project_id: project,
          user_id: user,
        };
      const base = { allocations, project_id: project, user_id: user };
      if (version === '1.12') return base;
      if (version === '1.28') return { ...base, consumer_generation: bare(`cgen${c}`) };
      return { ...base, consumer_generation: bare(`cgen${c}`), consumer_type: type };
    });
const allocVersion = fc.constantFrom(undefined, undefined, '1.28', '1.12', '1.8');

const candidateQuery = fc
  .record({
    resources: fc.constantFrom('VCPU:1', 'VCPU:1,MEMORY_MB:512', 'DISK_GB:10', 'CUSTOM_A:1'),
    required: opt(fc.constantFrom('CUSTOM_T1', '!CUSTOM_T2', 'in:CUSTOM_T1,CUSTOM_FAST')),
    member_of: opt(fc.constantFrom(...AGGREGATES.map((a) => `in:${a}`))),
    limit: opt(fc.integer({ min: 1, max: 5 })),
    in_tree: opt(fc.constantFrom(...PROVIDERS)),
    resources1: opt(fc.constantFrom('VCPU:1')),
    group_policy: opt(fc.constantFrom('none', 'isolate')),
  })
  .map(query);

export const PLACEMENT_ROUTES: readonly RouteSpec[] = [
  plain('GET', '/', fc.constant('/')),
  plain(
    'GET',
    '/resource_providers',
    fc.constant('/resource_providers'),
    fc
      .record({
        name: opt(name),
        member_of: opt(fc.constantFrom(...AGGREGATES.map((a) => `in:${a}`))),
        resources: opt(fc.constantFrom('VCPU:1', 'MEMORY_MB:1024')),
        in_tree: opt(fc.constantFrom(...PROVIDERS)),
        required: opt(fc.constantFrom('CUSTOM_T1', '!CUSTOM_T2')),
      })
      .map(query),
  ),
  route(
    'POST',
    '/resource_providers',
    fc
      .record({
        name,
        uuid: opt(fc.constantFrom(...PROVIDERS)),
        parent: opt(fc.constantFrom(...PROVIDERS)),
        version,
      })
      .map(({ name, uuid, parent, version }) => ({
        path: '/resource_providers',
        body: compact({ name, uuid, parent_provider_uuid: parent }),
        version,
      })),
  ),
  plain(
    'GET',
    '/resource_providers/:uuid',
    rp.map((u) => `/resource_providers/${u}`),
  ),
  route(
    'PUT',
    '/resource_providers/:uuid',
    fc.record({ u: rp, name, parent: opt(fc.constantFrom(...PROVIDERS)) }).map(({ u, name, parent }) => ({
      path: `/resource_providers/${u}`,
      body: compact({ name, parent_provider_uuid: parent }),
    })),
  ),
  plain(
    'DELETE',
    '/resource_providers/:uuid',
    rp.map((u) => `/resource_providers/${u}`),
  ),
  plain(
    'GET',
    '/resource_providers/:uuid/inventories',
    rp.map((u) => `/resource_providers/${u}/inventories`),
  ),
  onProvider('PUT', '/resource_providers/:uuid/inventories', '/inventories', (gen) =>
    fc
      .dictionary(rc, inventory, { maxKeys: 3 })
      .map((inventories) => ({ resource_provider_generation: gen, inventories })),
  ),
  onProvider('POST', '/resource_providers/:uuid/inventories', '/inventories', (gen) =>
    fc
      .tuple(rc, inventory)
      .map(([c, inv]) => ({ ...inv, resource_class: c, resource_provider_generation: gen })),
  ),
  plain(
    'DELETE',
    '/resource_providers/:uuid/inventories',
    rp.map((u) => `/resource_providers/${u}/inventories`),
  ),
  plain(
    'GET',
    '/resource_providers/:uuid/inventories/:rc',
    fc.tuple(rp, rc).map(([u, c]) => `/resource_providers/${u}/inventories/${c}`),
  ),
  route(
    'PUT',
    '/resource_providers/:uuid/inventories/:rc',
    fc.tuple(rpIndex, rc, inventory).map(([i, c, inv]) => ({
      path: `/resource_providers/${PROVIDERS[i]}/inventories/${c}`,
      body: { ...inv, resource_provider_generation: bare(`gen${i}`) },
    })),
  ),
  plain(
    'DELETE',
    '/resource_providers/:uuid/inventories/:rc',
    fc.tuple(rp, rc).map(([u, c]) => `/resource_providers/${u}/inventories/${c}`),
  ),
  plain(
    'GET',
    '/traits',
    fc.constant('/traits'),
    fc
      .record({
        name: opt(fc.constantFrom('in:CUSTOM_T1,HW_CPU_X86_AVX2', 'startswith:CUSTOM')),
        associated: opt(fc.constantFrom('true', 'false')),
      })
      .map(query),
  ),
  plain(
    'GET',
    '/traits/:name',
    trait.map((t) => `/traits/${t}`),
  ),
  plain(
    'PUT',
    '/traits/:name',
    customTrait.map((t) => `/traits/${t}`),
  ),
  plain(
    'DELETE',
    '/traits/:name',
    customTrait.map((t) => `/traits/${t}`),
  ),
  plain(
    'GET',
    '/resource_providers/:uuid/traits',
    rp.map((u) => `/resource_providers/${u}/traits`),
  ),
  onProvider('PUT', '/resource_providers/:uuid/traits', '/traits', (gen) =>
    fc.uniqueArray(trait, { maxLength: 3 }).map((traits) => ({ traits, resource_provider_generation: gen })),
  ),
  plain(
    'DELETE',
    '/resource_providers/:uuid/traits',
    rp.map((u) => `/resource_providers/${u}/traits`),
  ),
  plain(
    'GET',
    '/resource_providers/:uuid/aggregates',
    rp.map((u) => `/resource_providers/${u}/aggregates`),
  ),
  onProvider(
    'PUT',
    '/resource_providers/:uuid/aggregates',
    '/aggregates',
    (gen) =>
      fc
        .uniqueArray(fc.constantFrom(...AGGREGATES), { maxLength: 2 })
        .map((aggregates) => ({ aggregates, resource_provider_generation: gen })),
    fc.constant(undefined),
  ),
  plain('GET', '/resource_classes', fc.constant('/resource_classes')),
  route(
    'POST',
    '/resource_classes',
    customClass.map((name) => ({ path: '/resource_classes', body: { name } })),
  ),
  plain(
    'GET',
    '/resource_classes/:name',
    rc.map((c) => `/resource_classes/${c}`),
  ),
  plain(
    'PUT',
    '/resource_classes/:name',
    customClass.map((c) => `/resource_classes/${c}`),
  ),
  plain(
    'DELETE',
    '/resource_classes/:name',
    customClass.map((c) => `/resource_classes/${c}`),
  ),
  plain(
    'GET',
    '/allocations/:consumer',
    consumer.map((c) => `/allocations/${c}`),
  ),
  route(
    'PUT',
    '/allocations/:consumer',
    fc
      .tuple(fc.nat({ max: CONSUMERS.length - 1 }), allocVersion)
      .chain(([c, v]) =>
        allocationBody(c, v).map((body) => ({ path: `/allocations/${CONSUMERS[c]}`, body, version: v })),
      ),
  ),
  plain(
    'DELETE',
    '/allocations/:consumer',
    consumer.map((c) => `/allocations/${c}`),
  ),
  route(
    'POST',
    '/allocations',
    fc.uniqueArray(fc.nat({ max: CONSUMERS.length - 1 }), { minLength: 1, maxLength: 2 }).chain((cs) =>
      fc.tuple(...cs.map((c) => allocationBody(c, undefined))).map((bodies) => ({
        path: '/allocations',
        body: Object.fromEntries(cs.map((c, i) => [CONSUMERS[c]!, bodies[i]])),
      })),
    ),
  ),
  plain(
    'GET',
    '/resource_providers/:uuid/allocations',
    rp.map((u) => `/resource_providers/${u}/allocations`),
  ),
  plain(
    'GET',
    '/resource_providers/:uuid/usages',
    rp.map((u) => `/resource_providers/${u}/usages`),
  ),
  plain(
    'GET',
    '/usages',
    fc.constant('/usages'),
    fc
      .record({
        project_id: fc.constantFrom('p1', 'p2'),
        user_id: opt(fc.constantFrom('u1', 'u2')),
        consumer_type: opt(fc.constantFrom('INSTANCE', 'all', 'unknown')),
      })
      .map(query),
  ),
  plain('GET', '/allocation_candidates', fc.constant('/allocation_candidates'), candidateQuery),
  route(
    'POST',
    '/reshaper',
    fc
      .record({
        i: rpIndex,
        inventories: fc.dictionary(rc, inventory, { maxKeys: 2 }),
        c: fc.nat({ max: CONSUMERS.length - 1 }),
        moveTo: opt(rpIndex),
      })
      .chain(({ i, inventories, c, moveTo }) =>
        allocationBody(c, undefined).map((alloc) => ({
          path: '/reshaper',
          body: {
            inventories: {
              [PROVIDERS[i]!]: { resource_provider_generation: bare(`gen${i}`), inventories },
            },
            allocations: moveTo === undefined ? {} : { [CONSUMERS[c]!]: alloc },
          },
        })),
      ),
  ),
];

/** Generations and ids in a successful answer of the Placement API. */
function learn(_route: string, a: Answer, known: Known, url: string): void {
  const j = jsonOf(a) as Record<string, unknown> | undefined;
  const path = url.split('?')[0] ?? '';
  const inPath = PROVIDERS.findIndex((u) => path.startsWith(`/resource_providers/${u}`));
  const setGen = (uuid: unknown, gen: unknown) => {
    const i = PROVIDERS.indexOf(String(uuid));
    if (i >= 0 && typeof gen === 'number') known.set(`gen${i}`, gen);
  };
  const loc = a.headers.location;
  if (typeof loc === 'string' && /\/resource_providers\/[0-9a-f-]{36}$/.test(loc))
    known.add('rp', loc.slice(-36));
  if (!j || typeof j !== 'object') return;
  if (inPath >= 0 && typeof j.resource_provider_generation === 'number')
    known.set(`gen${inPath}`, j.resource_provider_generation);
  const providers = Array.isArray(j.resource_providers) ? j.resource_providers : [j];
  for (const p of providers as Array<{ uuid?: unknown; generation?: unknown }>) {
    if (typeof p?.uuid === 'string' && !PROVIDERS.includes(p.uuid) && path.startsWith('/resource_providers'))
      known.add('rp', p.uuid);
    setGen(p?.uuid, p?.generation);
  }
  const c = CONSUMERS.findIndex((u) => path === `/allocations/${u}`);
  if (c >= 0 && 'consumer_generation' in j) known.set(`cgen${c}`, j.consumer_generation);
  if (inPath >= 0 && path.endsWith('/allocations') && j.allocations && typeof j.allocations === 'object')
    for (const [cu, e] of Object.entries(
      j.allocations as Record<string, { consumer_generation?: unknown }>,
    )) {
      const k = CONSUMERS.indexOf(cu);
      if (k >= 0 && e.consumer_generation !== undefined) known.set(`cgen${k}`, e.consumer_generation);
    }
}

export const placementApi: ApiSpec = {
  name: 'placement',
  routes: PLACEMENT_ROUTES,
  world: placementWorld,
  baseHeaders: { 'x-auth-token': PLACEMENT_TOKEN },
  versionHeaders: (v) => ({ 'openstack-api-version': `placement ${v ?? '1.39'}` }),
  badVersionHeaders: [
    { 'openstack-api-version': 'placement 1.40' },
    { 'openstack-api-version': 'placement 2.0' },
    { 'openstack-api-version': 'placement 1.x' },
    { 'openstack-api-version': 'placement' },
    { 'openstack-api-version': 'compute 2.1' },
    { 'openstack-api-version': 'placement 1.999999999999999999999' },
    { 'openstack-api-version': 'placement latest, placement 1.2' },
    { 'openstack-api-version': 'placement -1.5' },
  ],
  learn,
  fallbacks: { 'gen*': '0', 'cgen*': 'null' },
};
