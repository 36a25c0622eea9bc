/** /os-hypervisors: shapes per microversion, ids, paging, search/servers before 2.53, statistics. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMPUTE_BINARY } from '../../../../api/compute/hosts.ts';
import { expectRow, type Harness, harness, type Row } from './helpers.ts';

const U1 = '11111111-1111-4111-8111-111111111111';
const U2 = '22222222-2222-4222-8222-222222222222';
const I1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const I2 = 'bbbbbbbb-0000-4000-8000-000000000002';

let h: Harness;
beforeEach(async () => {
  h = await harness();
  const compute = (over: Record<string, unknown> = {}) => ({
    binary: COMPUTE_BINARY,
    enabled: true,
    up: true,
    updatedAt: '2026-11-23T09:59:50.000Z',
    ...over,
  });
  h.hosts
    .put({
      name: 'cn1',
      services: [compute()],
      hostIp: '10.0.0.1',
      // 32 vcpus (8 used), 65536 MB (16384 used), 1000 GB (200 used), two instances
      node: {
        uuid: U1,
        vcpus: 32,
        vcpusUsed: 8,
        memoryMb: 65_536,
        memoryMbUsed: 16_384,
        diskGb: 1_000,
        diskGbUsed: 200,
        instances: [I1, I2],
      },
    })
    .put({
      name: 'cn2',
      services: [compute({ enabled: false, up: false, disabledReason: 'maintenance' })],
      node: { uuid: U2, vcpus: 16, memoryMb: 32_768, diskGb: 500 },
    })
    .put({
      name: 'ctl1',
      services: [{ binary: 'nova-scheduler', enabled: true, up: true, updatedAt: null }],
    });
});
afterEach(() => h.close());

describe('os-hypervisors', () => {
  it('lists compute hosts with integer ids before 2.53, uuids from it', async () => {
    const old = await h.call('GET', '/v2.1/os-hypervisors');
    expect(old.json).toEqual({
      hypervisors: [
        { id: 1, hypervisor_hostname: 'cn1', state: 'up', status: 'enabled' },
        { id: 2, hypervisor_hostname: 'cn2', state: 'down', status: 'disabled' },
      ],
    });
    const now = await h.call('GET', '/v2.1/os-hypervisors', { version: '2.53' });
    expect(now.json.hypervisors.map((x: { id: string }) => x.id)).toEqual([U1, U2]);
  });

  it('detail shows totals, usage, free space and the service', async () => {
    const r = await h.call('GET', '/v2.1/os-hypervisors/detail', { version: '2.27' });
    expect(r.json.hypervisors[0]).toEqual({
      id: 1,
      hypervisor_hostname: 'cn1',
      state: 'up',
      status: 'enabled',
      vcpus: 32,
      memory_mb: 65_536,
      local_gb: 1_000,
      vcpus_used: 8,
      memory_mb_used: 16_384,
      local_gb_used: 200,
      hypervisor_type: 'fake',
      hypervisor_version: 1000,
      free_ram_mb: 49_152, // 65536 - 16384
      free_disk_gb: 800, // 1000 - 200
      current_workload: 0,
      running_vms: 2,
      disk_available_least: 800,
      host_ip: '10.0.0.1',
      service: { id: 1, host: 'cn1', disabled_reason: null },
      cpu_info: '{}',
    });
    expect(r.json.hypervisors[1].service.disabled_reason).toBe('maintenance');
    const v228 = await h.call('GET', '/v2.1/os-hypervisors/detail', { version: '2.28' });
    expect(v228.json.hypervisors[0].cpu_info).toEqual({});
    const v253 = await h.call('GET', '/v2.1/os-hypervisors/detail', { version: '2.53' });
    expect(v253.json.hypervisors[0].service.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('pages by id from 2.33 with a next link carrying the marker', async () => {
    const r = await h.call('GET', '/v2.1/os-hypervisors?limit=1', { version: '2.33' });
    expect(r.json.hypervisors.map((x: { id: number }) => x.id)).toEqual([1]);
    expect(r.json.hypervisors_links).toEqual([
      { href: 'http://api.test/v2.1/os-hypervisors?limit=1&marker=1', rel: 'next' },
    ]);
    const next = await h.call('GET', '/v2.1/os-hypervisors/detail?limit=1&marker=1', { version: '2.33' });
    expect(next.json.hypervisors.map((x: { id: number }) => x.id)).toEqual([2]);
    const byUuid = await h.call('GET', `/v2.1/os-hypervisors?marker=${U1}`, { version: '2.53' });
    expect(byUuid.json.hypervisors.map((x: { id: string }) => x.id)).toEqual([U2]);
    expect(byUuid.json).not.toHaveProperty('hypervisors_links');
  });

  it('with_servers and the hostname pattern from 2.53; servers always listed from 2.75', async () => {
    const r = await h.call('GET', '/v2.1/os-hypervisors?with_servers=true', { version: '2.53' });
    expect(r.json.hypervisors[0].servers).toEqual([
      { name: 'instance-aaaaaaaa', uuid: I1 },
      { name: 'instance-bbbbbbbb', uuid: I2 },
    ]);
    expect(r.json.hypervisors[1]).not.toHaveProperty('servers');
    const v275 = await h.call('GET', '/v2.1/os-hypervisors?with_servers=1', { version: '2.75' });
    expect(v275.json.hypervisors[1].servers).toEqual([]);
    const p = await h.call('GET', '/v2.1/os-hypervisors/detail?hypervisor_hostname_pattern=n2', {
      version: '2.53',
    });
    expect(p.json.hypervisors.map((x: { hypervisor_hostname: string }) => x.hypervisor_hostname)).toEqual([
      'cn2',
    ]);
    const show = await h.call('GET', `/v2.1/os-hypervisors/${U1}?with_servers=yes`, { version: '2.53' });
    expect(show.json.hypervisor.servers).toHaveLength(2);
  });

  it('search and servers routes before 2.53', async () => {
    const s = await h.call('GET', '/v2.1/os-hypervisors/cn/search');
    expect(s.json.hypervisors).toHaveLength(2);
    expect(s.json.hypervisors[0]).toEqual({
      id: 1,
      hypervisor_hostname: 'cn1',
      state: 'up',
      status: 'enabled',
    });
    const sv = await h.call('GET', '/v2.1/os-hypervisors/cn/servers', { version: '2.52' });
    expect(sv.json.hypervisors[0].servers).toHaveLength(2);
    expect(sv.json.hypervisors[1]).not.toHaveProperty('servers'); // Nova omits an empty list
  });

  it('statistics sum every hypervisor', async () => {
    const r = await h.call('GET', '/v2.1/os-hypervisors/statistics');
    expect(r.json).toEqual({
      hypervisor_statistics: {
        count: 2,
        vcpus: 48, // 32 + 16
        memory_mb: 98_304, // 65536 + 32768
        local_gb: 1_500,
        vcpus_used: 8,
        memory_mb_used: 16_384,
        local_gb_used: 200,
        free_ram_mb: 81_920, // 98304 - 16384
        free_disk_gb: 1_300, // 1500 - 200
        current_workload: 0,
        running_vms: 2,
        disk_available_least: 1_300,
      },
    });
  });

  it.each<Row>([
    {
      name: 'show by integer',
      method: 'GET',
      url: '/v2.1/os-hypervisors/2',
      status: 200,
      match: { hypervisor: { id: 2, vcpus: 16 } },
    },
    {
      name: 'unknown integer',
      method: 'GET',
      url: '/v2.1/os-hypervisors/9',
      status: 404,
      fault: 'itemNotFound',
      message: "Hypervisor with ID '9' could not be found.",
    },
    {
      name: 'uuid before 2.53',
      method: 'GET',
      url: `/v2.1/os-hypervisors/${U1}`,
      status: 404,
      fault: 'itemNotFound',
    },
    {
      name: 'integer from 2.53',
      method: 'GET',
      url: '/v2.1/os-hypervisors/1',
      version: '2.53',
      status: 400,
      fault: 'badRequest',
      message: 'Invalid uuid 1',
    },
    {
      name: 'show by uuid',
      method: 'GET',
      url: `/v2.1/os-hypervisors/${U2}`,
      version: '2.53',
      status: 200,
      match: { hypervisor: { id: U2, service: { host: 'cn2' } } },
    },
    {
      name: 'unknown query from 2.53',
      method: 'GET',
      url: '/v2.1/os-hypervisors?foo=1',
      version: '2.53',
      status: 400,
      fault: 'badRequest',
    },
    {
      name: 'pattern with paging',
      method: 'GET',
      url: '/v2.1/os-hypervisors?hypervisor_hostname_pattern=cn&limit=1',
      version: '2.53',
      status: 400,
      fault: 'badRequest',
      message: 'Paging over hypervisors with the hypervisor_hostname_pattern',
    },
    {
      name: 'pattern matching nothing',
      method: 'GET',
      url: '/v2.1/os-hypervisors?hypervisor_hostname_pattern=zz',
      version: '2.53',
      status: 404,
      fault: 'itemNotFound',
      message: "No hypervisor matching 'zz' could be found.",
    },
    {
      name: 'unknown marker',
      method: 'GET',
      url: '/v2.1/os-hypervisors?marker=42',
      version: '2.33',
      status: 400,
      fault: 'badRequest',
      message: 'marker [42] not found',
    },
    {
      name: 'search gone at 2.53',
      method: 'GET',
      url: '/v2.1/os-hypervisors/cn/search',
      version: '2.53',
      status: 404,
    },
    {
      name: 'servers gone at 2.53',
      method: 'GET',
      url: '/v2.1/os-hypervisors/cn/servers',
      version: '2.53',
      status: 404,
    },
    {
      name: 'search matching nothing',
      method: 'GET',
      url: '/v2.1/os-hypervisors/zz/search',
      status: 404,
      fault: 'itemNotFound',
    },
    {
      name: 'bad with_servers',
      method: 'GET',
      url: '/v2.1/os-hypervisors?with_servers=maybe',
      version: '2.53',
      status: 400,
    },
  ])('$name', async (row) => {
    await expectRow(h, row);
  });
});
