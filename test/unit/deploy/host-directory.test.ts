/**
 * deploy/host-directory.ts on the memory adapters and virtual time: the directory's hosts, nodes
 * and service state (heartbeats, durable service records), the service monitor's transitions
 * for the scheduler shards (host-agent/service-monitor.ts, fed by the records the directory writes), and — on the embedded control plane — the hypervisor API over real
 * trees and a disabled host skipped by the scheduler.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { recordOf, TREE_INDEX, treeRecordMessage, treeRecords } from '../../../actors/provider-tree-store.ts';
import { CellDirectory } from '../../../cells/directory.ts';
import { CellRegistry } from '../../../cells/lifecycle.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { decode, encode } from '../../../core/codec/envelope.ts';
import { parseUuid } from '../../../core/model/ids.ts';
import { makeInventory } from '../../../core/model/inventory.ts';
import { PlacementState } from '../../../core/placement/state.ts';
import type { Bus } from '../../../core/ports/bus.ts';
import { type Embedded, startEmbedded } from '../../../deploy/embedded.ts';
import { CellsHostDirectory } from '../../../deploy/host-directory.ts';
import { agentSubjects } from '../../../host-agent/agent.ts';
import { stableUuid } from '../../../host-agent/drivers/fake-host.ts';
import { heartbeat, serviceReplay, serviceTransition } from '../../../host-agent/messages.ts';
import { type ServiceMonitorHandle, startServiceMonitor } from '../../../host-agent/service-monitor.ts';
import { serviceKey } from '../../../host-agent/services.ts';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const GRACE = 30_000;
const ROOT = parseUuid('11111111-1111-4111-8111-111111111111');
const VM = parseUuid('aaaaaaaa-0000-4000-8000-000000000001');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A tree for host `h1`: 16 VCPU, 32768 MB, 500 GB; one instance holding 2 VCPU, 4096 MB, 20 GB. */
async function storeTree(store: MemoryStore): Promise<void> {
  const s = new PlacementState();
  s.insertProvider(ROOT, 'h1', null);
  const inv = (total: number) =>
    makeInventory({ total, reserved: 0, minUnit: 1, maxUnit: total, stepSize: 1, allocationRatio: 1 });
  s.replaceInventories(
    ROOT,
    new Map([
      ['VCPU', inv(16)],
      ['MEMORY_MB', inv(32_768)],
      ['DISK_GB', inv(500)],
    ]),
  );
  s.writeConsumer(VM, {
    uuid: VM,
    projectId: 'p',
    userId: 'u',
    consumerType: null,
    generation: 1,
    allocations: new Map([
      [
        ROOT,
        new Map([
          ['VCPU', 2],
          ['MEMORY_MB', 4_096],
          ['DISK_GB', 20],
        ]),
      ],
    ]),
  });
  const key = treeRecords(store).key(ROOT);
  const r = await store.commit([
    { op: 'put', key, value: encode(treeRecordMessage, recordOf(s, ROOT)) },
    { op: 'index', index: TREE_INDEX, member: ROOT },
  ]);
  expect(r.ok).toBe(true);
}

async function fixture() {
  const clock = new VirtualClock(T0);
  const server = new MemoryCoordinationServer(clock);
  const coordinator = server.client();
  const broker = new MemoryBroker({ clock });
  const bus = broker.connect();
  const registry = new CellRegistry(coordinator, { clock, mappingStore: new MemoryStore() });
  const cell = await registry.create({ name: 'c1', transport: 'cp.c1', store: 'memory://c1' });
  await registry.memberships.mapHost('h1', cell.uuid);
  const store = new MemoryStore();
  await storeTree(store);
  const cells = await CellDirectory.open(coordinator);
  const open = () =>
    new CellsHostDirectory({
      coordinator,
      memberships: registry.memberships,
      cells,
      portsOf: () => ({ store, bus }),
      clock,
      graceMs: GRACE,
    });
  const directory = open();
  cleanups.push(async () => {
    await directory.close();
    await cells.close();
    await bus.close();
    await store.close();
    await coordinator.close();
  });
  const beat = (host = 'h1') =>
    bus.publish(
      agentSubjects('c1').heartbeat,
      encode(heartbeat, {
        cell: 'c1',
        beats: [{ host, seq: 1, atMs: clock.now(), incarnation: 1, instances: 0 }],
      }),
    );
  return { clock, coordinator, bus, directory, open, beat };
}

