/**
 * Host aggregates and availability zones reach the scheduling decision, end to end on the
 * embedded control plane: what an operator does with `openstack aggregate …` and
 * `server create --availability-zone` (the API publishes each change to the shards' catalogue,
 * cells/aggregate-catalogue.ts, and the cell choice follows the zone, deploy/zone-cells.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { embeddedWorld, V, type World } from './embedded-fixture.ts';

let w: World;
afterEach(async () => {
  await w?.e.stop();
});

async function aggregate(name: string, zone?: string): Promise<number> {
  const r = await w.call('POST', '/os-aggregates', {
    aggregate: { name, ...(zone ? { availability_zone: zone } : {}) },
  });
  expect(r.status).toBe(200);
  return r.body.aggregate.id as number;
}

async function action(id: number, body: unknown): Promise<void> {
  const r = await w.call('POST', `/os-aggregates/${id}/action`, body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

async function hostsOf(ids: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of ids) {
    const s = await w.settled(id);
    expect(s.status, JSON.stringify(s.fault)).toBe('ACTIVE');
    out.push(s['OS-EXT-SRV-ATTR:host']);
  }
  return out;
}

async function bootMany(n: number, more: Record<string, unknown>): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await w.boot(`vm-${i}`, more);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    ids.push(r.body.server.id);
  }
  return ids;
}

describe('aggregates and availability zones decide where servers go', () => {
  it('a zone of one host takes every boot that names it; moving the host moves the next boot', async () => {
    w = await embeddedWorld(2, 3);
    const edge = await aggregate('agg1', 'edge1');
    await action(edge, { add_host: { host: 'cell2-cn0002' } });
    const first = await bootMany(4, { availability_zone: 'edge1' });
    expect(new Set(await hostsOf(first))).toEqual(new Set(['cell2-cn0002']));
    const shown = await w.call('GET', `/servers/${first[0]}`);
    expect(shown.body.server['OS-EXT-AZ:availability_zone']).toBe('edge1');

    // The operator moves the zone to a host of the other cell: the very next boot follows.
    await action(edge, { remove_host: { host: 'cell2-cn0002' } });
    await action(edge, { add_host: { host: 'cell1-cn0001' } });
    expect(await hostsOf(await bootMany(2, { availability_zone: 'edge1' }))).toEqual([
      'cell1-cn0001',
      'cell1-cn0001',
    ]);
    // Unzoned boots may still go anywhere, the zone's host included.
    const anywhere = await hostsOf(await bootMany(4, {})); // 10 servers: the default quota
    expect(anywhere.every((h) => /^cell[12]-cn000[123]$/.test(h))).toBe(true);
  });

  it('aggregate_instance_extra_specs: a flavor asking ssd=true lands only on the aggregate with that metadata, in the one cell holding it', async () => {
    w = await embeddedWorld(2, 3);
    const flavor = await w.call('POST', '/flavors', {
      flavor: { name: 'ssd.tiny', id: 'ssd', ram: 512, vcpus: 1, disk: 1 },
    });
    expect(flavor.status).toBe(200);
    const spec = await w.call('POST', '/flavors/ssd/os-extra_specs', {
      extra_specs: { 'aggregate_instance_extra_specs:ssd': 'true' },
    });
    expect(spec.status).toBe(200);
    const fast = await aggregate('fast');
    await action(fast, { add_host: { host: 'cell2-cn0003' } });
    await action(fast, { add_host: { host: 'cell2-cn0001' } });
    await action(fast, { set_metadata: { metadata: { ssd: 'true' } } });
    const hosts = await hostsOf(await bootMany(6, { flavorRef: 'ssd' }));
    expect(hosts.every((h) => h === 'cell2-cn0003' || h === 'cell2-cn0001')).toBe(true);

    // The metadata taken off: nothing matches any more, and the build says why.
    await action(fast, { set_metadata: { metadata: { ssd: null } } });
    const [id] = await bootMany(1, { flavorRef: 'ssd' });
    const s = await w.settled(id!);
    expect(s.status).toBe('ERROR');
    expect(s.fault.message).toMatch(/aggregate/);
  });

  it('filter_tenant_id keeps other projects off a host; trait:X=required metadata keeps requests not asking X off', async () => {
    w = await embeddedWorld(1, 3);
    const iso = await aggregate('p1-only');
    await action(iso, { add_host: { host: 'cell1-cn0001' } });
    await action(iso, { set_metadata: { metadata: { filter_tenant_id: 'p1' } } });
    const gpus = await aggregate('gpus');
    await action(gpus, { add_host: { host: 'cell1-cn0002' } });
    await action(gpus, { set_metadata: { metadata: { 'trait:CUSTOM_GPU': 'required' } } });
    // Project p2 asks for nothing special: neither isolated host takes it.
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await w.call(
        'POST',
        '/servers',
        { server: { name: `p2-${i}`, imageRef: 'cirros', flavorRef: '1', networks: 'none' } },
        { ...V, 'x-project-id': 'p2' },
      );
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      ids.push(r.body.server.id);
    }
    expect(new Set(await hostsOf(ids))).toEqual(new Set(['cell1-cn0003']));
  });
});
