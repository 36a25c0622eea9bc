/** /os-services: list and filters, legacy actions before 2.53, PUT by uuid from 2.53, delete. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMPUTE_BINARY } from '../../../../api/compute/hosts.ts';
import { expectRow, type Harness, harness, type Row } from './helpers.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
  h.hosts
    .put({
      name: 'cn1',
      services: [{ binary: COMPUTE_BINARY, enabled: true, up: true, updatedAt: '2026-11-23T09:59:50.000Z' }],
    })
    .put('cn2')
    .put({
      name: 'ctl1',
      services: [{ binary: 'nova-scheduler', enabled: true, up: true, updatedAt: null }],
    });
});
afterEach(() => h.close());

const uuidOf = async (host: string, binary = COMPUTE_BINARY) => {
  const r = await h.call('GET', `/v2.1/os-services?host=${host}&binary=${binary}`, { version: '2.53' });
  return r.json.services[0].id as string;
};

describe('os-services', () => {
  it('lists every service with its zone; forced_down from 2.11, uuids from 2.53', async () => {
    const agg = await h.call('POST', '/v2.1/os-aggregates', {
      body: { aggregate: { name: 'r1', availability_zone: 'az1' } },
    });
    await h.call('POST', `/v2.1/os-aggregates/${agg.json.aggregate.id}/action`, {
      body: { add_host: { host: 'cn2' } },
    });
    const r = await h.call('GET', '/v2.1/os-services');
    expect(r.json.services).toEqual([
      {
        binary: 'nova-compute',
        host: 'cn1',
        id: 1,
        zone: 'nova',
        status: 'enabled',
        state: 'up',
        updated_at: '2026-11-23T09:59:50.000000',
        disabled_reason: null,
      },
      expect.objectContaining({ host: 'cn2', id: 2, zone: 'az1' }),
      expect.objectContaining({ host: 'ctl1', binary: 'nova-scheduler', zone: 'internal' }),
    ]);
    const v211 = await h.call('GET', '/v2.1/os-services?binary=nova-compute', { version: '2.11' });
    expect(v211.json.services.map((s: { forced_down: boolean }) => s.forced_down)).toEqual([false, false]);
    const byHost = await h.call('GET', '/v2.1/os-services?host=cn2', { version: '2.53' });
    expect(byHost.json.services).toHaveLength(1);
    expect(byHost.json.services[0].id).toMatch(/^[0-9a-f]{8}-/);
  });

  it('legacy actions disable with a reason, enable, force down', async () => {
    const body = { host: 'cn1', binary: COMPUTE_BINARY };
    const d = await h.call('PUT', '/v2.1/os-services/disable-log-reason', {
      body: { ...body, disabled_reason: 'disk swap' },
    });
    expect(d.json).toEqual({
      service: { host: 'cn1', binary: 'nova-compute', status: 'disabled', disabled_reason: 'disk swap' },
    });
    let list = await h.call('GET', '/v2.1/os-services?host=cn1');
    expect(list.json.services[0]).toMatchObject({ status: 'disabled', disabled_reason: 'disk swap' });
    const e = await h.call('PUT', '/v2.1/os-services/enable', { body });
    expect(e.json).toEqual({ service: { host: 'cn1', binary: 'nova-compute', status: 'enabled' } });
    const f = await h.call('PUT', '/v2.1/os-services/force-down', {
      version: '2.11',
      body: { ...body, forced_down: 'true' },
    });
    expect(f.json).toEqual({ service: { host: 'cn1', binary: 'nova-compute', forced_down: true } });
    list = await h.call('GET', '/v2.1/os-services?host=cn1', { version: '2.11' });
    expect(list.json.services[0]).toMatchObject({
      status: 'enabled',
      state: 'down',
      forced_down: true,
      disabled_reason: null,
    });
  });

  it('PUT by uuid from 2.53 answers the whole service', async () => {
    const id = await uuidOf('cn2');
    const r = await h.call('PUT', `/v2.1/os-services/${id}`, {
      version: '2.53',
      body: { status: 'disabled', disabled_reason: 'rack move', forced_down: true },
    });
    expect(r.json.service).toMatchObject({
      id,
      host: 'cn2',
      status: 'disabled',
      state: 'down',
      disabled_reason: 'rack move',
      forced_down: true,
    });
    const hyp = await h.call('GET', '/v2.1/os-hypervisors');
    expect(hyp.json.hypervisors[1]).toMatchObject({ status: 'disabled', state: 'down' });
    const back = await h.call('PUT', `/v2.1/os-services/${id}`, {
      version: '2.79',
      body: { status: 'enabled', forced_down: false },
    });
    expect(back.json.service).toMatchObject({ status: 'enabled', state: 'up', disabled_reason: null });
  });

  it('delete removes the service and its host from aggregates; refused while instances run', async () => {
    const agg = await h.call('POST', '/v2.1/os-aggregates', { body: { aggregate: { name: 'r1' } } });
    await h.call('POST', `/v2.1/os-aggregates/${agg.json.aggregate.id}/action`, {
      body: { add_host: { host: 'cn2' } },
    });
    expect((await h.call('DELETE', '/v2.1/os-services/2')).status).toBe(204);
    expect((await h.call('GET', '/v2.1/os-aggregates/1')).json.aggregate.hosts).toEqual([]);
    expect((await h.call('GET', '/v2.1/os-services?host=cn2')).json.services).toEqual([]);
    h.hosts.put({
      name: 'cn3',
      services: [{ binary: COMPUTE_BINARY, enabled: true, up: true, updatedAt: null }],
      node: { instances: ['aaaaaaaa-0000-4000-8000-000000000001'] },
    });
    const id = await uuidOf('cn3');
    const r = await expectRow(h, {
      name: 'busy',
      method: 'DELETE',
      url: `/v2.1/os-services/${id}`,
      version: '2.53',
      status: 409,
      fault: 'conflictingRequest',
      message: 'Unable to delete compute service that is hosting instances.',
    });
    expect(r.status).toBe(409);
  });

  it.each<Row>([
    {
      name: 'unknown legacy action',
      method: 'PUT',
      url: '/v2.1/os-services/reboot',
      body: { host: 'cn1', binary: COMPUTE_BINARY },
      status: 404,
      fault: 'itemNotFound',
      message: 'Unknown action',
    },
    {
      name: 'force-down before 2.11',
      method: 'PUT',
      url: '/v2.1/os-services/force-down',
      body: { host: 'cn1', binary: COMPUTE_BINARY },
      status: 404, // the action appears at 2.11
      fault: 'itemNotFound',
      message: 'Unknown action',
    },
    {
      name: 'legacy action on a scheduler',
      method: 'PUT',
      url: '/v2.1/os-services/disable',
      body: { host: 'ctl1', binary: 'nova-scheduler' },
      status: 400,
      fault: 'badRequest',
      message: 'Updating a nova-scheduler service is not supported.',
    },
    {
      name: 'legacy action on an unknown host',
      method: 'PUT',
      url: '/v2.1/os-services/disable',
      body: { host: 'nope', binary: COMPUTE_BINARY },
      status: 404,
      fault: 'itemNotFound',
      message: 'Could not find binary nova-compute on host nope.',
    },
    {
      name: 'disable-log-reason without reason',
      method: 'PUT',
      url: '/v2.1/os-services/disable-log-reason',
      body: { host: 'cn1', binary: COMPUTE_BINARY },
      status: 400,
      message: 'Missing disabled reason field',
      fault: 'badRequest',
    },
    {
      name: 'legacy body missing binary',
      method: 'PUT',
      url: '/v2.1/os-services/enable',
      body: { host: 'cn1' },
      status: 400,
      fault: 'badRequest',
      message: "'binary' is a required property",
    },
    {
      name: 'not a uuid from 2.53',
      method: 'PUT',
      url: '/v2.1/os-services/disable',
      version: '2.53',
      body: { status: 'disabled' },
      status: 400,
      fault: 'badRequest',
      message: 'Invalid uuid disable',
    },
    {
      name: 'unknown uuid',
      method: 'PUT',
      url: '/v2.1/os-services/99999999-9999-4999-8999-999999999999',
      version: '2.53',
      body: { status: 'disabled' },
      status: 404,
      fault: 'itemNotFound',
      message: 'Service 99999999-9999-4999-8999-999999999999 could not be found.',
    },
    {
      name: 'delete with a non-integer before 2.53',
      method: 'DELETE',
      url: '/v2.1/os-services/abc',
      status: 400,
      fault: 'badRequest',
      message: 'Invalid input received: id must be an integer',
    },
    {
      name: 'delete unknown',
      method: 'DELETE',
      url: '/v2.1/os-services/77',
      status: 404,
      fault: 'itemNotFound',
      message: 'Service 77 not found.',
    },
    {
      name: 'strict list query from 2.75',
      method: 'GET',
      url: '/v2.1/os-services?zone=nova',
      version: '2.75',
      status: 400,
      fault: 'badRequest',
    },
  ])('$name', async (row) => {
    await expectRow(h, row);
  });

  it.each([
    [
      { status: 'enabled', disabled_reason: 'x' },
      "Specifying 'disabled_reason' with status 'enabled' is invalid.",
    ],
    [
      { disabled_reason: 'x' },
      "No updates were requested. Fields 'status' or 'forced_down' should be specified.",
    ],
    [{}, 'No updates were requested.'],
    [{ status: 'off' }, 'Invalid input for field/attribute status.'],
  ])('PUT by uuid refuses %j', async (body, message) => {
    const id = await uuidOf('cn1');
    await expectRow(h, {
      name: JSON.stringify(body),
      method: 'PUT',
      url: `/v2.1/os-services/${id}`,
      version: '2.53',
      body,
      status: 400,
      fault: 'badRequest',
      message,
    });
  });

  it('PUT by uuid on a non-compute service is refused', async () => {
    const id = await uuidOf('ctl1', 'nova-scheduler');
    await expectRow(h, {
      name: 'scheduler',
      method: 'PUT',
      url: `/v2.1/os-services/${id}`,
      version: '2.53',
      body: { status: 'disabled' },
      status: 400,
      fault: 'badRequest',
      message: 'Updating a nova-scheduler service is not supported.',
    });
  });
});
