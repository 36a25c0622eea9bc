/**
 * The simulated world: the REAL control plane (cells/, actors/, host-agent/ with fake
 * hypervisors) on the memory adapters and one VirtualClock, built from a Scenario. Per cell: the
 * provider-tree actors, registrar, scheduler shards and conductor (each leader-elected role with a
 * second replica, so leader-loss faults have a standby), and a fake fleet of the cell's hosts.
 * The submit path is the compute API's backend (deploy/server-backend.ts) without HTTP: the
 * cell router, instance mappings, the cell's durable build queue; and the API layer's quota
 * ledger (api/compute/quota-ledger.ts) over a store of its own, whose claims the conductors'
 * finished deletes release as they do in a deployment.
 *
 * Determinism: every uuid and random draw comes from the scenario seed; nothing reads the wall
 * clock; the memory adapters deliver in a fixed order. Same seed + scenario → same run.
 */
import { QuotaLedger } from '../api/compute/quota-ledger.ts';
import { DEFAULT_JOB_ACK_WAIT_MS } from '../cells/conductor/limits.ts';
import type { ConductorEvent } from '../cells/conductor/ports.ts';
import { CellDirectory } from '../cells/directory.ts';
import { CellRegistry } from '../cells/lifecycle.ts';
import type { CellRecord } from '../cells/mapping.ts';
import { MemoryBroker } from '../core/adapters/memory/bus.ts';
import type { VirtualClock } from '../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../core/adapters/memory/coordinator.ts';
import { MemoryProcess } from '../core/adapters/memory/process.ts';
import { MemoryStore } from '../core/adapters/memory/store.ts';
import { makeRng, type Rng } from '../core/rng.ts';
import { type CellRoles, startCellRoles } from '../deploy/cell-roles.ts';
import { CellsServerBackend } from '../deploy/server-backend.ts';
import type { FakeHostSpec } from '../host-agent/drivers/fake-host.ts';
import { type FakeFleet, startFakeFleet } from '../host-agent/fleet.ts';
import type { HostProfile, Scenario } from './scenario-types.ts';

/** Hosts one scheduler shard covers at most (select stays well under a millisecond). */
export const HOSTS_PER_SHARD = 10_000;
/** Simulated spawn latency (ms): a fake hypervisor boot. */
export const SPAWN_LATENCY = { minMs: 2_000, maxMs: 8_000 } as const;
/** Builds a simulated cell's conductor works on at once. */
export const SIM_CONDUCTOR_IN_FLIGHT = 4_096;
/** Leader leases in the simulation (a lost leader is replaced after about this). */
export const SIM_LEASE_TTL_MS = 5_000;
/**
 * The conductor leaders' reconcile period in the simulation: Nova's power-sync default (600 s), not
 * the deployment's 60 s — a pass asks every host, and at 10,000 hosts a 60 s period added ~50% CPU.
 */
export const SIM_RECONCILE_INTERVAL_MS = 600_000;

export interface SimHost {
  readonly name: string;
  readonly cell: string;
  readonly profile: string;
  readonly az: string;
}

export interface SimCell {
  readonly record: CellRecord;
  readonly store: MemoryStore;
  readonly shardCount: number;
  /** Replica 0 runs trees + shards + conductor; replica 1 is the standby of shards + conductor. */
  readonly replicas: CellRoles[];
  readonly fleet: FakeFleet;
  readonly hosts: readonly SimHost[];
}

export interface World {
  readonly clock: VirtualClock;
  readonly rng: Rng;
  readonly registry: CellRegistry;
  readonly directory: CellDirectory;
  readonly backend: CellsServerBackend;
  /** The API layer's quota usage (claims per instance, in a store of the API layer's own). */
  readonly quota: QuotaLedger;
  /** A bus connection of the simulator itself (submits, observers). */
  readonly bus: import('../core/ports/bus.ts').Bus;
  readonly cells: ReadonlyMap<string, SimCell>;
  readonly hosts: ReadonlyMap<string, SimHost>;
  /** A uuid from the run's seed. */
  uuid(): string;
  /**
   * Kills replica `i` of a cell as SIGKILL would (core/adapters/memory/process.ts: its leases
   * lapse after their TTL, its jobs come back after the ack-wait, nothing of it acts again) and
   * starts a fresh one in its place.
   */
  killReplica(cell: string, i: number): Promise<void>;
  stop(): Promise<void>;
}

