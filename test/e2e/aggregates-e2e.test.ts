/**
 * Issue #13's aggregates and zones, as role processes on real NATS, etcd and Redis: an API and,
 * per cell (two), a conductor, a scheduler and an agents process of simulated hosts. What an
 * operator does: an aggregate with a zone and one host of cell2 → every boot naming the zone lands
 * there; the host moved to a zone host of cell1 → the next boot follows; an aggregate with
 * metadata ssd=true on cell1's hosts and a flavor asking `aggregate_instance_extra_specs:ssd=true`
 * → every boot lands on them (the API's cell choice and the shards read the same catalogue, which
 * the API publishes in etcd on every aggregate change). The api process's Placement API
 * (`--placement-port`) shows both cells' hosts as providers and the servers' claims, and takes
 * an operator's trait set (a flavor asking it lands there) and VCPU reserved to the total (the
 * next such boot finds no room).
 */
import { describe, expect, it } from 'vitest';
import { services } from '../real/services.ts';
import { suiteRegistry } from './fixtures/api-store.ts';
import { type ApiAnswer, api, waitFor } from './fixtures/compute-api.ts';
import { rolesOnSuiteServers } from './fixtures/roles.ts';

const CELLS = ['cell1', 'cell2'] as const;
const HOSTS = 3;
const START_MS = 60_000;
const SETTLE_MS = 60_000;

const { prefix, roles, closers } = rolesOnSuiteServers('agg');

