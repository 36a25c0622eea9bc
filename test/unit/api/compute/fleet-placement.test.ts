/**
 * The Placement API over the fleet's live provider trees (deploy/fleet-placement.ts), on the
 * embedded control plane: every host of every cell is a resource provider, a server's claim is a
 * Placement allocation with its consumer and project, usages follow boots and deletes without
 * polling, and a write is refused (501) with what to use instead.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { embeddedWorld, type World } from './embedded-fixture.ts';

let w: World;
afterEach(async () => {
  await w?.e.stop();
});

const PV = { 'openstack-api-version': 'placement 1.39', 'content-type': 'application/json' };

async function placement(method: string, url: string, payload?: unknown) {
  const r = await w.e.placementApp.inject({
    method: method as 'GET',
    url,
    headers: PV,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
}

describe('Placement over the live fleet', () => {
  it('lists every host of every cell; a server is an allocation; usages follow boots and deletes', async () => {
    w = await embeddedWorld(2, 3);
    const list = await placement('GET', '/resource_providers');
    expect(list.status).toBe(200);
    const names = list.body.resource_providers.map((p: { name: string }) => p.name).sort();
    expect(names).toEqual([
      'cell1-cn0001',
      'cell1-cn0002',
      'cell1-cn0003',
      'cell2-cn0001',
      'cell2-cn0002',
      'cell2-cn0003',
    ]);

    const r = await w.boot('vm-1'); // m1.tiny: 1 VCPU, 512 MB, 1 GB
    const s = await w.settled(r.body.server.id);
    expect(s.status).toBe('ACTIVE');
    const host = s['OS-EXT-SRV-ATTR:host'] as string;
    const rp = list.body.resource_providers.find((p: { name: string }) => p.name === host);
    await w.until('the claim is seen', async () => {
      const a = await placement('GET', `/allocations/${s.id}`);
      return a.status === 200 && Object.keys(a.body.allocations).length > 0;
    });
    const alloc = await placement('GET', `/allocations/${s.id}`);
    expect(alloc.body).toMatchObject({
      allocations: { [rp.uuid]: { resources: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 } } },
      project_id: 'admin',
    });
    const usages = await placement('GET', `/resource_providers/${rp.uuid}/usages`);
    expect(usages.body.usages).toMatchObject({ VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 });

    expect((await w.call('DELETE', `/servers/${s.id}`)).status).toBe(204);
    await w.until('the allocation is gone', async () => {
      const u = await placement('GET', `/resource_providers/${rp.uuid}/usages`);
      return u.body.usages.VCPU === 0;
    });
    expect((await placement('GET', `/allocations/${s.id}`)).body.allocations).toEqual({});
  });

  it('a write is refused with 501 naming what to use instead', async () => {
    w = await embeddedWorld(1, 1);
    const [rp] = (await placement('GET', '/resource_providers')).body.resource_providers;
    const put = await placement('PUT', `/resource_providers/${rp.uuid}/traits`, {
      traits: ['CUSTOM_X'],
      resource_provider_generation: rp.generation,
    });
    expect(put.status).toBe(501);
    expect(JSON.stringify(put.body)).toMatch(/read-only for now/);
  });
});
