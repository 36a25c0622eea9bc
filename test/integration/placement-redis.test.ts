/**
 * A restart on Redis loses nothing: a Placement app on a RedisStore takes providers (a nested
 * tree), inventories, traits, aggregates, custom classes and allocations; a new app on the same
 * prefix answers every read identically.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildPlacementApp } from '../../api/placement/app.ts';
import { PlacementService } from '../../api/placement/service.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { services, uniquePrefix } from '../real/services.ts';

const RP = '11111111-1111-4111-8111-111111111111';
const CHILD = '22222222-2222-4222-8222-222222222222';
const AGG = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const C1 = 'c1c1c1c1-c1c1-4c1c-8c1c-c1c1c1c1c1c1';
const NOW = new Date('2026-11-23T10:00:00Z');
const V = { 'openstack-api-version': 'placement 1.39', 'content-type': 'application/json' };

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function open(prefix: string) {
  const store = await RedisStore.open({ url: services().redis, prefix });
  const service = await PlacementService.open(store);
  const app = await buildPlacementApp({ service, now: () => NOW }, { auth: { mode: 'noauth' } });
  const close = async () => {
    await app.close();
    await service.close();
    await store.close();
  };
  closers.push(close);
  const call = async (method: string, url: string, body?: unknown) => {
    const r = await app.inject({
      method: method as 'GET',
      url,
      headers: V,
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    if (r.statusCode >= 400) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
    return r.body;
  };
  return { call, close };
}

const READS = [
  '/resource_providers',
  `/resource_providers/${RP}`,
  `/resource_providers/${CHILD}`,
  `/resource_providers/${RP}/inventories`,
  `/resource_providers/${CHILD}/inventories`,
  `/resource_providers/${RP}/traits`,
  `/resource_providers/${RP}/aggregates`,
  `/resource_providers/${RP}/usages`,
  `/resource_providers/${CHILD}/usages`,
  `/resource_providers/${RP}/allocations`,
  `/allocations/${C1}`,
  '/usages?project_id=p',
  '/resource_classes',
  '/traits?name=startswith:CUSTOM_',
  '/allocation_candidates?resources=VCPU:1&resources1=CUSTOM_GPU:1&group_policy=none',
];

describe('Placement on Redis', () => {
  it('a new app on the same prefix reads back everything identically', async () => {
    const prefix = uniquePrefix('placement');
    const first = await open(prefix);
    await first.call('PUT', '/resource_classes/CUSTOM_GPU');
    await first.call('PUT', '/traits/CUSTOM_FAST');
    await first.call('POST', '/resource_providers', { name: 'cn1', uuid: RP });
    await first.call('POST', '/resource_providers', { name: 'gpu0', uuid: CHILD, parent_provider_uuid: RP });
    await first.call('PUT', `/resource_providers/${RP}/inventories`, {
      resource_provider_generation: 0,
      inventories: { VCPU: { total: 16, allocation_ratio: 4 }, MEMORY_MB: { total: 8192, reserved: 512 } },
    });
    await first.call('PUT', `/resource_providers/${CHILD}/inventories`, {
      resource_provider_generation: 0,
      inventories: { CUSTOM_GPU: { total: 2 } },
    });
    await first.call('PUT', `/resource_providers/${RP}/traits`, {
      resource_provider_generation: 1,
      traits: ['CUSTOM_FAST', 'HW_CPU_X86_AVX2'],
    });
    await first.call('PUT', `/resource_providers/${RP}/aggregates`, {
      resource_provider_generation: 2,
      aggregates: [AGG],
    });
    await first.call('PUT', `/allocations/${C1}`, {
      allocations: { [RP]: { resources: { VCPU: 4 } }, [CHILD]: { resources: { CUSTOM_GPU: 1 } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: null,
      consumer_type: 'INSTANCE',
    });
    const before = [];
    for (const url of READS) before.push(await first.call('GET', url));
    await first.close();
    closers.length = 0;

    const second = await open(prefix);
    for (const [i, url] of READS.entries()) expect(await second.call('GET', url), url).toBe(before[i]);
    // And it keeps serving writes on the loaded state.
    await second.call('DELETE', `/allocations/${C1}`);
    expect(JSON.parse(await second.call('GET', `/resource_providers/${RP}/usages`)).usages.VCPU).toBe(0);
  });
});
