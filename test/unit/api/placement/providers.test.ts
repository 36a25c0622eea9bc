/** Resource providers, inventories, traits, aggregates and resource classes through the API. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGG1, AGG2, CHILD, error, type Harness, harness, provider, RP1, RP2 } from './helpers.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(() => h.close());

describe('resource providers', () => {
  it.each([
    // version → create status, body?, links, parent/root fields, last-modified
    ['1.0', 201, false, 3, false, false],
    ['1.14', 201, false, 6, true, false],
    ['1.19', 201, false, 6, true, true],
    ['1.20', 200, true, 6, true, true],
  ])(
    'at %s POST answers %i (body %s), GET shows %i links',
    async (version, status, hasBody, links, tree, lm) => {
      const r = await h.call('POST', '/resource_providers', { version, body: { name: 'cn1', uuid: RP1 } });
      expect(r.status).toBe(status);
      expect(r.headers.location).toBe(`http://localhost:80/resource_providers/${RP1}`);
      expect(r.body.length > 0).toBe(hasBody);
      const g = await h.call('GET', `/resource_providers/${RP1}`, { version });
      expect(g.json.links).toHaveLength(links);
      expect('root_provider_uuid' in g.json).toBe(tree);
      expect(g.headers['last-modified'] !== undefined).toBe(lm);
      if (lm) expect(g.headers['cache-control']).toBe('no-cache');
    },
  );

  it('duplicate names are 409 placement.duplicate_name; unknown parent 400', async () => {
    await provider(h, RP1, 'cn1');
    const dup = await h.call('POST', '/resource_providers', { version: '1.39', body: { name: 'cn1' } });
    expect(dup.status).toBe(409);
    expect(error(dup).code).toBe('placement.duplicate_name');
    const orphan = await h.call('POST', '/resource_providers', {
      version: '1.39',
      body: { name: 'x', parent_provider_uuid: RP2 },
    });
    expect(orphan.status).toBe(400);
  });

  it('PUT renames and re-parents from 1.37 only; DELETE refuses a parent', async () => {
    await provider(h, RP1, 'cn1');
    await provider(h, RP2, 'cn2');
    await provider(h, CHILD, 'numa0', {}, RP1);
    const moved = await h.call('PUT', `/resource_providers/${CHILD}`, {
      version: '1.36',
      body: { name: 'numa0', parent_provider_uuid: RP2 },
    });
    expect(moved.status).toBe(400);
    const ok = await h.call('PUT', `/resource_providers/${CHILD}`, {
      version: '1.37',
      body: { name: 'numa-zero', parent_provider_uuid: RP2 },
    });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ name: 'numa-zero', parent_provider_uuid: RP2, root_provider_uuid: RP2 });
    const del = await h.call('DELETE', `/resource_providers/${RP2}`, { version: '1.39' });
    expect(del.status).toBe(409);
    expect(error(del).code).toBe('placement.resource_provider.cannot_delete_parent');
    expect((await h.call('DELETE', `/resource_providers/${CHILD}`, { version: '1.39' })).status).toBe(204);
    expect((await h.call('GET', `/resource_providers/${CHILD}`, { version: '1.39' })).status).toBe(404);
  });

  it('GET /resource_providers filters by name, member_of, resources, in_tree, required', async () => {
    await provider(h, RP1, 'cn1', { VCPU: { total: 8 } });
    await provider(h, RP2, 'cn2', { VCPU: { total: 2 } });
    await provider(h, CHILD, 'numa0', {}, RP1);
    await h.call('PUT', `/resource_providers/${RP1}/aggregates`, {
      version: '1.39',
      body: { aggregates: [AGG1], resource_provider_generation: 1 },
    });
    await h.call('PUT', `/resource_providers/${RP2}/traits`, {
      version: '1.39',
      body: { traits: ['HW_CPU_X86_AVX2'], resource_provider_generation: 1 },
    });
    const names = async (q: string, version = '1.39') => {
      const r = await h.call('GET', `/resource_providers?${q}`, { version });
      expect(r.status, r.body).toBe(200);
      return r.json.resource_providers.map((p: { name: string }) => p.name);
    };
    expect(await names('name=cn2')).toEqual(['cn2']);
    expect(await names(`member_of=${AGG1}`)).toEqual(['cn1']);
    expect(await names(`member_of=in:${AGG1},${AGG2}`)).toEqual(['cn1']);
    expect(await names(`member_of=!${AGG1}`)).toEqual(['cn2', 'numa0']);
    expect(await names('resources=VCPU:4')).toEqual(['cn1']); // 8 fits 4, 2 does not
    expect(await names(`in_tree=${CHILD}`)).toEqual(['cn1', 'numa0']);
    expect(await names('required=HW_CPU_X86_AVX2')).toEqual(['cn2']);
    expect(await names('required=!HW_CPU_X86_AVX2')).toEqual(['cn1', 'numa0']);
    expect(await names('required=in:HW_CPU_X86_AVX2,STORAGE_DISK_SSD')).toEqual(['cn2']);
    const oldNot = await h.call('GET', '/resource_providers?required=!HW_CPU_X86_AVX2', { version: '1.21' });
    expect(oldNot.status).toBe(400);
    const badRc = await h.call('GET', '/resource_providers?resources=NOPE:1', { version: '1.39' });
    expect(error(badRc).detail).toContain('No such resource class NOPE');
    expect((await h.call('GET', '/resource_providers?in_tree=x', { version: '1.13' })).status).toBe(400);
  });
});

describe('inventories', () => {
  it('PUT replaces, bumps the generation; a stale generation is 409 concurrent_update', async () => {
    const gen = await provider(h, RP1, 'cn1', { VCPU: { total: 8, allocation_ratio: 16 } });
    expect(gen).toBe(1);
    const get = await h.call('GET', `/resource_providers/${RP1}/inventories`, { version: '1.39' });
    expect(get.json).toEqual({
      resource_provider_generation: 1,
      inventories: {
        VCPU: {
          total: 8,
          reserved: 0,
          min_unit: 1,
          max_unit: 2147483647,
          step_size: 1,
          allocation_ratio: 16,
        },
      },
    });
    const stale = await h.call('PUT', `/resource_providers/${RP1}/inventories`, {
      version: '1.39',
      body: { resource_provider_generation: 0, inventories: {} },
    });
    expect(stale.status).toBe(409);
    expect(error(stale).code).toBe('placement.concurrent_update');
  });

  it('unknown class 400; reserved == total only from 1.26', async () => {
    await provider(h, RP1, 'cn1');
    const unknown = await h.call('PUT', `/resource_providers/${RP1}/inventories`, {
      version: '1.39',
      body: { resource_provider_generation: 0, inventories: { CUSTOM_NOPE: { total: 1 } } },
    });
    expect(unknown.status).toBe(400);
    expect(error(unknown).detail).toContain('CUSTOM_NOPE');
    const body = { resource_provider_generation: 0, inventories: { VCPU: { total: 4, reserved: 4 } } };
    const old = await h.call('PUT', `/resource_providers/${RP1}/inventories`, { version: '1.25', body });
    expect(old.status).toBe(400);
    expect(
      (await h.call('PUT', `/resource_providers/${RP1}/inventories`, { version: '1.26', body })).status,
    ).toBe(200);
  });

  it('single-class POST/GET/PUT/DELETE', async () => {
    await provider(h, RP1, 'cn1');
    const post = await h.call('POST', `/resource_providers/${RP1}/inventories`, {
      version: '1.39',
      body: { resource_class: 'DISK_GB', total: 100 },
    });
    expect(post.status).toBe(201);
    expect(post.headers.location).toContain(`/resource_providers/${RP1}/inventories/DISK_GB`);
    expect(post.json).toMatchObject({ total: 100, resource_provider_generation: 1 });
    const put = await h.call('PUT', `/resource_providers/${RP1}/inventories/DISK_GB`, {
      version: '1.39',
      body: { total: 200, resource_provider_generation: 1 },
    });
    expect(put.json).toMatchObject({ total: 200, resource_provider_generation: 2 });
    const get = await h.call('GET', `/resource_providers/${RP1}/inventories/DISK_GB`, { version: '1.39' });
    expect(get.json.total).toBe(200);
    expect(
      (await h.call('DELETE', `/resource_providers/${RP1}/inventories/DISK_GB`, { version: '1.39' })).status,
    ).toBe(204);
    expect(
      (await h.call('GET', `/resource_providers/${RP1}/inventories/DISK_GB`, { version: '1.39' })).status,
    ).toBe(404);
  });
});

describe('traits, aggregates, resource classes', () => {
  it('provider traits need known traits; /traits filters by name and association', async () => {
    await provider(h, RP1, 'cn1');
    const unknown = await h.call('PUT', `/resource_providers/${RP1}/traits`, {
      version: '1.39',
      body: { traits: ['CUSTOM_FOO'], resource_provider_generation: 0 },
    });
    expect(unknown.status).toBe(400);
    expect((await h.call('PUT', '/traits/CUSTOM_FOO', { version: '1.39' })).status).toBe(201);
    expect((await h.call('PUT', '/traits/CUSTOM_FOO', { version: '1.39' })).status).toBe(204);
    expect((await h.call('PUT', '/traits/foo', { version: '1.39' })).status).toBe(400);
    const set = await h.call('PUT', `/resource_providers/${RP1}/traits`, {
      version: '1.39',
      body: { traits: ['CUSTOM_FOO', 'HW_CPU_X86_AVX2'], resource_provider_generation: 0 },
    });
    expect(set.json).toEqual({ traits: ['CUSTOM_FOO', 'HW_CPU_X86_AVX2'], resource_provider_generation: 1 });
    const custom = await h.call('GET', '/traits?name=startswith:CUSTOM_', { version: '1.39' });
    expect(custom.json.traits).toEqual(['CUSTOM_FOO']);
    const assoc = await h.call('GET', '/traits?associated=true', { version: '1.39' });
    expect(assoc.json.traits.sort()).toEqual(['CUSTOM_FOO', 'HW_CPU_X86_AVX2']);
    const inList = await h.call('GET', '/traits?name=in:CUSTOM_FOO,CUSTOM_BAR', { version: '1.39' });
    expect(inList.json.traits).toEqual(['CUSTOM_FOO']);
    expect((await h.call('DELETE', '/traits/CUSTOM_FOO', { version: '1.39' })).status).toBe(409);
    expect((await h.call('DELETE', `/resource_providers/${RP1}/traits`, { version: '1.39' })).status).toBe(
      204,
    );
    expect((await h.call('DELETE', '/traits/CUSTOM_FOO', { version: '1.39' })).status).toBe(204);
    expect((await h.call('GET', '/traits/CUSTOM_FOO', { version: '1.39' })).status).toBe(404);
  });

  it('aggregates: a bare list before 1.19, with the generation from 1.19', async () => {
    await provider(h, RP1, 'cn1');
    const old = await h.call('PUT', `/resource_providers/${RP1}/aggregates`, {
      version: '1.1',
      body: [AGG1],
    });
    expect(old.status).toBe(200);
    expect(old.json).toEqual({ aggregates: [AGG1] });
    const g = await h.call('GET', `/resource_providers/${RP1}/aggregates`, { version: '1.19' });
    const gen = g.json.resource_provider_generation;
    const stale = await h.call('PUT', `/resource_providers/${RP1}/aggregates`, {
      version: '1.23',
      body: { aggregates: [AGG2], resource_provider_generation: gen + 1 },
    });
    expect(error(stale).code).toBe('placement.concurrent_update');
    const now = await h.call('PUT', `/resource_providers/${RP1}/aggregates`, {
      version: '1.19',
      body: { aggregates: [AGG2], resource_provider_generation: gen },
    });
    expect(now.json).toEqual({ aggregates: [AGG2], resource_provider_generation: gen + 1 });
    expect(
      (await h.call('PUT', `/resource_providers/${RP1}/aggregates`, { version: '1.19', body: [AGG1] }))
        .status,
    ).toBe(400);
  });

  it('resource classes: POST 201 + 409, PUT 201/204 from 1.7, standard ones cannot go', async () => {
    const post = await h.call('POST', '/resource_classes', { version: '1.39', body: { name: 'CUSTOM_GPU' } });
    expect(post.status).toBe(201);
    expect(post.headers.location).toContain('/resource_classes/CUSTOM_GPU');
    expect(
      (await h.call('POST', '/resource_classes', { version: '1.39', body: { name: 'CUSTOM_GPU' } })).status,
    ).toBe(409);
    expect(
      (await h.call('POST', '/resource_classes', { version: '1.39', body: { name: 'GPU' } })).status,
    ).toBe(400);
    expect((await h.call('PUT', '/resource_classes/CUSTOM_FPGA', { version: '1.39' })).status).toBe(201);
    expect((await h.call('PUT', '/resource_classes/CUSTOM_FPGA', { version: '1.39' })).status).toBe(204);
    const get = await h.call('GET', '/resource_classes/CUSTOM_GPU', { version: '1.39' });
    expect(get.json).toEqual({
      name: 'CUSTOM_GPU',
      links: [{ rel: 'self', href: '/resource_classes/CUSTOM_GPU' }],
    });
    const list = await h.call('GET', '/resource_classes', { version: '1.39' });
    expect(list.json.resource_classes.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['VCPU', 'CUSTOM_GPU', 'CUSTOM_FPGA']),
    );
    expect((await h.call('DELETE', '/resource_classes/VCPU', { version: '1.39' })).status).toBe(400);
    expect((await h.call('DELETE', '/resource_classes/CUSTOM_GPU', { version: '1.39' })).status).toBe(204);
    expect((await h.call('GET', '/resource_classes/CUSTOM_GPU', { version: '1.39' })).status).toBe(404);
  });
});
