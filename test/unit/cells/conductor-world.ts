/**
 * A memory world for the cell conductor's tests, on a VirtualClock: one broker and coordination
 * server, a MemoryStore for the cell, the cell's roles started by deploy/cell-roles.ts (trees +
 * registrar + 2 scheduler shards + conductor replica "a"), optionally more conductor replicas,
 * and a fake fleet. Jobs go in through the real work queue, as the API puts them.
 */

import type { ConductorEvent } from '../../../cells/conductor/ports.ts';
import {
  buildJob,
  type ConductorJob,
  conductorJob,
  jobMsgId,
  opsQueueName,
} from '../../../cells/conductor-jobs.ts';
import {
  type InstanceFlavor,
  type InstanceRecord,
  InstanceStore,
  type NewInstance,
  newInstanceRecord,
} from '../../../cells/instances.ts';
import { CellRegistry } from '../../../cells/lifecycle.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { encode } from '../../../core/codec/envelope.ts';
import type { WorkQueue } from '../../../core/ports/bus.ts';
import { type CellRoles, startCellRoles } from '../../../deploy/cell-roles.ts';
import type { FakeHostSpec } from '../../../host-agent/drivers/fake-host.ts';
import { type FakeFleet, type FakeFleetOptions, startFakeFleet } from '../../../host-agent/fleet.ts';
import { storedProviders } from '../actors/boot-path-fixture.ts';
import { smallHost } from '../host-agent/helpers.ts';

export const CELL = 'cell1';
export const TTL_MS = 3_000;
export const ACK_WAIT_MS = 10_000;

export const M1: InstanceFlavor = {
  id: '1',
  name: 'm1.small',
  vcpus: 4,
  ram: 2048,
  disk: 10,
  ephemeral: 0,
  swap: 0,
  extraSpecs: {},
};