describe('CellsHostDirectory', () => {
  it('knows mapped hosts, their nodes from the tree record, and up/down from heartbeats', async () => {
    const f = await fixture();
    const [entry] = await f.directory.hosts();
    expect(entry).toMatchObject({ name: 'h1', hostIp: null });
    expect(entry!.id).toBeGreaterThan(0);
    // Not heard yet: up for one grace period from the directory's start, then down.
    expect(entry!.services[0]).toMatchObject({
      binary: 'nova-compute',
      up: true,
      enabled: true,
      updatedAt: null,
    });
    const nodes = await f.directory.nodes();
    expect(nodes.get('h1')).toEqual({
      uuid: ROOT,
      hypervisorType: 'fake',
      vcpus: 16,
      vcpusUsed: 2,
      memoryMb: 32_768,
      memoryMbUsed: 4_096,
      diskGb: 500,
      diskGbUsed: 20,
      instances: [VM],
    });
    expect((await f.directory.nodes(['h1'])).get('h1')?.vcpusUsed).toBe(2); // from the cached root
    expect(await f.directory.computeHost('nope')).toBeUndefined();
    await f.clock.advance(GRACE + 1);
    expect(await f.directory.isUp('h1')).toBe(false);
    f.beat();
    await f.clock.advance(1);
    const after = (await f.directory.computeHost('h1'))!.services[0]!;
    expect(after.up).toBe(true);
    expect(after.updatedAt).toBe(new Date(T0 + GRACE + 1).toISOString());
  });

  it('stores service changes durably in the coordinator; forced down is down', async () => {
    const f = await fixture();
    await f.directory.setService('h1', { disabled: true, reason: 'rack move' });
    await f.directory.setService('h1', { forcedDown: true });
    expect(await f.coordinator.get(serviceKey('h1'))).toBeDefined();
    const fresh = f.open(); // another API process reads the same records
    cleanups.push(() => fresh.close());
    expect((await fresh.computeHost('h1'))!.services[0]).toMatchObject({
      enabled: false,
      disabledReason: 'rack move',
      forcedDown: true,
      up: false,
    });
    await fresh.setService('h1', { disabled: false, forcedDown: false });
    expect((await f.directory.computeHost('h1'))!.services[0]).toMatchObject({
      enabled: true,
      disabledReason: null,
      up: true,
    });
    await expect(f.directory.setService('nope', { disabled: true })).rejects.toMatchObject({
      code: 'notFound',
    });
  });

  it('delete forgets the mapping and the record', async () => {
    const f = await fixture();
    await f.directory.setService('h1', { disabled: true });
    await f.directory.deleteService('h1', 'nova-compute');
    expect(await f.directory.hosts()).toEqual([]);
    expect(await f.coordinator.get(serviceKey('h1'))).toBeUndefined();
    await expect(f.directory.deleteService('h1', 'nova-compute')).rejects.toMatchObject({ code: 'notFound' });
  });
});

describe('startServiceMonitor', () => {
  async function watching(f: Awaited<ReturnType<typeof fixture>>, bus: Bus, expected = ['h1']) {
    const seen: Array<{ host: string; up: boolean }> = [];
    const sub = await bus.subscribe(agentSubjects('c1').service, (m) => {
      const t = decode(serviceTransition, m.data);
      seen.push({ host: t.host, up: t.up });
    });
    const monitor: ServiceMonitorHandle = await startServiceMonitor({
      bus: f.bus,
      coordinator: f.coordinator,
      clock: f.clock,
      cell: 'c1',
      expected: () => expected,
      owns: (host) => host === 'h1',
      graceMs: GRACE,
      refreshMs: 60_000,
    });
    cleanups.push(async () => {
      await monitor.stop();
      await sub.unsubscribe();
    });
    return { seen, monitor };
  }

  it('tells the shards a host is schedulable only while it beats and is enabled', async () => {
    const f = await fixture();
    const { seen, monitor } = await watching(f, f.bus);
    f.beat();
    await f.clock.advance(1);
    expect(seen).toEqual([{ host: 'h1', up: true }]);
    await f.directory.setService('h1', { disabled: true });
    await f.clock.advance(1);
    expect(seen.at(-1)).toEqual({ host: 'h1', up: false });
    expect(monitor.schedulable('h1')).toBe(false);
    await f.directory.setService('h1', { disabled: false });
    await f.clock.advance(1);
    expect(seen.at(-1)).toEqual({ host: 'h1', up: true });
    // Silent past the grace period (plus one sweep): down.
    await f.clock.advance(GRACE + GRACE / 4 + 1);
    expect(seen.at(-1)).toEqual({ host: 'h1', up: false });
    expect(seen).toHaveLength(4);
  });

  it('tells a change of an owned host that has not beaten yet', async () => {
    const f = await fixture();
    const { seen } = await watching(f, f.bus, []);
    await f.directory.setService('h1', { disabled: true });
    await f.clock.advance(1);
    expect(seen).toEqual([{ host: 'h1', up: false }]);
  });

  it('starts from the stored records and re-announces unschedulable hosts every refresh', async () => {
    const f = await fixture();
    await f.directory.setService('h1', { forcedDown: true });
    const { seen } = await watching(f, f.bus);
    await f.clock.advance(1);
    expect(seen).toEqual([{ host: 'h1', up: false }]);
    f.beat(); // beating does not make a forced-down host schedulable
    await f.clock.advance(1);
    expect(seen).toHaveLength(1);
    await f.clock.advance(60_000);
    expect(seen).toEqual([
      { host: 'h1', up: false },
      { host: 'h1', up: false }, // the refresh: a shard that took over meanwhile learns it
    ]);
  });

  it('tells the unschedulable hosts again at once when a shard asks for a replay', async () => {
    const f = await fixture();
    await f.directory.setService('h1', { disabled: true });
    const { seen } = await watching(f, f.bus, ['h1', 'h2']);
    f.beat('h2');
    await f.clock.advance(1);
    expect(seen).toEqual([
      { host: 'h1', up: false },
      { host: 'h2', up: true },
    ]);
    const replay = (body: unknown) =>
      f.bus.publish(agentSubjects('c1').serviceReplay, encode(serviceReplay, body as never));
    replay({ requester: 'r1/sched-0' });
    await f.clock.advance(1); // long before the 60 s refresh
    expect(seen).toEqual([
      { host: 'h1', up: false },
      { host: 'h2', up: true },
      { host: 'h1', up: false }, // only the unschedulable host is told again
    ]);
    // Something that is not a replay request on the subject is ignored.
    f.bus.publish(agentSubjects('c1').serviceReplay, new Uint8Array([1, 2, 3]));
    await f.clock.advance(1);
    expect(seen).toHaveLength(3);
  });
});

