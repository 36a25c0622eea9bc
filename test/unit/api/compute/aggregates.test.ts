/** Aggregates (CRUD, actions, the one-zone-per-host rule) and availability zones from them. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectRow, type Harness, harness, type Row } from './helpers.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
  h.hosts
    .put('cn1')
    .put('cn2')
    .put({
      name: 'ctl1',
      services: [{ binary: 'nova-scheduler', enabled: true, up: true, updatedAt: null }],
    });
});
afterEach(() => h.close());

const agg = async (name: string, zone?: string) => {
  const r = await h.call('POST', '/v2.1/os-aggregates', {
    version: '2.41',
    body: { aggregate: { name, ...(zone ? { availability_zone: zone } : {}) } },
  });
  if (r.status !== 200) throw new Error(`${r.status} ${r.body}`);
  return r.json.aggregate.id as number;
};
const act = (id: number, body: unknown) => h.call('POST', `/v2.1/os-aggregates/${id}/action`, { body });

describe('aggregates', () => {
  it('create answers without hosts/metadata; show has them and uuid from 2.41', async () => {
    const r = await h.call('POST', '/v2.1/os-aggregates', {
      body: { aggregate: { name: 'rack1', availability_zone: 'az1' } },
    });
    expect(r.json).toEqual({
      aggregate: {
        availability_zone: 'az1',
        created_at: '2026-11-23T10:00:00.000000',
        deleted: false,
        deleted_at: null,
        id: 1,
        name: 'rack1',
        updated_at: null,
      },
    });
    const show = await h.call('GET', '/v2.1/os-aggregates/1', { version: '2.41' });
    expect(show.json.aggregate).toMatchObject({
      hosts: [],
      metadata: { availability_zone: 'az1' },
      uuid: '00000000-0000-4000-8000-000000000001',
    });
    expect((await h.call('GET', '/v2.1/os-aggregates/1')).json.aggregate).not.toHaveProperty('uuid');
  });

  it.each<Row>([
    {
      name: 'duplicate name',
      method: 'POST',
      url: '/v2.1/os-aggregates',
      body: { aggregate: { name: 'a' } },
      status: 409,
      fault: 'conflictingRequest',
      message: 'Aggregate a already exists.',
    },
    {
      name: 'zone with colon',
      method: 'POST',
      url: '/v2.1/os-aggregates',
      body: { aggregate: { name: 'b', availability_zone: 'x:y' } },
      status: 400,
      fault: 'badRequest',
    },
    {
      name: 'missing name',
      method: 'POST',
      url: '/v2.1/os-aggregates',
      body: { aggregate: {} },
      status: 400,
      fault: 'badRequest',
      message: "'name' is a required property",
    },
    {
      name: 'non-integer id',
      method: 'GET',
      url: '/v2.1/os-aggregates/abc',
      status: 400,
      fault: 'badRequest',
      message: 'id must be an integer',
    },
    {
      name: 'missing aggregate',
      method: 'GET',
      url: '/v2.1/os-aggregates/9',
      status: 404,
      fault: 'itemNotFound',
      message: 'Aggregate 9 could not be found.',
    },
    {
      name: 'empty update',
      method: 'PUT',
      url: '/v2.1/os-aggregates/1',
      body: { aggregate: {} },
      status: 400,
      fault: 'badRequest',
    },
    {
      name: 'unknown host',
      method: 'POST',
      url: '/v2.1/os-aggregates/1/action',
      body: { add_host: { host: 'ghost' } },
      status: 404,
      fault: 'itemNotFound',
      message: 'Compute host ghost could not be found.',
    },
    {
      name: 'non-compute host',
      method: 'POST',
      url: '/v2.1/os-aggregates/1/action',
      body: { add_host: { host: 'ctl1' } },
      status: 404,
      fault: 'itemNotFound',
    },
    {
      name: 'remove absent host',
      method: 'POST',
      url: '/v2.1/os-aggregates/1/action',
      body: { remove_host: { host: 'cn1' } },
      status: 404,
      fault: 'itemNotFound',
      message: 'Cannot remove host cn1 in aggregate 1',
    },
    {
      name: 'two actions',
      method: 'POST',
      url: '/v2.1/os-aggregates/1/action',
      body: { add_host: { host: 'cn1' }, remove_host: { host: 'cn1' } },
      status: 400,
      fault: 'badRequest',
    },
    {
      name: 'empty zone via metadata',
      method: 'POST',
      url: '/v2.1/os-aggregates/1/action',
      body: { set_metadata: { metadata: { availability_zone: null } } },
      status: 400,
      fault: 'badRequest',
      message: 'Aggregate a does not support empty named availability zone',
    },
  ])('$name → $status', async (row) => {
    await agg('a');
    await expectRow(h, row);
  });

  it('hosts, metadata merge, rename, delete only when empty', async () => {
    const id = await agg('a');
    expect((await act(id, { add_host: { host: 'cn1' } })).json.aggregate.hosts).toEqual(['cn1']);
    const dup = await act(id, { add_host: { host: 'cn1' } });
    expect(dup.json.conflictingRequest.message).toBe('Aggregate 1 already has host cn1.');
    await act(id, { set_metadata: { metadata: { ssd: 'true', gpu: 'a100' } } });
    const meta = await act(id, { set_metadata: { metadata: { gpu: null, availability_zone: 'az1' } } });
    expect(meta.json.aggregate).toMatchObject({
      metadata: { ssd: 'true', availability_zone: 'az1' },
      availability_zone: 'az1',
    });
    const ren = await h.call('PUT', `/v2.1/os-aggregates/${id}`, { body: { aggregate: { name: 'b' } } });
    expect(ren.json.aggregate.name).toBe('b');
    await agg('a'); // the old name is free again
    const del = await h.call('DELETE', `/v2.1/os-aggregates/${id}`);
    expect(del.status).toBe(400);
    expect(del.json.badRequest.message).toBe(
      'Cannot delete aggregate 1. Reason: Host aggregate is not empty.',
    );
    await act(id, { remove_host: { host: 'cn1' } });
    expect((await h.call('DELETE', `/v2.1/os-aggregates/${id}`)).status).toBe(200);
    expect(
      (await h.call('GET', '/v2.1/os-aggregates')).json.aggregates.map((a: { name: string }) => a.name),
    ).toEqual(['a']);
  });

  it('a host stays in one zone: add (409), set_metadata and update (400) refuse a second one', async () => {
    const a = await agg('a', 'az1');
    const b = await agg('b', 'az2');
    const plain = await agg('c');
    await act(a, { add_host: { host: 'cn1' } });
    const add = await act(b, { add_host: { host: 'cn1' } });
    expect(add.status).toBe(409);
    expect(add.json.conflictingRequest.message).toBe(
      "Cannot add host to aggregate 2. Reason: One or more hosts already in availability zone(s) ['az1'].",
    );
    await act(plain, { add_host: { host: 'cn1' } }); // no zone: fine
    const meta = await act(plain, { set_metadata: { metadata: { availability_zone: 'az2' } } });
    expect(meta.status).toBe(400);
    expect(meta.json.badRequest.message).toContain(
      'Cannot update metadata of aggregate 3. Reason: One or more hosts',
    );
    const upd = await h.call('PUT', `/v2.1/os-aggregates/${plain}`, {
      body: { aggregate: { availability_zone: 'az2' } },
    });
    expect(upd.json.badRequest.message).toContain('Cannot update aggregate 3. Reason:');
    // Same zone is fine.
    expect((await act(plain, { set_metadata: { metadata: { availability_zone: 'az1' } } })).status).toBe(200);
  });
});

describe('availability zones', () => {
  it('zones from aggregates, default zone for the rest, internal hidden from the brief list', async () => {
    const a = await agg('a', 'az1');
    await agg('empty', 'az-empty');
    await act(a, { add_host: { host: 'cn1' } });
    const brief = await h.call('GET', '/v2.1/os-availability-zone');
    expect(brief.json).toEqual({
      availabilityZoneInfo: [
        { zoneName: 'az1', zoneState: { available: true }, hosts: null },
        { zoneName: 'nova', zoneState: { available: true }, hosts: null },
      ],
    });
    const detail = await h.call('GET', '/v2.1/os-availability-zone/detail');
    expect(detail.json.availabilityZoneInfo).toEqual([
      {
        zoneName: 'az1',
        zoneState: { available: true },
        hosts: { cn1: { 'nova-compute': { available: true, active: true, updated_at: null } } },
      },
      {
        zoneName: 'internal',
        zoneState: { available: true },
        hosts: { ctl1: { 'nova-scheduler': { available: true, active: true, updated_at: null } } },
      },
      {
        zoneName: 'nova',
        zoneState: { available: true },
        hosts: { cn2: { 'nova-compute': { available: true, active: true, updated_at: null } } },
      },
    ]);
  });

  it('a zone whose services are all disabled is listed unavailable', async () => {
    h.hosts.put({
      name: 'cn2',
      services: [{ binary: 'nova-compute', enabled: false, up: true, updatedAt: '2026-11-23T09:00:00.000Z' }],
    });
    const a = await agg('a', 'az2');
    await act(a, { add_host: { host: 'cn2' } });
    const brief = await h.call('GET', '/v2.1/os-availability-zone');
    expect(brief.json.availabilityZoneInfo).toContainEqual({
      zoneName: 'az2',
      zoneState: { available: false },
      hosts: null,
    });
  });
});
