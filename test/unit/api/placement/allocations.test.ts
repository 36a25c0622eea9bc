/** Allocations in every body form, usages, allocation candidates and the reshaper through the API. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { C1, C2, CHILD, error, type Harness, harness, provider, RP1, RP2 } from './helpers.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
  await provider(h, RP1, 'cn1', { VCPU: { total: 4 }, MEMORY_MB: { total: 4096 } });
});
afterEach(() => h.close());

const put = (consumer: string, version: string, body: unknown) =>
  h.call('PUT', `/allocations/${consumer}`, { version, body });

describe('allocations', () => {
  it.each([
    // version, body form, what GET shows
    ['1.0', { allocations: [{ resource_provider: { uuid: RP1 }, resources: { VCPU: 1 } }] }, []],
    [
      '1.8',
      {
        allocations: [{ resource_provider: { uuid: RP1 }, resources: { VCPU: 1 } }],
        project_id: 'p',
        user_id: 'u',
      },
      [],
    ],
    [
      '1.12',
      { allocations: { [RP1]: { resources: { VCPU: 1 } } }, project_id: 'p', user_id: 'u' },
      ['project_id'],
    ],
    [
      '1.28',
      {
        allocations: { [RP1]: { resources: { VCPU: 1 } } },
        project_id: 'p',
        user_id: 'u',
        consumer_generation: null,
      },
      ['project_id', 'consumer_generation'],
    ],
    [
      '1.38',
      {
        allocations: { [RP1]: { resources: { VCPU: 1 } } },
        project_id: 'p',
        user_id: 'u',
        consumer_generation: null,
        consumer_type: 'INSTANCE',
      },
      ['project_id', 'consumer_generation', 'consumer_type'],
    ],
  ])('at %s the body form is accepted and GET shows %j', async (version, body, fields) => {
    expect((await put(C1, version, body)).status).toBe(204);
    const g = await h.call('GET', `/allocations/${C1}`, { version });
    expect(g.json.allocations[RP1]).toEqual({ resources: { VCPU: 1 }, generation: 2 });
    for (const f of ['project_id', 'consumer_generation', 'consumer_type'])
      expect(f in g.json, f).toBe((fields as string[]).includes(f));
  });

  it('consumer generations from 1.28: null to create, then the current one; stale is 409', async () => {
    const body = (gen: number | null, vcpu: number) => ({
      allocations: { [RP1]: { resources: { VCPU: vcpu } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: gen,
    });
    expect((await put(C1, '1.28', body(null, 1))).status).toBe(204);
    const stale = await put(C1, '1.28', body(null, 2));
    expect(stale.status).toBe(409);
    expect(error(await put(C1, '1.39', { ...body(null, 2), consumer_type: 'INSTANCE' })).code).toBe(
      'placement.concurrent_update',
    );
    expect((await put(C1, '1.28', body(1, 2))).status).toBe(204);
    expect((await h.call('GET', `/allocations/${C1}`, { version: '1.28' })).json.consumer_generation).toBe(2);
    expect((await put(C1, '1.27', body(7, 1))).status).toBe(400); // consumer_generation unknown before 1.28
  });

  it('over capacity, unknown provider and unknown class are refused', async () => {
    const over = await put(C1, '1.39', {
      allocations: { [RP1]: { resources: { VCPU: 5 } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: null,
      consumer_type: 'INSTANCE',
    });
    expect(over.status).toBe(409);
    expect(error(over).detail).toContain('exceed the capacity');
    const noRp = await put(C1, '1.12', {
      allocations: { [RP2]: { resources: { VCPU: 1 } } },
      project_id: 'p',
      user_id: 'u',
    });
    expect(noRp.status).toBe(400);
    const noRc = await put(C1, '1.12', {
      allocations: { [RP1]: { resources: { CUSTOM_X: 1 } } },
      project_id: 'p',
      user_id: 'u',
    });
    expect(noRc.status).toBe(400);
  });

  it('POST /allocations writes several consumers atomically; usages and DELETE', async () => {
    const entry = (vcpu: number) => ({
      allocations: { [RP1]: { resources: { VCPU: vcpu } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: null,
    });
    const tooMuch = await h.call('POST', '/allocations', {
      version: '1.28',
      body: { [C1]: entry(3), [C2]: entry(2) },
    });
    expect(tooMuch.status).toBe(409); // 3 + 2 > 4, although each fits alone
    expect((await h.call('GET', `/allocations/${C1}`, { version: '1.28' })).json.allocations).toEqual({});
    expect(
      (await h.call('POST', '/allocations', { version: '1.28', body: { [C1]: entry(3), [C2]: entry(1) } }))
        .status,
    ).toBe(204);
    const rpUsage = await h.call('GET', `/resource_providers/${RP1}/usages`, { version: '1.39' });
    expect(rpUsage.json.usages).toEqual({ VCPU: 4, MEMORY_MB: 0 });
    const total = await h.call('GET', '/usages?project_id=p', { version: '1.9' });
    expect(total.json).toEqual({ usages: { VCPU: 4 } });
    const typed = await h.call('GET', '/usages?project_id=p', { version: '1.38' });
    expect(typed.json).toEqual({ usages: { unknown: { consumer_count: 2, VCPU: 4 } } });
    const held = await h.call('GET', `/resource_providers/${RP1}/allocations`, { version: '1.39' });
    expect(Object.keys(held.json.allocations).sort()).toEqual([C1, C2]);
    const inUse = await h.call('DELETE', `/resource_providers/${RP1}/inventories`, { version: '1.39' });
    expect(error(inUse).code).toBe('placement.inventory.inuse');
    const oneInUse = await h.call('DELETE', `/resource_providers/${RP1}/inventories/VCPU`, {
      version: '1.39',
    });
    expect(error(oneInUse).code).toBe('placement.concurrent_update');
    expect((await h.call('DELETE', `/allocations/${C1}`, { version: '1.39' })).status).toBe(204);
    expect((await h.call('DELETE', `/allocations/${C1}`, { version: '1.39' })).status).toBe(404);
  });
});

describe('allocation candidates', () => {
  it('shapes per microversion: list form before 1.12, mappings 1.34, summaries filtered before 1.27', async () => {
    const v10 = await h.call('GET', '/allocation_candidates?resources=VCPU:1', { version: '1.10' });
    expect(v10.json.allocation_requests).toEqual([
      { allocations: [{ resource_provider: { uuid: RP1 }, resources: { VCPU: 1 } }] },
    ]);
    expect(v10.json.provider_summaries).toEqual({ [RP1]: { resources: { VCPU: { capacity: 4, used: 0 } } } });
    const v39 = await h.call('GET', '/allocation_candidates?resources=VCPU:1', { version: '1.39' });
    expect(v39.json.allocation_requests).toEqual([
      { allocations: { [RP1]: { resources: { VCPU: 1 } } }, mappings: { '': [RP1] } },
    ]);
    expect(v39.json.provider_summaries[RP1]).toEqual({
      resources: { VCPU: { capacity: 4, used: 0 }, MEMORY_MB: { capacity: 4096, used: 0 } },
      traits: [],
      parent_provider_uuid: null,
      root_provider_uuid: RP1,
    });
    expect(v39.headers['cache-control']).toBe('no-cache');
  });

  it('granular groups on a nested tree, group_policy, limit and errors', async () => {
    await provider(h, RP2, 'cn2', { VCPU: { total: 4 } });
    await provider(h, CHILD, 'gpu0', { VGPU: { total: 2 } }, RP1);
    const q = 'resources=VCPU:1&resources1=VGPU:1&group_policy=isolate';
    const r = await h.call('GET', `/allocation_candidates?${q}`, { version: '1.39' });
    expect(r.status, r.body).toBe(200);
    expect(r.json.allocation_requests).toEqual([
      {
        allocations: { [RP1]: { resources: { VCPU: 1 } }, [CHILD]: { resources: { VGPU: 1 } } },
        mappings: { '': [RP1], '1': [CHILD] },
      },
    ]);
    const limited = await h.call('GET', '/allocation_candidates?resources=VCPU:1&limit=1', {
      version: '1.39',
    });
    expect(limited.json.allocation_requests).toHaveLength(1);
    const noPolicy = await h.call('GET', '/allocation_candidates?resources1=VCPU:1&resources2=VGPU:1', {
      version: '1.39',
    });
    expect(noPolicy.status).toBe(400);
    expect(error(noPolicy).detail).toContain('group_policy');
    const strSuffix = await h.call('GET', '/allocation_candidates?resources_A=VCPU:1', { version: '1.32' });
    expect(strSuffix.status).toBe(400);
    const badRc = await h.call('GET', '/allocation_candidates?resources=NOPE:1', { version: '1.39' });
    expect(error(badRc).detail).toContain('No such resource class NOPE');
    const forbidden = await h.call(
      'GET',
      '/allocation_candidates?resources=VCPU:1&required=!HW_CPU_X86_AVX2',
      { version: '1.21' },
    );
    expect(forbidden.status).toBe(400);
  });
});

describe('reshaper', () => {
  it('moves an inventory and its allocations to a child in one step', async () => {
    await put(C1, '1.28', {
      allocations: { [RP1]: { resources: { VCPU: 2 } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: null,
    });
    await provider(h, CHILD, 'numa0', {}, RP1);
    const rp = (await h.call('GET', `/resource_providers/${RP1}`, { version: '1.39' })).json;
    const body = {
      inventories: {
        [RP1]: { resource_provider_generation: rp.generation, inventories: { MEMORY_MB: { total: 4096 } } },
        [CHILD]: { resource_provider_generation: 0, inventories: { VCPU: { total: 4 } } },
      },
      allocations: {
        [C1]: {
          allocations: { [CHILD]: { resources: { VCPU: 2 } } },
          project_id: 'p',
          user_id: 'u',
          consumer_generation: 1,
        },
      },
    };
    const r = await h.call('POST', '/reshaper', { version: '1.30', body });
    expect(r.status, r.body).toBe(204);
    const usage = await h.call('GET', `/resource_providers/${CHILD}/usages`, { version: '1.39' });
    expect(usage.json.usages).toEqual({ VCPU: 2 });
    const root = await h.call('GET', `/resource_providers/${RP1}/inventories`, { version: '1.39' });
    expect(Object.keys(root.json.inventories)).toEqual(['MEMORY_MB']);
    // Replaying with the old generations changes nothing.
    const again = await h.call('POST', '/reshaper', { version: '1.30', body });
    expect(error(again).code).toBe('placement.concurrent_update');
    expect(
      (await h.call('GET', `/resource_providers/${CHILD}/usages`, { version: '1.39' })).json.usages,
    ).toEqual({ VCPU: 2 });
  });
});