export function uuidOf(n: number): string {
  return `c0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export interface Replica {
  readonly roles: CellRoles;
  /** Dies without resigning: leadership lapses after the TTL, its jobs come back after ack-wait. */
  crash(): Promise<void>;
  /**
   * Loses the coordinator only (keep-alives stop, as in a partition from etcd): its leadership
   * lapses after the TTL while it goes on working on the jobs in its hands.
   */
  stall(): void;
}

export interface ConductorWorld {
  readonly clock: VirtualClock;
  /** For a test's own connections (close them yourself). */
  readonly broker: MemoryBroker;
  readonly store: MemoryStore;
  readonly instances: InstanceStore;
  readonly fleet: FakeFleet;
  readonly roles: CellRoles;
  readonly events: ConductorEvent[];
  /** Role events of every replica (`what`: conductor, sched-0, registrar, …). */
  readonly roleEvents: Array<{ readonly what: string; readonly e: unknown }>;
  /** A conductor-only replica (a standby while "a" leads). */
  replica(id: string): Promise<Replica>;
  /** A replica of both scheduler shards (standbys while "a" leads them). */
  shardReplica(id: string): Promise<Replica>;
  /** Replica "a": the trees, the registrar and the shards the world started with. */
  readonly shardsFirst: Replica;
  /** The conductor replica started with the world. */
  readonly first: Replica;
  /** Enqueues a boot of instance n (as the API does: record first, then the job). */
  boot(n: number, more?: Partial<NewInstance>): Promise<InstanceRecord>;
  submit(job: Omit<ConductorJob, 'userId' | 'projectId' | 'acceptedAt'>): Promise<void>;
  get(n: number): Promise<InstanceRecord | undefined>;
  until(what: string, check: () => boolean | Promise<boolean>, maxMs?: number): Promise<void>;
  /** With `registry: true`: the cell's registry and record (instance mappings, as the API writes them). */
  readonly cells?: { readonly registry: CellRegistry; readonly cellUuid: string };
  /** Usage per provider as the store holds it, against capacity. */
  providers(): ReturnType<typeof storedProviders>;
  close(): Promise<void>;
}

export async function conductorWorld(
  opts: {
    hosts?: readonly FakeHostSpec[];
    driver?: FakeFleetOptions['driver'];
    maxBuildAttempts?: number;
    buildStallMs?: number;
    buildTimeoutMs?: number;
    /** Registers the cell in a CellRegistry, so the roles map hosts (as a deployment does). */
    registry?: boolean;
    /** The conductor leader's reconcile pass (default: the deployment's default period). */
    reconcile?: { intervalMs?: number; hostsInFlight?: number };
  } = {},
): Promise<ConductorWorld> {
  const clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
  const broker = new MemoryBroker({ clock });
  const coordination = new MemoryCoordinationServer(clock);
  const store = new MemoryStore();
  const events: ConductorEvent[] = [];
  const roleEvents: Array<{ readonly what: string; readonly e: unknown }> = [];
  const closers: Array<() => Promise<void>> = [];
  const registry = opts.registry
    ? new CellRegistry(coordination.client(), { clock, mappingStore: new MemoryStore() })
    : undefined;
  const registered = registry
    ? await registry.create({ name: CELL, transport: `cp.${CELL}`, store: `memory://${CELL}` })
    : undefined;
  const common = {
    ...(registry && registered ? { memberships: registry.memberships, cellUuid: registered.uuid } : {}),
    cell: CELL,
    store,
    clock,
    shardCount: 2,
    leaseTtlMs: TTL_MS,
    ackWaitMs: ACK_WAIT_MS,
    askTimeoutMs: 1_000,
    operationTimeoutMs: 5_000,
    ...(opts.maxBuildAttempts ? { maxBuildAttempts: opts.maxBuildAttempts } : {}),
    ...(opts.reconcile ? { reconcile: opts.reconcile } : {}),
    ...(opts.buildStallMs ? { buildStallMs: opts.buildStallMs } : {}),
    ...(opts.buildTimeoutMs ? { buildTimeoutMs: opts.buildTimeoutMs } : {}),
  };
  const start = async (id: string, roles: Parameters<typeof startCellRoles>[0]['roles']) => {
    const bus = broker.connect();
    const coordinator = coordination.client();
    const r = await startCellRoles({
      ...common,
      bus,
      coordinator,
      replicaId: id,
      roles,
      onConductorEvent: (e) => events.push(e),
      onRoleEvent: (what, e) => roleEvents.push({ what, e }),
    });
    let crashed = false;
    closers.push(async () => {
      if (crashed) return;
      await r.stop();
      await coordinator.close();
      await bus.close().catch(() => {});
    });
    const replica: Replica = {
      roles: r,
      async crash() {
        crashed = true;
        await coordinator.close();
        await bus.close().catch(() => {});
      },
      stall() {
        coordinator.crash();
      },
    };
    return replica;
  };
  const shardsFirst = await start('a', { trees: true, shards: [0, 1] });
  const roles = shardsFirst.roles;
  const first = await start('c1', { conductor: true });
  const hosts = opts.hosts ?? Array.from({ length: 6 }, (_, i) => smallHost(`cn${i}`));
  const fleetBus = broker.connect();
  const fleet = await startFakeFleet({
    bus: fleetBus,
    clock,
    cell: CELL,
    seed: 11,
    hosts,
    ...(opts.driver ? { driver: opts.driver } : {}),
  });
  closers.push(async () => {
    await fleet.stop();
    await fleetBus.close();
  });
  const apiBus = broker.connect();
  closers.push(() => apiBus.close());
  let queue: WorkQueue | undefined;
  const instances = new InstanceStore(store);
  const w: ConductorWorld = {
    clock,
    broker,
    store,
    instances,
    fleet,
    roles,
    first,
    events,
    roleEvents,
    replica: (id) => start(id, { conductor: true }),
    shardReplica: (id) => start(id, { shards: [0, 1] }),
    shardsFirst,
    ...(registry && registered ? { cells: { registry, cellUuid: registered.uuid } } : {}),
    async boot(n, more = {}) {
      const rec = newInstanceRecord(
        {
          uuid: uuidOf(n),
          name: `vm-${n}`,
          projectId: 'p1',
          userId: 'u1',
          flavor: M1,
          imageRef: 'cirros',
          requestId: `req-${n}`,
          ...more,
        },
        new Date(clock.now()).toISOString(),
      );
      await instances.create(rec);
      const job = buildJob(rec);
      queue ??= await apiBus.workQueue(opsQueueName(CELL), { ackWaitMs: ACK_WAIT_MS });
      await queue.enqueue(encode(conductorJob, job), { msgId: jobMsgId(job) });
      return rec;
    },
    async submit(job) {
      queue ??= await apiBus.workQueue(opsQueueName(CELL), { ackWaitMs: ACK_WAIT_MS });
      const full: ConductorJob = {
        userId: 'u1',
        projectId: 'p1',
        acceptedAt: new Date(clock.now()).toISOString(),
        ...job,
      };
      await queue.enqueue(encode(conductorJob, full), { msgId: jobMsgId(full) });
    },
    async get(n) {
      return (await instances.get(uuidOf(n)))?.value;
    },
    async until(what, check, maxMs = 60_000) {
      const end = clock.now() + maxMs;
      await clock.advance(0);
      while (!(await check())) {
        if (clock.now() >= end) throw new Error(`not within ${maxMs} virtual ms: ${what}`);
        await clock.advance(50);
      }
    },
    providers: () =>
      storedProviders(
        store,
        (roles.registrar?.hosts() ?? []).map((h) => h.root),
      ),
    async close() {
      for (const c of closers.splice(0).reverse()) await c().catch(() => {});
    },
  };
  await w.until('hosts registered and shards serving', () => {
    const regs = roles.registrar?.hosts().length ?? 0;
    return regs === hosts.length && roles.shards.every((s) => s.serving) && first.roles.conductor!.serving;
  });
  return w;
}
