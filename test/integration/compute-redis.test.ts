/**
 * A restart on Redis loses nothing: a compute app on a RedisStore takes flavors (extra specs,
 * access), aggregates (hosts, zones), server groups and quotas; a new app on the same prefix
 * answers every read identically and keeps paging and enforcing uniqueness.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildComputeApp } from '../../api/compute/app.ts';
import { MemoryHostDirectory } from '../../api/compute/hosts.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { services, uniquePrefix } from '../real/services.ts';

const NOW = new Date('2026-11-23T10:00:00Z');
const H = { 'openstack-api-version': 'compute 2.79', 'content-type': 'application/json' };

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function open(prefix: string) {
  const store = await RedisStore.open({ url: services().redis, prefix });
  const hosts = new MemoryHostDirectory().put('cn1').put('cn2');
  const app = await buildComputeApp(
    { store, hosts, now: () => NOW },
    { auth: { mode: 'noauth' }, publicUrl: 'http://x' },
  );
  const close = async () => {
    await app.close();
    await store.close();
  };
  closers.push(close);
  const call = async (method: string, url: string, body?: unknown, expectStatus?: number) => {
    const r = await app.inject({
      method: method as 'GET',
      url,
      headers: H,
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    if (expectStatus !== undefined) expect(r.statusCode, r.body).toBe(expectStatus);
    else if (r.statusCode >= 400) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
    return r.body;
  };
  return { call };
}

describe('compute API on Redis', () => {
  it('a new app on the same prefix reads back everything identically', async () => {
    const prefix = uniquePrefix('compute');
    const first = await open(prefix);
    for (let i = 1; i <= 5; i++)
      await first.call('POST', '/v2.1/flavors', {
        flavor: { name: `f${i}`, id: String(i), ram: 512 * (6 - i), vcpus: i, disk: 10 },
      });
    await first.call('POST', '/v2.1/flavors', {
      flavor: { name: 'priv', id: 'p', ram: 1, vcpus: 1, disk: 0, 'os-flavor-access:is_public': false },
    });
    await first.call('POST', '/v2.1/flavors/p/action', { addTenantAccess: { tenant: 'proj1' } });
    await first.call('POST', '/v2.1/flavors/1/os-extra_specs', {
      extra_specs: { 'trait:CUSTOM_FAST': 'required' },
    });
    await first.call('DELETE', '/v2.1/flavors/4');
    const agg = JSON.parse(
      await first.call('POST', '/v2.1/os-aggregates', {
        aggregate: { name: 'r1', availability_zone: 'az1' },
      }),
    );
    await first.call('POST', `/v2.1/os-aggregates/${agg.aggregate.id}/action`, { add_host: { host: 'cn1' } });
    await first.call('POST', '/v2.1/os-server-groups', {
      server_group: { name: 'g', policy: 'anti-affinity', rules: { max_server_per_host: 2 } },
    });
    await first.call('PUT', '/v2.1/os-quota-sets/admin', { quota_set: { cores: 64 } });
    const reads = [
      '/v2.1/flavors/detail?is_public=none',
      '/v2.1/flavors?sort_key=memory_mb&limit=2&marker=3',
      '/v2.1/flavors?sort_dir=desc',
      '/v2.1/flavors/1/os-extra_specs',
      '/v2.1/flavors/p/os-flavor-access',
      '/v2.1/os-aggregates',
      '/v2.1/os-availability-zone/detail',
      '/v2.1/os-server-groups?all_projects=1',
      '/v2.1/os-quota-sets/admin/detail',
    ];
    const before = [];
    for (const url of reads) before.push(await first.call('GET', url));
    expect(JSON.parse(before[1]!).flavors.map((f: { id: string }) => f.id)).toEqual(['2', '1']);

    const second = await open(prefix);
    for (const [i, url] of reads.entries()) expect(await second.call('GET', url), url).toBe(before[i]);
    // Uniqueness and counters survived: same name refused, next aggregate id is 2.
    await second.call('POST', '/v2.1/flavors', { flavor: { name: 'f1', ram: 1, vcpus: 1, disk: 0 } }, 409);
    const next = JSON.parse(await second.call('POST', '/v2.1/os-aggregates', { aggregate: { name: 'r2' } }));
    expect(next.aggregate.id).toBe(2);
  });
});
