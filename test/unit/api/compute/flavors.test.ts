/** Flavors: create/show/update/delete per microversion, validation, paging and sorting, extra specs, access. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFlavor, expectRow, type Harness, harness, type Row } from './helpers.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(() => h.close());

const small = { name: 'm1.small', id: '2', ram: 2048, vcpus: 1, disk: 20 };

describe('flavor create and show', () => {
  it('answers every field, links, and version-dependent ones', async () => {
    const r = await createFlavor(h, { ...small, description: 'd', swap: 0 });
    expect(r.json.flavor).toEqual({
      id: '2',
      name: 'm1.small',
      ram: 2048,
      disk: 20,
      swap: 0,
      'OS-FLV-EXT-DATA:ephemeral': 0,
      'OS-FLV-DISABLED:disabled': false,
      vcpus: 1,
      'os-flavor-access:is_public': true,
      rxtx_factor: 1,
      links: [
        { href: 'http://api.test/v2.1/flavors/2', rel: 'self' },
        { href: 'http://api.test/flavors/2', rel: 'bookmark' },
      ],
      description: 'd',
      extra_specs: {},
    });
    // 2.1: swap "" for zero, no description, no extra_specs.
    const old = await h.call('GET', '/v2.1/flavors/2');
    expect(old.json.flavor.swap).toBe('');
    expect(old.json.flavor).not.toHaveProperty('description');
    expect(old.json.flavor).not.toHaveProperty('extra_specs');
    expect((await h.call('GET', '/v2.1/flavors/2', { version: '2.60' })).json.flavor).not.toHaveProperty(
      'extra_specs',
    );
  });

  it('generates a uuid id when none is given and accepts digit strings', async () => {
    const r = await createFlavor(h, { name: 'auto', ram: '512', vcpus: '2', disk: '0' });
    expect(r.json.flavor.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.json.flavor).toMatchObject({ ram: 512, vcpus: 2, disk: 0 });
  });

  const F = (flavor: Record<string, unknown>) => ({ flavor });
  it.each<Row>([
    {
      name: 'missing ram',
      method: 'POST',
      url: '/v2.1/flavors',
      body: F({ name: 'x', vcpus: 1, disk: 1 }),
      status: 400,
      fault: 'badRequest',
      message:
        "Invalid input for field/attribute flavor. Value: {'name': 'x', 'vcpus': 1, 'disk': 1}. 'ram' is a required property",
    },
    {
      name: 'zero vcpus',
      method: 'POST',
      url: '/v2.1/flavors',
      body: F({ name: 'x', ram: 1, vcpus: 0, disk: 1 }),
      status: 400,
      fault: 'badRequest',
      message: 'Invalid input for field/attribute vcpus. Value: 0. 0 is less than the minimum of 1',
    },
    {
      name: 'string zero ram',
      method: 'POST',
      url: '/v2.1/flavors',
      body: F({ name: 'x', ram: '0', vcpus: 1, disk: 1 }),
      status: 400,
      fault: 'badRequest',
      // Nova's validator reads "0" as 0 before checking the minimum (validators.py _validate_minimum).
      message: 'Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1',
    },
    {
      name: 'bad id chars',
      method: 'POST',
      url: '/v2.1/flavors',
      body: F({ name: 'x', id: 'a/b', ram: 1, vcpus: 1, disk: 1 }),
      status: 400,
      fault: 'badRequest',
      message: 'field/attribute id',
    },
    {
      name: 'unknown field',
      method: 'POST',
      url: '/v2.1/flavors',
      body: F({ name: 'x', ram: 1, vcpus: 1, disk: 1, gpus: 1 }),
      status: 400,
      fault: 'badRequest',
      message: "Additional properties are not allowed ('gpus' was unexpected)",
    },
    {
      name: 'description before 2.55',
      method: 'POST',
      url: '/v2.1/flavors',
      version: '2.54',
      body: F({ name: 'x', ram: 1, vcpus: 1, disk: 1, description: 'd' }),
      status: 400,
      fault: 'badRequest',
      message: "('description' was unexpected)",
    },
    {
      name: 'leading space in name',
      method: 'POST',
      url: '/v2.1/flavors',
      body: F({ name: ' x', ram: 1, vcpus: 1, disk: 1 }),
      status: 400,
      fault: 'badRequest',
      message: 'field/attribute name',
    },
    {
      name: 'show missing',
      method: 'GET',
      url: '/v2.1/flavors/nope',
      status: 404,
      fault: 'itemNotFound',
      message: 'Flavor nope could not be found.',
    },
    {
      name: 'delete missing',
      method: 'DELETE',
      url: '/v2.1/flavors/nope',
      status: 404,
      fault: 'itemNotFound',
    },
  ])('$name → $status', async (row) => {
    await expectRow(h, row);
  });

  it('409 for a taken id or name; nothing half-written', async () => {
    await createFlavor(h, small);
    const byId = await h.call('POST', '/v2.1/flavors', { body: { flavor: { ...small, name: 'other' } } });
    expect(byId.status).toBe(409);
    expect(byId.json.conflictingRequest.message).toBe('Flavor with ID 2 already exists.');
    const byName = await h.call('POST', '/v2.1/flavors', { body: { flavor: { ...small, id: '3' } } });
    expect(byName.json.conflictingRequest.message).toBe('Flavor with name m1.small already exists.');
    expect((await h.call('GET', '/v2.1/flavors/3')).status).toBe(404);
    expect((await h.call('GET', '/v2.1/flavors')).json.flavors).toHaveLength(1);
  });

  it('updates the description from 2.55, deletes with 202 and frees the name', async () => {
    await createFlavor(h, small);
    const u = await h.call('PUT', '/v2.1/flavors/2', {
      version: '2.55',
      body: { flavor: { description: 'new' } },
    });
    expect(u.status).toBe(200);
    expect(u.json.flavor.description).toBe('new');
    expect((await h.call('DELETE', '/v2.1/flavors/2')).status).toBe(202);
    expect((await h.call('GET', '/v2.1/flavors/2')).status).toBe(404);
    await createFlavor(h, small);
  });
});

describe('flavor listing and paging', () => {
  // ids 1..5 with ram descending as ids grow, one private flavor (id 4).
  beforeEach(async () => {
    for (const [id, ram, pub] of [
      ['1', 4096, true],
      ['2', 2048, true],
      ['3', 1024, true],
      ['4', 512, false],
      ['5', 256, true],
    ] as const)
      await createFlavor(h, {
        name: `f${id}`,
        id,
        ram,
        vcpus: 1,
        disk: Number(id) * 10,
        'os-flavor-access:is_public': pub,
      });
  });
  const ids = async (url: string, version = '2.79') =>
    (await h.call('GET', url, { version })).json.flavors.map((f: { id: string }) => f.id);

  it.each([
    // query → ids in order (private 4 hidden unless is_public=none/false)
    ['', ['1', '2', '3', '5']],
    ['?is_public=none', ['1', '2', '3', '4', '5']],
    ['?is_public=false', ['4']],
    ['?sort_key=memory_mb', ['5', '3', '2', '1']],
    ['?sort_key=memory_mb&sort_dir=desc', ['1', '2', '3', '5']],
    ['?sort_dir=desc', ['5', '3', '2', '1']],
    ['?minRam=1024', ['1', '2', '3']],
    ['?minDisk=30&is_public=none', ['3', '4', '5']],
    ['?limit=2', ['1', '2']],
    ['?limit=2&marker=2', ['3', '5']],
    ['?sort_key=memory_mb&marker=3&limit=5', ['2', '1']],
    ['?sort_key=memory_mb&sort_dir=desc&marker=2', ['3', '5']],
    ['?limit=0', []],
  ])('GET /flavors%s → %j', async (q, want) => {
    expect(await ids(`/v2.1/flavors${q}`)).toEqual(want);
  });

  it('a full page carries a next link that pages through without gaps or duplicates', async () => {
    const seen: string[] = [];
    let url: string | undefined = '/v2.1/flavors/detail?limit=2&is_public=none&sort_key=vcpus';
    while (url) {
      const r = await h.call('GET', url, { version: '2.79' });
      seen.push(...r.json.flavors.map((f: { id: string }) => f.id));
      const next = r.json.flavors_links?.[0];
      if (next) expect(next.rel).toBe('next');
      url = next?.href.replace('http://api.test', '');
    }
    // vcpus all equal: creation order breaks the tie.
    expect(seen).toEqual(['1', '2', '3', '4', '5']);
  });

  it.each<Row>([
    {
      name: 'unknown marker',
      method: 'GET',
      url: '/v2.1/flavors?marker=99',
      status: 400,
      fault: 'badRequest',
      message: 'marker [99] not found',
    },
    {
      name: 'bad sort key',
      method: 'GET',
      url: '/v2.1/flavors?sort_key=bogus',
      status: 400,
      fault: 'badRequest',
      message: 'Sort key supplied is invalid: bogus',
    },
    {
      name: 'bad sort dir',
      method: 'GET',
      url: '/v2.1/flavors?sort_dir=up',
      status: 400,
      fault: 'badRequest',
      message: "Unknown sort direction, must be 'desc' or 'asc'",
    },
    {
      name: 'negative limit',
      method: 'GET',
      url: '/v2.1/flavors?limit=-1',
      status: 400,
      fault: 'badRequest',
      message: 'Invalid input for query parameters limit',
    },
    {
      name: 'bad is_public',
      method: 'GET',
      url: '/v2.1/flavors?is_public=maybe',
      status: 400,
      fault: 'badRequest',
      message: 'Invalid is_public filter [maybe]',
    },
    {
      name: 'bad minRam',
      method: 'GET',
      url: '/v2.1/flavors?minRam=lots',
      status: 400,
      fault: 'badRequest',
      message: 'Invalid minRam filter [lots]',
    },
    {
      name: 'unknown param from 2.75',
      method: 'GET',
      url: '/v2.1/flavors?foo=1',
      version: '2.75',
      status: 400,
      fault: 'badRequest',
      message: "('foo' was unexpected)",
    },
    {
      name: 'unknown param before 2.75',
      method: 'GET',
      url: '/v2.1/flavors?foo=1',
      version: '2.74',
      status: 200,
    },
  ])('$name → $status', async (row) => {
    await expectRow(h, row);
  });

  it('brief list shows id, name, links (+description from 2.55)', async () => {
    const r = await h.call('GET', '/v2.1/flavors?limit=1', { version: '2.55' });
    expect(Object.keys(r.json.flavors[0]).sort()).toEqual(['description', 'id', 'links', 'name']);
  });
});

describe('extra specs and flavor access', () => {
  beforeEach(async () => {
    await createFlavor(h, small);
  });

  it('set, read, update one, delete one', async () => {
    const set = await h.call('POST', '/v2.1/flavors/2/os-extra_specs', {
      body: {
        extra_specs: { 'trait:HW_CPU_X86_AVX2': 'required', 'hw:cpu_policy': 'dedicated', 'x:flag': true },
      },
    });
    expect(set.json.extra_specs).toEqual({
      'trait:HW_CPU_X86_AVX2': 'required',
      'hw:cpu_policy': 'dedicated',
      'x:flag': 'True',
    });
    expect((await h.call('GET', '/v2.1/flavors/2/os-extra_specs/hw:cpu_policy')).json).toEqual({
      'hw:cpu_policy': 'dedicated',
    });
    const put = await h.call('PUT', '/v2.1/flavors/2/os-extra_specs/hw:cpu_policy', {
      body: { 'hw:cpu_policy': 'shared' },
    });
    expect(put.json).toEqual({ 'hw:cpu_policy': 'shared' });
    expect((await h.call('DELETE', '/v2.1/flavors/2/os-extra_specs/x:flag')).status).toBe(200);
    const all = await h.call('GET', '/v2.1/flavors/2', { version: '2.61' });
    expect(all.json.flavor.extra_specs).toEqual({
      'trait:HW_CPU_X86_AVX2': 'required',
      'hw:cpu_policy': 'shared',
    });
  });

  it.each<Row>([
    {
      name: 'missing key',
      method: 'GET',
      url: '/v2.1/flavors/2/os-extra_specs/nope',
      status: 404,
      fault: 'itemNotFound',
      message: 'Flavor 2 has no extra specs with key nope.',
    },
    {
      name: 'delete missing key',
      method: 'DELETE',
      url: '/v2.1/flavors/2/os-extra_specs/nope',
      status: 404,
      fault: 'itemNotFound',
    },
    {
      name: 'body/URI mismatch',
      method: 'PUT',
      url: '/v2.1/flavors/2/os-extra_specs/a',
      body: { b: '1' },
      status: 400,
      fault: 'badRequest',
      message: 'Request body and URI mismatch',
    },
    {
      name: 'two keys in PUT',
      method: 'PUT',
      url: '/v2.1/flavors/2/os-extra_specs/a',
      body: { a: '1', b: '2' },
      status: 400,
      fault: 'badRequest',
    },
    {
      name: 'bad key chars',
      method: 'POST',
      url: '/v2.1/flavors/2/os-extra_specs',
      body: { extra_specs: { 'a/b': 'x' } },
      status: 400,
      fault: 'badRequest',
    },
    {
      name: 'specs of missing flavor',
      method: 'GET',
      url: '/v2.1/flavors/9/os-extra_specs',
      status: 404,
      fault: 'itemNotFound',
      message: 'Flavor 9 could not be found.',
    },
    {
      name: 'access list of public',
      method: 'GET',
      url: '/v2.1/flavors/2/os-flavor-access',
      status: 404,
      fault: 'itemNotFound',
      message: 'Access list not available for public flavors.',
    },
    {
      name: 'add access to public',
      method: 'POST',
      url: '/v2.1/flavors/2/action',
      body: { addTenantAccess: { tenant: 'p1' } },
      status: 409,
      fault: 'conflictingRequest',
      message: 'Can not add access to a public flavor.',
    },
    {
      name: 'unknown action',
      method: 'POST',
      url: '/v2.1/flavors/2/action',
      body: { explode: {} },
      status: 404,
      fault: 'itemNotFound',
      message: 'There is no such action: explode',
    },
  ])('$name → $status', async (row) => {
    await expectRow(h, row);
  });

  it('grants and revokes access to a private flavor, which then lists for that project', async () => {
    await createFlavor(h, {
      name: 'priv',
      id: 'p',
      ram: 1,
      vcpus: 1,
      disk: 0,
      'os-flavor-access:is_public': false,
    });
    const add = await h.call('POST', '/v2.1/flavors/p/action', {
      body: { addTenantAccess: { tenant: 'proj1' } },
    });
    expect(add.json).toEqual({ flavor_access: [{ flavor_id: 'p', tenant_id: 'proj1' }] });
    const again = await h.call('POST', '/v2.1/flavors/p/action', {
      body: { addTenantAccess: { tenant: 'proj1' } },
    });
    expect(again.status).toBe(409);
    const listed = await h.call('GET', '/v2.1/flavors', { headers: { 'x-project-id': 'proj1' } });
    expect(listed.json.flavors.map((f: { id: string }) => f.id)).toEqual(['2', 'p']);
    const rm = await h.call('POST', '/v2.1/flavors/p/action', {
      body: { removeTenantAccess: { tenant: 'proj1' } },
    });
    expect(rm.json).toEqual({ flavor_access: [] });
    const gone = await h.call('POST', '/v2.1/flavors/p/action', {
      body: { removeTenantAccess: { tenant: 'proj1' } },
    });
    expect(gone.status).toBe(404);
  });
});
