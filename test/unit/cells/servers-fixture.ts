/**
 * A region for the server use cases (cells/servers/) without HTTP and without conductors: cells in
 * a memory coordinator, the real ServerBackend (deploy/server-backend.ts) over memory stores and
 * bus, the real quota ledger, server groups in a map. Faults go in at the ports: `fail` makes the
 * next calls of a port throw, `afterChoice` runs between the router's choice and the mapping.
 */
import { afterEach } from 'vitest';
import { QuotaLedger } from '../../../api/compute/quota-ledger.ts';
import type { ConductorJob } from '../../../cells/conductor-jobs.ts';
import { CellDirectory } from '../../../cells/directory.ts';
import type { InstanceRecord } from '../../../cells/instances.ts';
import { CellRegistry } from '../../../cells/lifecycle.ts';
import type { CellRecord } from '../../../cells/mapping.ts';
import type { BootPorts, BootRequest } from '../../../cells/servers/boot.ts';
import type { DeletePorts } from '../../../cells/servers/delete.ts';
import type { MovePorts } from '../../../cells/servers/move.ts';
import type { GroupMembers } from '../../../cells/servers/ports.ts';
import type { PowerPorts } from '../../../cells/servers/power.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { CellplaneError } from '../../../core/errors.ts';
import { CellsServerBackend } from '../../../deploy/server-backend.ts';

export type Ports = BootPorts & DeletePorts & PowerPorts & MovePorts;

export interface Region {
  readonly clock: VirtualClock;
  readonly registry: CellRegistry;
  readonly backend: CellsServerBackend;
  readonly quota: QuotaLedger;
  readonly ports: Ports;
  /** Every job queued, in order. */
  readonly jobs: Array<{ cell: string; job: ConductorJob }>;
  /** The project's quota limits (absent: unlimited). */
  limits: Record<string, number>;
  /** Hosts that are down (evacuate needs one). */
  readonly down: Set<string>;
  /** The next `times` calls of port method `what` throw `unavailable`. */
  fail(what: 'mapInstance' | 'enqueue' | 'create' | 'addMembers', times?: number): void;
  /** Runs between the router's choice and the mapping of every instance. */
  afterChoice?: (cell: CellRecord) => Promise<void>;
  cell(name: string): CellRecord;
  record(uuid: string): Promise<InstanceRecord | undefined>;
}

const T0 = Date.parse('2030-01-01T00:00:00Z');
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

export const uuidOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

export const FLAVOR = {
  id: '2',
  name: 'm1.small',
  vcpus: 1,
  ram: 2048,
  disk: 20,
  ephemeral: 0,
  swap: 0,
  extraSpecs: {},
} as const;
export const LARGE = { ...FLAVOR, id: '4', name: 'm1.large', vcpus: 4, ram: 8192, disk: 80 } as const;
/** Stored before the API checked specs (or by a lenient API): cellplane does not pin CPUs. */
export const PINNED = {
  ...LARGE,
  id: '5',
  name: 'm1.pinned',
  extraSpecs: { 'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '2' },
} as const;

export function bootRequest(n: number, more: Partial<BootRequest> = {}): BootRequest {
  return {
    requestId: `req-${n}`,
    userId: 'u1',
    projectId: 'p1',
    name: 'vm',
    flavor: FLAVOR,
    imageRef: 'cirros',
    availabilityZone: null,
    group: null,
    min: 1,
    uuids: [uuidOf(n)],
    ...more,
  };
}

export async function region(cellNames: readonly string[] = ['cell1', 'cell2']): Promise<Region> {
  const clock = new VirtualClock(T0);
  const coordinator = new MemoryCoordinationServer(clock).client();
  // The API layer's store: the instance mappings and the quota claims, as `cellplane api` keeps them.
  const apiStore = new MemoryStore();
  const registry = new CellRegistry(coordinator, { clock, mappingStore: apiStore });
  for (const name of cellNames)
    await registry.create({ name, transport: `cp.${name}`, store: `memory://${name}` });
  const directory = await CellDirectory.open(coordinator);
  const bus = new MemoryBroker({ clock }).connect();
  const stores = new Map<string, MemoryStore>();
  const down = new Set<string>();
  const backend = new CellsServerBackend({
    directory,
    memberships: registry.memberships,
    portsOf: (c) => {
      if (!stores.has(c.uuid)) stores.set(c.uuid, new MemoryStore());
      return { store: stores.get(c.uuid)!, bus };
    },
    clock,
    random: () => 0, // no capacity reports: the first accepting cell
    liveness: { isUp: async (host) => !down.has(host) },
  });
  closers.push(async () => {
    await backend.close();
    await directory.close();
    await bus.close();
    await coordinator.close();
  });
  const quota = new QuotaLedger(apiStore, () => clock.now());
  const failing = new Map<string, number>();
  const maybeFail = (what: string) => {
    const n = failing.get(what) ?? 0;
    if (n <= 0) return;
    failing.set(what, n - 1);
    throw new CellplaneError('unavailable', `${what} failed (injected)`);
  };
  const members = new Map<string, string[]>();
  const groups: GroupMembers = {
    members: async (g) => members.get(g) ?? [],
    addMembers: async (g, uuids) => {
      maybeFail('addMembers');
      members.set(g, [...(members.get(g) ?? []), ...uuids]);
    },
    removeMembers: async (g, uuids) => {
      members.set(
        g,
        (members.get(g) ?? []).filter((u) => !uuids.includes(u)),
      );
    },
  };
  const jobs: Region['jobs'] = [];
  const r: Region = {
    clock,
    registry,
    backend,
    quota,
    jobs,
    limits: {},
    down,
    fail: (what, times = 1) => failing.set(what, times),
    cell: (name) => directory.list().find((c) => c.name === name)!,
    record: async (uuid) => {
      const cell = await backend.cellOf(uuid);
      return cell && (await (await backend.instances(cell)).get(uuid))?.value;
    },
    ports: undefined as unknown as Ports,
  };
  (r as { ports: Ports }).ports = {
    cells: {
      chooseCell: async (hint, exclude) => {
        const cell = await backend.chooseCell(hint, exclude);
        await r.afterChoice?.(cell);
        return cell;
      },
    },
    mappings: {
      mapInstance: async (uuid, cell, projectId) => {
        maybeFail('mapInstance');
        return backend.mapInstance(uuid, cell, projectId);
      },
      unmapInstance: (uuid, cell) => backend.unmapInstance(uuid, cell),
      cellOf: (uuid) => backend.cellOf(uuid),
    },
    jobs: {
      enqueue: async (cell, job) => {
        maybeFail('enqueue');
        await backend.enqueue(cell, job);
        jobs.push({ cell: cell.name, job });
      },
    },
    records: {
      instances: async (cell) => {
        const store = await backend.instances(cell);
        return {
          get: (uuid) => store.get(uuid),
          update: (cur, next) => store.update(cur, next),
          create: async (rec, action) => {
            maybeFail('create');
            return store.create(rec, action);
          },
        };
      },
    },
    quota,
    limits: { limitsOf: async () => r.limits },
    groups,
    flavors: { flavor: async (ref) => [FLAVOR, LARGE, PINNED].find((f) => f.id === ref) },
    hosts: { exists: async (host) => /^cn\d$/.test(host) },
    liveness: backend.liveness,
    now: () => clock.now(),
  };
  return r;
}
