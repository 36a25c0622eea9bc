/**
 * The Placement API as the fuzzer drives it: the real app and PlacementService over a memory
 * Store, made-up uuids in creation order, and a few providers, inventories, a trait and an
 * allocation already there (so that valid requests meet state from the first one).
 */
import type { HTTPMethods } from 'fastify';
import { buildPlacementApp } from '../../../../api/placement/app.ts';
import { PlacementService } from '../../../../api/placement/service.ts';
import { MemoryStore } from '../../../../core/adapters/memory/store.ts';
import type { World } from './requests.ts';
import { RecordingStore } from './state.ts';

export const PLACEMENT_TOKEN = 'fuzz-placement-token';
const NOW = new Date('2026-12-01T00:00:00Z');

const uuidOf = (prefix: string, n: number) =>
  `${prefix.repeat(8)}-0000-4000-8000-${String(n).padStart(12, '0')}`;
/** Providers requests name by uuid (others are created without one and learnt). */
export const PROVIDERS = [1, 2, 3, 4, 5].map((n) => uuidOf('a', n));
export const CONSUMERS = [1, 2, 3, 4].map((n) => uuidOf('c', n));
export const AGGREGATES = [1, 2, 3].map((n) => uuidOf('e', n));

/** What every world starts with: two providers (one with a child) with inventories, a trait, an allocation. */
const SEED: ReadonlyArray<[HTTPMethods, string, unknown]> = [
  ['POST', '/resource_providers', { name: 'seed-1', uuid: PROVIDERS[0] }],
  ['POST', '/resource_providers', { name: 'seed-2', uuid: PROVIDERS[1] }],
  ['POST', '/resource_providers', { name: 'seed-3', uuid: PROVIDERS[2], parent_provider_uuid: PROVIDERS[0] }],
  [
    'PUT',
    `/resource_providers/${PROVIDERS[0]}/inventories`,
    {
      resource_provider_generation: 0,
      inventories: { VCPU: { total: 16 }, MEMORY_MB: { total: 32768 }, DISK_GB: { total: 500 } },
    },
  ],
  [
    'PUT',
    `/resource_providers/${PROVIDERS[1]}/inventories`,
    { resource_provider_generation: 0, inventories: { VCPU: { total: 8 }, MEMORY_MB: { total: 8192 } } },
  ],
  ['PUT', '/traits/CUSTOM_T1', undefined],
  [
    'PUT',
    `/resource_providers/${PROVIDERS[1]}/traits`,
    { traits: ['CUSTOM_T1'], resource_provider_generation: 1 },
  ],
  [
    'PUT',
    `/allocations/${CONSUMERS[0]}`,
    {
      allocations: { [PROVIDERS[0]!]: { resources: { VCPU: 2, MEMORY_MB: 1024 } } },
      project_id: 'p1',
      user_id: 'u1',
      consumer_generation: null,
      consumer_type: 'INSTANCE',
    },
  ],
];

export async function placementWorld(): Promise<World> {
  const store = new RecordingStore(new MemoryStore());
  const service = await PlacementService.open(store);
  // Made-up uuids in creation order (as compute-world.ts).
  let made = 0;
  const newUuid = () => `00000000-0000-4000-9000-${String(++made).padStart(12, '0')}`;
  const app = await buildPlacementApp(
    { service, now: () => NOW, newUuid },
    { auth: { mode: 'token', token: PLACEMENT_TOKEN } },
  );
  for (const [method, url, body] of SEED) {
    const r = await app.inject({
      method,
      url,
      headers: { 'x-auth-token': PLACEMENT_TOKEN, 'openstack-api-version': 'placement 1.39' },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    if (r.statusCode >= 300) throw new Error(`placement seed ${method} ${url}: ${r.statusCode} ${r.body}`);
  }
  return {
    app,
    dump: async () => ({ store: await store.dump() }),
    async close() {
      await app.close();
      await service.close();
    },
  };
}