describe('on the embedded control plane', () => {
  let e: Embedded | undefined;
  afterEach(async () => {
    await e?.stop();
    e = undefined;
  });

  async function world(clock: VirtualClock) {
    e = await startEmbedded({
      cells: 1,
      hostsPerCell: 3,
      clock,
      host: { vcpus: 4, memoryMb: 8192, diskGb: 100 },
    });
    await until(
      clock,
      'hosts registered',
      async () => e!.roles.get('cell1')!.registrar!.hosts().length === 3,
    );
    await clock.advance(3_000);
    return e;
  }

  async function until(clock: VirtualClock, what: string, check: () => Promise<boolean>, maxMs = 60_000) {
    const end = clock.now() + maxMs;
    await clock.advance(0);
    while (!(await check())) {
      if (clock.now() >= end) throw new Error(`not within ${maxMs} virtual ms: ${what}`);
      await clock.advance(50);
    }
  }

  const call = async (method: string, url: string, payload?: unknown) => {
    const r = await e!.app.inject({
      method: method as 'GET',
      url: `/v2.1${url}`,
      headers: { 'content-type': 'application/json', 'openstack-api-version': 'compute 2.79' },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
  };

  async function bootSettled(clock: VirtualClock, name: string) {
    const r = await call('POST', '/servers', {
      server: { name, imageRef: 'cirros', flavorRef: '1', networks: 'none' },
    });
    expect(r.status).toBe(202);
    const id = r.body.server.id as string;
    let s: Record<string, unknown> = {};
    await until(clock, `${name} settled`, async () => {
      s = (await call('GET', `/servers/${id}`)).body.server;
      return s.status !== 'BUILD' && s['OS-EXT-STS:task_state'] === null;
    });
    return s;
  }

  it('lists the hosts as hypervisors with their trees; a disabled host gets no new instance', async () => {
    const clock = new VirtualClock(T0);
    await world(clock);
    const hyp = await call('GET', '/os-hypervisors/detail');
    expect(hyp.body.hypervisors).toHaveLength(3);
    expect(hyp.body.hypervisors[0]).toMatchObject({
      id: stableUuid('cell1-cn0001'),
      hypervisor_hostname: 'cell1-cn0001',
      state: 'up',
      status: 'enabled',
      vcpus: 4,
      memory_mb: 8192,
      local_gb: 100,
      running_vms: 0,
    });
    const services = (await call('GET', '/os-services')).body.services as Array<{ id: string; host: string }>;
    for (const host of ['cell1-cn0001', 'cell1-cn0002']) {
      const id = services.find((s) => s.host === host)!.id;
      const r = await call('PUT', `/os-services/${id}`, { status: 'disabled', disabled_reason: 'drain' });
      expect(r.body.service).toMatchObject({ status: 'disabled', disabled_reason: 'drain' });
    }
    await clock.advance(100); // the watch → the monitor → the shard
    for (const name of ['a', 'b']) {
      const s = await bootSettled(clock, name);
      expect(s.status).toBe('ACTIVE');
      expect(s['OS-EXT-SRV-ATTR:host']).toBe('cell1-cn0003');
    }
    const cn3 = (await call('GET', `/os-hypervisors/${stableUuid('cell1-cn0003')}?with_servers=true`)).body
      .hypervisor;
    expect(cn3).toMatchObject({ running_vms: 2, vcpus_used: 2, memory_mb_used: 1024, local_gb_used: 2 });
    expect(cn3.servers).toHaveLength(2);
  });

  it('a host whose heartbeats stop goes down', async () => {
    const clock = new VirtualClock(T0);
    const w = await world(clock);
    w.fleets.get('cell1')!.agents.agent('cell1-cn0002')!.missHeartbeats(-1);
    for (let i = 0; i < 80; i++) await clock.advance(1_000); // past the 60 s grace
    const hyp = (await call('GET', '/os-hypervisors')).body.hypervisors as Array<Record<string, unknown>>;
    expect(hyp.map((h) => h.state)).toEqual(['up', 'down', 'up']);
  });
});
