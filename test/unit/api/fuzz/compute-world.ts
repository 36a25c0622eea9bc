/**
 * The compute API as the fuzzer drives it: the real app over the real ServerBackend
 * (deploy/server-backend.ts) on the memory adapters — two cells in a coordinator, a store per
 * cell, work queues on a memory bus — with a few hosts and servers already there (ACTIVE,
 * stopped, error, awaiting resize confirmation) so that actions get past their state checks. No
 * conductor runs: what the API hands the cells stays as records, mappings and queued jobs, which
 * is exactly what the fuzzer compares.
 */
import { buildComputeApp } from '../../../../api/compute/app.ts';
import { COMPUTE_BINARY, MemoryHostDirectory } from '../../../../api/compute/hosts.ts';
import { ComputeStore } from '../../../../api/compute/store/index.ts';
import { CellDirectory } from '../../../../cells/directory.ts';
import { type InstanceRecord, newInstanceRecord, POWER } from '../../../../cells/instances.ts';
import { CellRegistry } from '../../../../cells/lifecycle.ts';
import type { CellRecord } from '../../../../cells/mapping.ts';
import { MemoryBroker } from '../../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../../core/adapters/memory/store.ts';
import { STOCK_FLAVORS, seedFlavors } from '../../../../deploy/flavors.ts';
import { CellsServerBackend } from '../../../../deploy/server-backend.ts';
import type { World } from './requests.ts';
import { decodeBytes, type QueuedJob, RecordingStore, recordingBus } from './state.ts';

export const COMPUTE_TOKEN = 'fuzz-admin-token';
const T0 = Date.parse('2026-12-01T00:00:00Z');

/** Compute hosts; cn4's service is down (evacuate is allowed from it). */
export const HOSTS = ['cn1', 'cn2', 'cn3', 'cn4'];
/** A flavor only project p1 may use. */
export const PRIVATE_FLAVOR = 'pf1';
/** A host running only an internal service (not a hypervisor). */
export const CONTROL_HOST = 'ctl1';

const uuidOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** The servers every world starts with: [uuid, cell index, vm state, host]. */
export const SEEDED_SERVERS: ReadonlyArray<readonly [string, number, string, string]> = [
  [uuidOf(101), 0, 'active', 'cn1'],
  [uuidOf(102), 0, 'active', 'cn2'],
  [uuidOf(103), 1, 'active', 'cn3'],
  [uuidOf(104), 1, 'active', 'cn4'],
  [uuidOf(105), 0, 'stopped', 'cn1'],
  [uuidOf(106), 1, 'error', 'cn4'],
  [uuidOf(107), 0, 'resized', 'cn2'],
];

const TINY = { id: '1', name: 'm1.tiny', vcpus: 1, ram: 512, disk: 1, ephemeral: 0, swap: 0, extraSpecs: {} };
const SMALL = { ...TINY, id: '2', name: 'm1.small', ram: 2048, disk: 20 };

function seededRecord(uuid: string, vmState: string, host: string, at: string): InstanceRecord {
  const base = newInstanceRecord(
    {
      uuid,
      name: `seed-${uuid.slice(-3)}`,
      projectId: 'admin',
      userId: 'admin',
      flavor: TINY,
      imageRef: 'cirros',
      requestId: `req-${uuid}`,
    },
    at,
  );
  const placement = { host, node: host, root: uuidOf(900 + HOSTS.indexOf(host)), allocations: {} };
  const status = vmState === 'active' ? 'ACTIVE' : vmState === 'stopped' ? 'SHUTOFF' : 'ERROR';
  const rec = {
    ...base,
    status,
    vmState,
    taskState: null,
    powerState: vmState === 'active' ? POWER.RUNNING : POWER.SHUTDOWN,
    placement,
    launchedAt: at,
  } as InstanceRecord;
  if (vmState !== 'resized') return rec;
  return {
    ...rec,
    status: 'VERIFY_RESIZE',
    vmState: 'resized',
    powerState: POWER.RUNNING,
    flavor: SMALL,
    migration: {
      kind: 'resize',
      requestId: `req-${uuid}`,
      status: 'finished',
      source: { ...placement, host: 'cn1', node: 'cn1' },
      target: placement,
      oldFlavor: TINY,
      newFlavor: SMALL,
      triedHosts: [],
      previousVmState: 'active',
      startedAt: at,
    },
  } as InstanceRecord;
}

