/**
 * The Placement API over the fleet's live provider trees (deploy/fleet-placement.ts), on the
 * embedded control plane: every host of every cell is a resource provider, a server's claim is a
 * Placement allocation with its consumer and project, usages follow boots and deletes without
 * polling; an operator's trait set and inventory --reserved go to the host's tree actor, change
 * the next boots and survive the host registering again; what is the compute path's is 501.
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

  it('trait set and inventory --reserved on a compute node change the next boots, and survive the host registering again', async () => {
    w = await embeddedWorld(1, 2);
    const rps = (await placement('GET', '/resource_providers')).body.resource_providers as Array<{
      uuid: string;
      name: string;
      generation: number;
    }>;
    const [one, two] = [
      rps.find((p) => p.name === 'cell1-cn0001')!,
      rps.find((p) => p.name === 'cell1-cn0002')!,
    ];
    // openstack trait create CUSTOM_FAST; openstack resource provider trait set --trait CUSTOM_FAST <cn0002>
    expect((await placement('PUT', '/traits/CUSTOM_FAST')).status).toBe(201);
    const traits = (await placement('GET', `/resource_providers/${two.uuid}/traits`)).body;
    const set = await placement('PUT', `/resource_providers/${two.uuid}/traits`, {
      traits: [...traits.traits, 'CUSTOM_FAST'],
      resource_provider_generation: traits.resource_provider_generation,
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.resource_provider_generation).toBe(traits.resource_provider_generation + 1);
    await w.call('POST', '/flavors', { flavor: { name: 'fast', id: 'fast', ram: 512, vcpus: 1, disk: 1 } });
    await w.call('POST', '/flavors/fast/os-extra_specs', {
      extra_specs: { 'trait:CUSTOM_FAST': 'required' },
    });
    for (let i = 0; i < 3; i++) {
      const s = await w.settled((await w.boot(`fast-${i}`, { flavorRef: 'fast' })).body.server.id);
      expect([s.status, s['OS-EXT-SRV-ATTR:host']]).toEqual(['ACTIVE', 'cell1-cn0002']);
    }

    // openstack resource provider inventory set <cn0001> --resource VCPU:reserved=<total> …
    const inv = (await placement('GET', `/resource_providers/${one.uuid}/inventories`)).body;
    const inventories = {
      ...inv.inventories,
      VCPU: { ...inv.inventories.VCPU, reserved: inv.inventories.VCPU.total },
    };
    const put = await placement('PUT', `/resource_providers/${one.uuid}/inventories`, {
      inventories,
      resource_provider_generation: inv.resource_provider_generation,
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    // The host's agent registers its tree again (a restart): the operator's changes stay.
    w.e.roles.get('cell1')!.resyncHosts();
    await w.clock.advance(1_000);
    for (let i = 0; i < 3; i++) {
      const s = await w.settled((await w.boot(`plain-${i}`)).body.server.id);
      expect([s.status, s['OS-EXT-SRV-ATTR:host']]).toEqual(['ACTIVE', 'cell1-cn0002']);
    }
    const after = (await placement('GET', `/resource_providers/${one.uuid}/inventories`)).body;
    expect(after.inventories.VCPU.reserved).toBe(inv.inventories.VCPU.total);
    expect((await placement('GET', `/resource_providers/${two.uuid}/traits`)).body.traits).toContain(
      'CUSTOM_FAST',
    );
  });

  it('a trait just set on a host of the other cell: the very next boot asking it goes to that cell', async () => {
    w = await embeddedWorld(2, 2);
    const rps = (await placement('GET', '/resource_providers')).body.resource_providers as Array<{
      uuid: string;
      name: string;
    }>;
    const target = rps.find((p) => p.name === 'cell2-cn0002')!;
    await placement('PUT', '/traits/CUSTOM_GPU_NEW');
    const traits = (await placement('GET', `/resource_providers/${target.uuid}/traits`)).body;
    const set = await placement('PUT', `/resource_providers/${target.uuid}/traits`, {
      traits: [...traits.traits, 'CUSTOM_GPU_NEW'],
      resource_provider_generation: traits.resource_provider_generation,
    });
    expect(set.status).toBe(200);
    await w.call('POST', '/flavors', { flavor: { name: 'gpu', id: 'gpu', ram: 512, vcpus: 1, disk: 1 } });
    await w.call('POST', '/flavors/gpu/os-extra_specs', {
      extra_specs: { 'trait:CUSTOM_GPU_NEW': 'required' },
    });
    // No capacity report since the write: the cell choice knows from the Placement view.
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await w.boot(`gpu-${i}`, { flavorRef: 'gpu' })).body.server.id);
    for (const id of ids) {
      const s = await w.settled(id);
      expect([s.status, s['OS-EXT-SRV-ATTR:host']]).toEqual(['ACTIVE', 'cell2-cn0002']);
    }
  });

  it('creating a provider or writing allocations is refused with 501, and changes nothing', async () => {
    w = await embeddedWorld(1, 1);
    const created = await placement('POST', '/resource_providers', { name: 'sharing-disk' });
    expect(created.status).toBe(501);
    expect(JSON.stringify(created.body)).toMatch(/creating or deleting providers and writing allocations/);
    expect((await placement('GET', '/resource_providers')).body.resource_providers).toHaveLength(1);
  });
});