export interface WorldOptions {
  readonly clock: VirtualClock;
  readonly onConductorEvent: (cell: string, e: ConductorEvent) => void;
  /** Called with (hosts started, total) while the fleet comes up. */
  readonly onProgress?: (started: number, total: number) => void;
}

export async function buildWorld(s: Scenario, o: WorldOptions): Promise<World> {
  const { clock } = o;
  const rng = makeRng(`world:${s.run.seed}`);
  const uuid = () => uuidFrom(rng);
  const broker = new MemoryBroker({ clock });
  const coordination = new MemoryCoordinationServer(clock);
  const quota = new QuotaLedger(new MemoryStore(), () => clock.now());
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const f of stops.splice(0).reverse()) await f().catch(() => {});
  };
  try {
    const coordinator = coordination.client();
    stops.push(() => coordinator.close());
    // The API layer's store: the instance mappings live there.
    const apiStore = new MemoryStore();
    const registry = new CellRegistry(coordinator, { clock, newUuid: uuid, mappingStore: apiStore });
    const cells = new Map<string, SimCell>();
    const hosts = new Map<string, SimHost>();
    const replicaStops = new Map<CellRoles, () => Promise<void>>();
    const replicaKills = new Map<CellRoles, () => void>();
    let generation = 0;
    /** Both replicas run trees (hosted while leading the conductor), every shard and a conductor. */
    const startReplica = async (
      cell: string,
      cellUuid: string,
      store: MemoryStore,
      shardCount: number,
      i: number,
    ): Promise<CellRoles> => {
      const proc = new MemoryProcess({ broker, coordination, store, clock });
      const r = await startCellRoles({
        cell,
        cellUuid,
        bus: proc.bus,
        coordinator: proc.coordinator,
        store: proc.store,
        clock: proc.clock,
        replicaId: `${cell}-r${i}-${generation++}`,
        shardCount,
        // One registrar per cell is enough in one process (replica 0's; both would do the same work).
        roles: {
          trees: true,
          shards: Array.from({ length: shardCount }, (_, k) => k),
          conductor: true,
          registrar: i === 0,
        },
        leaseTtlMs: SIM_LEASE_TTL_MS,
        // A build spends seconds of simulated time in spawn: many in flight, as a real cell has.
        conductorInFlight: SIM_CONDUCTOR_IN_FLIGHT,
        serviceDownMs: 360_000, // three missed heartbeats (the fleet beats every 120 s)
        reconcile: { intervalMs: SIM_RECONCILE_INTERVAL_MS },
        askTimeoutMs: 30_000,
        operationTimeoutMs: 120_000,
        memberships: new CellRegistry(proc.coordinator, {
          clock: proc.clock,
          mappingStore: proc.storeView(apiStore),
        }).memberships,
        // The API's ledger is no store of this process: a killed replica must not reach it either.
        releaseQuota: (uuid) => (proc.alive ? quota.release(uuid) : new Promise<never>(() => {})),
        onConductorEvent: (e) => {
          if (proc.alive) o.onConductorEvent(cell, e);
        },
      });
      const stopIt = async () => {
        await r.stop();
        await proc.coordinator.close();
        await proc.bus.close().catch(() => {});
      };
      replicaStops.set(r, stopIt);
      replicaKills.set(r, () => proc.kill());
      stops.push(async () => {
        if (replicaStops.has(r)) await stopIt();
      });
      return r;
    };
    const killReplica = async (cell: string, i: number): Promise<void> => {
      const c = cells.get(cell)!;
      const old = c.replicas[i]!;
      replicaStops.delete(old); // a dead process is not stopped: its awaits never settle
      replicaKills.get(old)?.();
      replicaKills.delete(old);
      c.replicas[i] = await startReplica(cell, c.record.uuid, c.store, c.shardCount, i);
    };
    let started = 0;
    for (const c of s.fleet.cells) {
      const record = await registry.create({
        name: c.name,
        transport: `cp.${c.name}`,
        store: `memory://${c.name}`,
      });
      const store = new MemoryStore();
      const shardCount = Math.max(1, Math.ceil(c.totalHosts / HOSTS_PER_SHARD));
      const _shards = Array.from({ length: shardCount }, (_, i) => i);
      const replicas: CellRoles[] = [];
      for (let i = 0; i < 2; i++)
        replicas.push(await startReplica(c.name, record.uuid, store, shardCount, i));
      const { specs, hosts: cellHosts } = cellFleet(s, c);
      for (const h of cellHosts) hosts.set(h.name, h);
      const fleetBus = broker.connect();
      const spawnFailure = c.spawnFailureRate ?? 0;
      const fleet = await startFakeFleet({
        bus: fleetBus,
        clock,
        cell: c.name,
        seed: `${s.run.seed}:${c.name}`,
        hosts: specs,
        heartbeatIntervalMs: 120_000,
        // An instance's actor is needed while an operation runs: passivate soon after, or a
        // boot storm keeps one live actor per instance for minutes.
        actorHost: { idleAfterMs: 30_000, sweepIntervalMs: 10_000 },
        driver: {
          latency: { spawn: SPAWN_LATENCY, destroy: { minMs: 200, maxMs: 1_000 } },
          ...(spawnFailure > 0 ? { failureRate: { spawn: spawnFailure } } : {}),
        },
      });
      stops.push(async () => {
        await fleet.stop();
        await fleetBus.close();
      });
      started += specs.length;
      o.onProgress?.(started, s.fleet.totalHosts);
      cells.set(c.name, { record, store, shardCount, replicas, fleet, hosts: cellHosts });
    }
    const directory = await CellDirectory.open(coordinator);
    stops.push(() => directory.close());
    const routerRng = makeRng(`router:${s.run.seed}`);
    const apiBus = broker.connect();
    stops.push(() => apiBus.close());
    const backend = new CellsServerBackend({
      directory,
      memberships: registry.memberships,
      portsOf: (cell) => ({ store: cells.get(cell.name)!.store, bus: apiBus }),
      clock,
      random: () => routerRng.next(),
      ackWaitMs: DEFAULT_JOB_ACK_WAIT_MS, // the conductors' (startCellRoles above sets none)
    });
    stops.push(() => backend.close());
    return {
      clock,
      rng,
      registry,
      directory,
      backend,
      quota,
      bus: apiBus,
      cells,
      hosts,
      uuid,
      stop,
      killReplica,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A cell's hosts: names, profiles and zones, and the fake hypervisors' specs, in a fixed order. */
export function cellFleet(
  s: Scenario,
  c: Scenario['fleet']['cells'][number],
): { specs: FakeHostSpec[]; hosts: SimHost[] } {
  const specs: FakeHostSpec[] = [];
  const hosts: SimHost[] = [];
  let n = 0;
  for (const g of c.hostGroups) {
    const profile = s.fleet.profiles[g.profile]!;
    for (let k = 0; k < g.count; k++) {
      n++;
      const name = `${c.name}-${g.profile}-${String(n).padStart(5, '0')}`;
      const az = g.availabilityZones[k % Math.max(1, g.availabilityZones.length)] ?? 'nova';
      specs.push(hostSpec(name, profile, g.allocationRatios));
      hosts.push({ name, cell: c.name, profile: g.profile, az });
    }
  }
  return { specs, hosts };
}

function hostSpec(
  name: string,
  p: HostProfile,
  ratios: { vcpu: number; ram: number; disk: number },
): FakeHostSpec {
  const d = p.devices;
  const gpus = d.gpus.flatMap((g) =>
    Array.from({ length: g.count }, () => ({ units: g.unitsPerGpu, traits: g.traits })),
  );
  const pfs = d.sriov.flatMap((s) =>
    Array.from({ length: s.count }, () => ({ units: s.vfs, traits: s.traits })),
  );
  const fpgas = d.fpgas.flatMap((f) =>
    Array.from({ length: f.count }, () => ({ units: 1, traits: f.traits })),
  );
  return {
    hostname: name,
    vcpus: p.vcpus,
    memoryMb: p.ramMb,
    diskGb: p.diskGb,
    reserved: { vcpus: p.reserved.vcpus, memoryMb: p.reserved.ramMb, diskGb: p.reserved.diskGb },
    allocationRatios: ratios,
    traits: [...p.traits],
    ...(gpus.length ? { gpus } : {}),
    ...(pfs.length ? { sriovPfs: pfs } : {}),
    ...(fpgas.length ? { fpgas } : {}),
  };
}

/** An RFC 4122 version-4-shaped uuid from the rng. */
export function uuidFrom(rng: Rng): string {
  const hex = (n: number) => Array.from({ length: n }, () => rng.int(16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[rng.int(4)]}${hex(3)}-${hex(12)}`;
}
