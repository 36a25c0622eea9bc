/** Flavors: create/show/update/delete per microversion, validation, paging and sorting (extra specs and
 * access: flavor-extra-specs.test.ts). */
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
