/** Server groups per microversion and quota sets, with the pure quota check POST /servers will call. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkQuota, instancesThatFit } from '../../../../api/compute/quota.ts';
import { ComputeStore } from '../../../../api/compute/store/index.ts';
import { expectRow, type Harness, harness, type Row } from './helpers.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(() => h.close());

const G = (server_group: Record<string, unknown>) => ({ server_group });

describe('server groups', () => {
  it.each([
    // version, body → shape
    [
      '2.1',
      G({ name: 'g', policies: ['anti-affinity'] }),
      { policies: ['anti-affinity'], metadata: {}, members: [] },
    ],
    [
      '2.15',
      G({ name: 'g', policies: ['soft-affinity'] }),
      { policies: ['soft-affinity'], project_id: 'admin', user_id: 'admin' },
    ],
    [
      '2.64',
      G({ name: 'g', policy: 'anti-affinity', rules: { max_server_per_host: 3 } }),
      { policy: 'anti-affinity', rules: { max_server_per_host: 3 } },
    ],
    ['2.64', G({ name: 'g', policy: 'soft-anti-affinity' }), { policy: 'soft-anti-affinity', rules: {} }],
  ])('create at %s', async (version, body, shape) => {
    const r = await h.call('POST', '/v2.1/os-server-groups', { version, body });
    expect(r.status).toBe(200);
    expect(r.json.server_group).toMatchObject({
      id: '00000000-0000-4000-8000-000000000001',
      name: 'g',
      ...shape,
    });
  });

  it.each<Row>([
    {
      name: 'soft policy before 2.15',
      method: 'POST',
      url: '/v2.1/os-server-groups',
      version: '2.14',
      body: G({ name: 'g', policies: ['soft-affinity'] }),
      status: 400,
      fault: 'badRequest',
      message: "'soft-affinity' is not one of ['anti-affinity', 'affinity']",
    },
    {
      name: 'two policies',
      method: 'POST',
      url: '/v2.1/os-server-groups',
      body: G({ name: 'g', policies: ['affinity', 'anti-affinity'] }),
      status: 400,
      fault: 'badRequest',
    },
    {
      name: 'policies at 2.64',
      method: 'POST',
      url: '/v2.1/os-server-groups',
      version: '2.64',
      body: G({ name: 'g', policies: ['affinity'] }),
      status: 400,
      fault: 'badRequest',
      message: "'policy' is a required property",
    },
    {
      name: 'rules on affinity',
      method: 'POST',
      url: '/v2.1/os-server-groups',
      version: '2.64',
      body: G({ name: 'g', policy: 'affinity', rules: { max_server_per_host: 2 } }),
      status: 400,
      fault: 'badRequest',
      message: 'Only anti-affinity policy supports rules.',
    },
    {
      name: 'zero max per host',
      method: 'POST',
      url: '/v2.1/os-server-groups',
      version: '2.64',
      body: G({ name: 'g', policy: 'anti-affinity', rules: { max_server_per_host: 0 } }),
      status: 400,
      fault: 'badRequest',
      message: 'Invalid input for field/attribute max_server_per_host',
    },
    {
      name: 'unknown rule',
      method: 'POST',
      url: '/v2.1/os-server-groups',
      version: '2.64',
      body: G({ name: 'g', policy: 'anti-affinity', rules: { foo: 1 } }),
      status: 400,
      fault: 'badRequest',
    },
    {
      name: 'show missing',
      method: 'GET',
      url: '/v2.1/os-server-groups/nope',
      status: 404,
      fault: 'itemNotFound',
      message: 'Instance group nope could not be found.',
    },
    {
      name: 'strict query from 2.75',
      method: 'GET',
      url: '/v2.1/os-server-groups?bogus=1',
      version: '2.75',
      status: 400,
      fault: 'badRequest',
    },
  ])('$name → $status', async (row) => {
    await expectRow(h, row);
  });

  it('lists own project by creation order with limit/offset, all projects on request; delete 204', async () => {
    for (const [p, n] of [
      ['p1', 'a'],
      ['p2', 'b'],
      ['p1', 'c'],
      ['p1', 'd'],
    ])
      await h.call('POST', '/v2.1/os-server-groups', {
        body: G({ name: n, policies: ['affinity'] }),
        headers: { 'x-project-id': p! },
      });
    const names = async (q: string, project = 'p1') =>
      (
        await h.call('GET', `/v2.1/os-server-groups${q}`, { headers: { 'x-project-id': project } })
      ).json.server_groups.map((g: { name: string }) => g.name);
    expect(await names('')).toEqual(['a', 'c', 'd']);
    expect(await names('?limit=1&offset=1')).toEqual(['c']);
    expect(await names('?all_projects=True')).toEqual(['a', 'b', 'c', 'd']);
    expect(
      (await h.call('DELETE', '/v2.1/os-server-groups/00000000-0000-4000-8000-000000000001')).status,
    ).toBe(204);
    expect(await names('')).toEqual(['c', 'd']);
  });

  it('members are kept for the servers API and shown', async () => {
    await h.call('POST', '/v2.1/os-server-groups', { body: G({ name: 'g', policies: ['affinity'] }) });
    const id = '00000000-0000-4000-8000-000000000001';
    const groups = new ComputeStore(h.store).serverGroups;
    await groups.addMembers(id, ['i1', 'i2']);
    await groups.addMembers(id, ['i2', 'i3']);
    await groups.removeMembers(id, ['i1']);
    expect((await h.call('GET', `/v2.1/os-server-groups/${id}`)).json.server_group.members).toEqual([
      'i2',
      'i3',
    ]);
  });

  it('enforces the server_groups quota with 403', async () => {
    await h.call('PUT', '/v2.1/os-quota-sets/admin', { body: { quota_set: { server_groups: 1 } } });
    expect(
      (await h.call('POST', '/v2.1/os-server-groups', { body: G({ name: 'a', policies: ['affinity'] }) }))
        .status,
    ).toBe(200);
    const r = await h.call('POST', '/v2.1/os-server-groups', {
      body: G({ name: 'b', policies: ['affinity'] }),
    });
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ forbidden: { code: 403, message: 'Quota exceeded, too many server groups.' } });
  });
});

describe('quota sets', () => {
  it('show per microversion: network quotas until 2.35, injected files until 2.56', async () => {
    const keys = async (v: string) =>
      Object.keys((await h.call('GET', '/v2.1/os-quota-sets/p1', { version: v })).json.quota_set).sort();
    expect(await keys('2.35')).toContain('floating_ips');
    expect(await keys('2.36')).not.toContain('floating_ips');
    expect(await keys('2.36')).toContain('injected_files');
    expect(await keys('2.57')).toEqual([
      'cores',
      'id',
      'instances',
      'key_pairs',
      'metadata_items',
      'ram',
      'server_group_members',
      'server_groups',
    ]);
    const r = await h.call('GET', '/v2.1/os-quota-sets/p1', { version: '2.57' });
    expect(r.json.quota_set).toMatchObject({ id: 'p1', instances: 10, cores: 20, ram: 51200 });
  });

  it('update, detail with usage, refuse below usage unless forced, delete back to defaults', async () => {
    h.usage.set('p1', { instances: 3, cores: 18, ram: 4096 });
    const up = await h.call('PUT', '/v2.1/os-quota-sets/p1', {
      version: '2.57',
      body: { quota_set: { cores: '40', ram: -1 } },
    });
    expect(up.status).toBe(200);
    expect(up.json.quota_set).toMatchObject({ cores: 40, ram: -1, instances: 10 });
    expect(up.json.quota_set).not.toHaveProperty('id');
    const detail = await h.call('GET', '/v2.1/os-quota-sets/p1/detail', { version: '2.57' });
    expect(detail.json.quota_set.cores).toEqual({ in_use: 18, limit: 40, reserved: 0 });
    const low = await h.call('PUT', '/v2.1/os-quota-sets/p1', { body: { quota_set: { cores: 10 } } });
    expect(low.status).toBe(400);
    expect(low.json.badRequest.message).toBe(
      'Quota limit 10 for cores must be greater than or equal to already used and reserved 18.',
    );
    const forced = await h.call('PUT', '/v2.1/os-quota-sets/p1', {
      body: { quota_set: { cores: 10, force: true } },
    });
    expect(forced.json.quota_set.cores).toBe(10);
    expect((await h.call('DELETE', '/v2.1/os-quota-sets/p1')).status).toBe(202);
    expect((await h.call('GET', '/v2.1/os-quota-sets/p1')).json.quota_set.cores).toBe(20);
    expect((await h.call('GET', '/v2.1/os-quota-sets/p1/defaults')).json.quota_set).toMatchObject({
      id: 'p1',
      cores: 20,
    });
  });

  it.each<Row>([
    {
      name: 'below -1',
      method: 'PUT',
      url: '/v2.1/os-quota-sets/p1',
      body: { quota_set: { cores: -2 } },
      status: 400,
      fault: 'badRequest',
      message: 'Invalid input for field/attribute cores',
    },
    {
      name: 'not a number',
      method: 'PUT',
      url: '/v2.1/os-quota-sets/p1',
      body: { quota_set: { cores: 'many' } },
      status: 400,
      fault: 'badRequest',
    },
    {
      name: 'removed resource at 2.36',
      method: 'PUT',
      url: '/v2.1/os-quota-sets/p1',
      version: '2.36',
      body: { quota_set: { floating_ips: 5 } },
      status: 400,
      fault: 'badRequest',
      message: "('floating_ips' was unexpected)",
    },
    {
      name: 'per-user quota',
      method: 'GET',
      url: '/v2.1/os-quota-sets/p1?user_id=u',
      status: 400,
      fault: 'badRequest',
      message: 'Per-user quotas are not supported',
    },
  ])('$name → $status', async (row) => {
    await expectRow(h, row);
  });

  it('configured defaults apply', async () => {
    const h2 = await harness({ quotaDefaults: { instances: 3 } });
    expect((await h2.call('GET', '/v2.1/os-quota-sets/x')).json.quota_set.instances).toBe(3);
    await h2.close();
  });
});

describe('checkQuota (pure, for POST /servers)', () => {
  const limits = { instances: 10, cores: 20, ram: 51200 };
  it.each([
    // usage, request → verdict message (undefined = ok)
    [
      { instances: 5, cores: 18, ram: 1024 },
      { instances: 1, cores: 4, ram: 512 },
      'Quota exceeded for cores: Requested 4, but already used 18 of 20 cores',
    ],
    // 16 + 4 = 20 fits exactly.
    [{ instances: 5, cores: 16, ram: 1024 }, { instances: 1, cores: 4, ram: 512 }, undefined],
    // Two over: sorted, joined with ", " as Nova does.
    [
      { instances: 10, cores: 18, ram: 1024 },
      { instances: 1, cores: 4, ram: 512 },
      'Quota exceeded for cores, instances: Requested 4, 1, but already used 18, 10 of 20, 10 cores, instances',
    ],
    [
      { instances: 0, cores: 0, ram: 51000 },
      { instances: 1, cores: 1, ram: 512 },
      'Quota exceeded for ram: Requested 512, but already used 51000 of 51200 ram',
    ],
  ])('usage %j + request %j', (usage, request, message) => {
    const v = checkQuota(usage, limits, request);
    if (message === undefined) expect(v).toEqual({ ok: true });
    else expect(v).toMatchObject({ ok: false, message });
  });

  it('-1 is unlimited; instancesThatFit gives the headroom', () => {
    expect(
      checkQuota(
        { instances: 1e6, cores: 1e6, ram: 1e9 },
        { instances: -1, cores: -1, ram: -1 },
        { instances: 1, cores: 1, ram: 1 },
      ),
    ).toEqual({ ok: true });
    // cores: (20-12)/4 = 2, ram: (51200-0)/2048 = 25, instances: 10-1 = 9 → 2.
    expect(instancesThatFit({ instances: 1, cores: 12, ram: 0 }, limits, { cores: 4, ram: 2048 })).toBe(2);
    expect(instancesThatFit(ZERO, { instances: -1, cores: -1, ram: -1 }, { cores: 4, ram: 2048 })).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});
const ZERO = { instances: 0, cores: 0, ram: 0 };