async function action(base: string, id: number, body: unknown): Promise<void> {
  const r = await api(base, 'POST', `/os-aggregates/${id}/action`, body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

async function bootAll(base: string, n: number, more: Record<string, unknown>): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await api(base, 'POST', '/servers', {
      server: { name: `vm-${i}`, imageRef: 'cirros', flavorRef: '1', networks: 'none', ...more },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    ids.push(r.body.server.id);
  }
  return ids;
}

/** The hosts the servers went ACTIVE on (each must). */
async function hostsOf(base: string, ids: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of ids) {
    let s: { status: string; fault?: unknown; 'OS-EXT-SRV-ATTR:host': string } | undefined;
    await waitFor(`${id} settled`, SETTLE_MS, async () => {
      s = (await api(base, 'GET', `/servers/${id}`)).body.server;
      return s?.status !== 'BUILD';
    });
    expect(s!.status, JSON.stringify(s!.fault)).toBe('ACTIVE');
    out.push(s!['OS-EXT-SRV-ATTR:host']);
  }
  return out;
}

describe('aggregates and zones on the role processes', () => {
  it('zones and aggregate metadata steer boots across cells; a moved host counts at once', {
    timeout: 300_000,
  }, async () => {
    const { redis } = services();
    const registry = suiteRegistry(prefix, closers);
    for (const cell of CELLS) await registry.create({ name: cell, transport: `cp.${cell}`, store: redis });

    const api0 = roles.start('api', ['api', '--port', '0', '--placement-port', '0']);
    const cellProcs = CELLS.flatMap((cell) => {
      const common = ['--cell', cell, '--lease-ttl-ms', '2000', '--ack-wait-ms', '5000'];
      return [
        roles.start(`conductor-${cell}`, ['conductor', ...common, '--replica-id', `c-${cell}`]),
        roles.start(`scheduler-${cell}`, ['scheduler', ...common, '--replica-id', `s-${cell}`]),
        roles.start(`agents-${cell}`, [
          'agents',
          '--cell',
          cell,
          '--count',
          String(HOSTS),
          '--spawn-ms',
          '2-10',
        ]),
      ];
    });
    const base = (await api0.line(/^ready api /, START_MS)).split(' ')[2]!;
    const placement = (await api0.line(/^ready placement /, START_MS)).split(' ')[2]!;
    for (const p of cellProcs) await p.line(/^ready/, START_MS);
    await waitFor(
      `${HOSTS * CELLS.length} hosts mapped`,
      START_MS,
      async () => (await registry.memberships.hostMappings()).length === HOSTS * CELLS.length,
    );
    // Every agent heartbeats and shows in the API's host directory.
    await waitFor('every host listed as a hypervisor', START_MS, async () => {
      const r = await api(base, 'GET', '/os-hypervisors');
      return r.status === 200 && r.body.hypervisors.length === HOSTS * CELLS.length;
    });

    const lifted = await api(base, 'PUT', '/os-quota-sets/admin', {
      quota_set: { instances: -1, cores: -1, ram: -1 },
    });
    expect(lifted.status).toBe(200);

    // ---- a zone of one host in cell2 ---------------------------------------------------------
    const edge = await api(base, 'POST', '/os-aggregates', {
      aggregate: { name: 'agg1', availability_zone: 'edge1' },
    });
    expect(edge.status).toBe(200);
    const edgeId = edge.body.aggregate.id as number;
    await action(base, edgeId, { add_host: { host: 'cell2-cn0002' } });
    expect(new Set(await hostsOf(base, await bootAll(base, 3, { availability_zone: 'edge1' })))).toEqual(
      new Set(['cell2-cn0002']),
    );

    // ---- the zone moves to a host of cell1: the next boot follows -------------------------------
    await action(base, edgeId, { remove_host: { host: 'cell2-cn0002' } });
    await action(base, edgeId, { add_host: { host: 'cell1-cn0003' } });
    expect(await hostsOf(base, await bootAll(base, 2, { availability_zone: 'edge1' }))).toEqual([
      'cell1-cn0003',
      'cell1-cn0003',
    ]);

    // ---- aggregate metadata on two hosts of cell1, a flavor asking for it ------------------------
    expect(
      (
        await api(base, 'POST', '/flavors', {
          flavor: { name: 'ssd.tiny', id: 'ssd', ram: 512, vcpus: 1, disk: 1 },
        })
      ).status,
    ).toBe(200);
    const spec = await api(base, 'POST', '/flavors/ssd/os-extra_specs', {
      extra_specs: { 'aggregate_instance_extra_specs:ssd': 'true' },
    });
    expect(spec.status, JSON.stringify(spec.body)).toBe(200);
    const fast = await api(base, 'POST', '/os-aggregates', { aggregate: { name: 'fast' } });
    const fastId = fast.body.aggregate.id as number;
    for (const host of ['cell1-cn0001', 'cell1-cn0002']) await action(base, fastId, { add_host: { host } });
    await action(base, fastId, { set_metadata: { metadata: { ssd: 'true' } } });
    const ssdIds = await bootAll(base, 4, { flavorRef: 'ssd' });
    const ssdHosts = await hostsOf(base, ssdIds);
    expect(
      ssdHosts.every((h) => h === 'cell1-cn0001' || h === 'cell1-cn0002'),
      ssdHosts.join(),
    ).toBe(true);

    // ---- the api process's Placement API shows both cells' trees and the servers' claims ------
    const pl = async (path: string) =>
      (await fetch(`${placement}${path}`, { headers: { 'openstack-api-version': 'placement 1.39' } })).json();
    await waitFor('every host a resource provider', START_MS, async () => {
      const rps = (await pl('/resource_providers')) as { resource_providers: unknown[] };
      return rps.resource_providers.length === HOSTS * CELLS.length;
    });
    await waitFor('the last server an allocation', SETTLE_MS, async () => {
      const a = (await pl(`/allocations/${ssdIds.at(-1)}`)) as {
        allocations: Record<string, { resources: Record<string, number> }>;
      };
      return Object.values(a.allocations).some((x) => x.resources.VCPU === 1);
    });

    // ---- operator writes through it: a trait on one node of cell2, then all its VCPU reserved ---
    const send = async (method: string, path: string, body?: unknown): Promise<ApiAnswer> => {
      const r = await fetch(`${placement}${path}`, {
        method,
        headers: { 'openstack-api-version': 'placement 1.39', 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: r.status, body: r.status === 204 || r.status === 201 ? undefined : await r.json() };
    };
    const rps = (
      (await pl('/resource_providers')) as { resource_providers: Array<{ uuid: string; name: string }> }
    ).resource_providers;
    const node = rps.find((p) => p.name === 'cell2-cn0001')!;
    expect((await send('PUT', '/traits/CUSTOM_FAST')).status).toBe(201);
    const traits = (await send('GET', `/resource_providers/${node.uuid}/traits`)).body;
    const set = await send('PUT', `/resource_providers/${node.uuid}/traits`, {
      traits: [...traits.traits, 'CUSTOM_FAST'],
      resource_provider_generation: traits.resource_provider_generation,
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    await api(base, 'POST', '/flavors', {
      flavor: { name: 'fast', id: 'fast', ram: 512, vcpus: 1, disk: 1 },
    });
    await api(base, 'POST', '/flavors/fast/os-extra_specs', {
      extra_specs: { 'trait:CUSTOM_FAST': 'required' },
    });
    expect(await hostsOf(base, await bootAll(base, 1, { flavorRef: 'fast' }))).toEqual(['cell2-cn0001']);
    const inv = (await send('GET', `/resource_providers/${node.uuid}/inventories`)).body;
    const reserved = await send('PUT', `/resource_providers/${node.uuid}/inventories`, {
      inventories: {
        ...inv.inventories,
        VCPU: { ...inv.inventories.VCPU, reserved: inv.inventories.VCPU.total },
      },
      resource_provider_generation: inv.resource_provider_generation,
    });
    expect(reserved.status, JSON.stringify(reserved.body)).toBe(200);
    const [blocked] = await bootAll(base, 1, { flavorRef: 'fast' });
    await waitFor('the blocked server settles', SETTLE_MS, async () => {
      const s = (await api(base, 'GET', `/servers/${blocked}`)).body.server;
      return s.status === 'ERROR';
    });
  });
});