export async function computeWorld(): Promise<World> {
  const clock = new VirtualClock(T0);
  const coordination = new MemoryCoordinationServer(clock);
  const coordinator = coordination.client();
  let cellN = 0;
  // The API's store: the instance mappings live there (cells/instance-mappings.ts), so a dump shows them.
  const apiStore = new RecordingStore(new MemoryStore());
  const registry = new CellRegistry(coordinator, {
    clock,
    newUuid: () => uuidOf(1 + cellN++),
    mappingStore: apiStore,
  });
  const cells: CellRecord[] = [];
  for (const name of ['cell1', 'cell2'])
    cells.push(await registry.create({ name, transport: `cp.${name}`, store: `memory://${name}` }));
  const directory = await CellDirectory.open(coordinator);
  const broker = new MemoryBroker({ clock });
  const jobs: QueuedJob[] = [];
  const rawBus = broker.connect();
  const bus = recordingBus(rawBus, jobs);
  const cellStores = new Map(cells.map((c) => [c.uuid, new RecordingStore(new MemoryStore())]));
  const hosts = new MemoryHostDirectory();
  for (const h of HOSTS)
    hosts.put({
      name: h,
      services: [{ binary: COMPUTE_BINARY, enabled: true, up: h !== 'cn4', updatedAt: null }],
    });
  hosts.put({
    name: CONTROL_HOST,
    services: [{ binary: 'nova-scheduler', enabled: true, up: true, updatedAt: null }],
  });
  const backend = new CellsServerBackend({
    directory,
    memberships: registry.memberships,
    portsOf: (c) => ({ store: cellStores.get(c.uuid)!, bus }),
    clock,
    // One cell for every new instance: a random pick would differ between the run and its replay.
    random: () => 0,
    liveness: {
      isUp: async (host) =>
        (await hosts.hosts())
          .find((h) => h.name === host)
          ?.services.some((s) => s.binary === COMPUTE_BINARY && s.up && !s.forcedDown) ?? false,
    },
  });
  const at = new Date(T0).toISOString();
  for (const [uuid, cellIndex, vmState, host] of SEEDED_SERVERS) {
    const cell = cells[cellIndex]!;
    await backend.mapInstance(uuid, cell, 'admin');
    const rec = seededRecord(uuid, vmState, host, at);
    await (await backend.instances(cell)).create(rec, {
      action: 'create',
      requestId: rec.requestId,
      userId: 'admin',
      projectId: 'admin',
      startTime: at,
      updatedAt: at,
      message: null,
      events: [],
    });
  }
  const compute = new ComputeStore(apiStore, () => new Date(T0));
  await seedFlavors(compute);
  // An extra spec to read and a private flavor with access to grant and revoke.
  await compute.flavors.update('1', (f) => ({ ...f, extraSpecs: { 'hw:cpu_policy': 'shared' } }));
  await compute.flavors.create({
    ...STOCK_FLAVORS[0],
    flavorid: PRIVATE_FLAVOR,
    name: 'private',
    ephemeralGb: 0,
    swap: 0,
    rxtxFactor: 1,
    isPublic: false,
    disabled: false,
    description: null,
    extraSpecs: {},
    projects: ['p1'],
  });
  // Made-up uuids in creation order: answers sorted by uuid then list things in the same order in
  // the run and in its replay, even when a rejected request used up a number.
  let made = 0;
  const newUuid = () => `00000000-0000-4000-9000-${String(++made).padStart(12, '0')}`;
  const app = await buildComputeApp(
    { store: apiStore, hosts, servers: backend, now: () => new Date(T0), newUuid },
    { auth: { mode: 'token', token: COMPUTE_TOKEN }, publicUrl: 'http://api.test' },
  );
  return {
    app,
    async dump() {
      const mappings: Record<string, unknown> = {};
      for (const e of await coordinator.list('')) mappings[e.key] = decodeBytes(e.value);
      const stores: Record<string, unknown> = { api: await apiStore.dump() };
      for (const c of cells) stores[c.name] = await cellStores.get(c.uuid)!.dump();
      // Jobs first: they are in order, so the ids no answer showed get their names there (state.ts).
      return { jobs, stores, coordinator: mappings, hosts: await hosts.hosts() };
    },
    async close() {
      await app.close();
      await backend.close();
      await directory.close();
      await rawBus.close();
      await coordinator.close();
    },
  };
}
