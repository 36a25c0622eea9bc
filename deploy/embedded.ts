/**
 * Everything in one process on the memory adapters (`cellplane up`): N cells, each with its
 * provider-tree actors, registrar, scheduler shards, a conductor and a fake fleet of simulated
 * hosts; the cell records and host mappings in a memory coordinator, the instance mappings in the
 * API's memory store; the compute API over them with
 * a few stock flavors and its quota ledger (released by the conductors' deletes, reconciled
 * with the cells every DEFAULT_QUOTA_RECONCILE_INTERVAL_MS on the clock). The same roles run as separate processes on NATS, etcd and Redis.
 */
import { buildComputeApp, type ComputeConfig } from '../api/compute/app.ts';
import { QuotaLedger } from '../api/compute/quota-ledger.ts';
import { QuotaReconciler, reportLine } from '../api/compute/quota-reconcile.ts';
import type { HostLiveness } from '../api/compute/servers-backend.ts';
import { ComputeStore } from '../api/compute/store/index.ts';
import { buildPlacementApp } from '../api/placement/app.ts';
import type { ConductorEvent } from '../cells/conductor/ports.ts';
import { CellDirectory } from '../cells/directory.ts';
import { CellRegistry } from '../cells/lifecycle.ts';
import type { CellRecord } from '../cells/mapping.ts';
import { MemoryBroker } from '../core/adapters/memory/bus.ts';
import { MemoryCoordinationServer } from '../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../core/adapters/memory/store.ts';
import { systemClock } from '../core/adapters/system/clock.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { FakeHostSpec } from '../host-agent/drivers/fake-host.ts';
import { type FakeFleet, type FakeFleetOptions, startFakeFleet } from '../host-agent/fleet.ts';
import { startAggregateSync } from './aggregate-sync.ts';
import { type CellRoles, startCellRoles } from './cell-roles.ts';
import { seedFlavors } from './flavors.ts';
import { FleetPlacement } from './fleet-placement.ts';
import { CellsHostDirectory } from './host-directory.ts';
import { CellsServerBackend } from './server-backend.ts';
import {
  mappingRebuilder,
  type StoreNotice,
  type StoreWatchConfig,
  watchApiStore,
} from './store-recovery.ts';

export interface EmbeddedOptions {
  readonly cells: number;
  readonly hostsPerCell: number;
  readonly shardsPerCell?: number;
  readonly seed?: number;
  readonly clock?: Clock;
  /** Shape of every simulated host (hostname is set per host). */
  readonly host?: Omit<FakeHostSpec, 'hostname'>;
  /** Per cell name, the hosts' shape there instead of `host` (a cell of GPU hosts, say). */
  readonly hostByCell?: Readonly<Record<string, Omit<FakeHostSpec, 'hostname'>>>;
  readonly driver?: FakeFleetOptions['driver'];
  readonly compute?: Partial<ComputeConfig>;
  readonly onConductorEvent?: (cell: string, e: ConductorEvent) => void;
  /** Whether a host is up (evacuate); default ALWAYS_UP until the heartbeat monitor feeds it. */
  readonly liveness?: HostLiveness;
  /**
   * Watch the stores for a loss of their data and repair, as the role processes do
   * (deploy/store-recovery.ts). Off by default: these memory stores lose nothing unless a test
   * empties them (`MemoryStore.clear`). `onNotice` gets the lines (`store` = cell name or `api`).
   */
  readonly storeWatch?: {
    readonly intervalMs?: number;
    readonly onNotice?: (store: string, n: StoreNotice) => void;
  };
}

export interface Embedded {
  readonly cells: readonly CellRecord[];
  readonly roles: ReadonlyMap<string, CellRoles>;
  readonly fleets: ReadonlyMap<string, FakeFleet>;
  readonly registry: CellRegistry;
  readonly backend: CellsServerBackend;
  readonly hosts: CellsHostDirectory;
  readonly app: Awaited<ReturnType<typeof buildComputeApp>>;
  /** The Placement API over the fleet's live provider trees (deploy/fleet-placement.ts). */
  readonly placementApp: Awaited<ReturnType<typeof buildPlacementApp>>;
  /** The cells' stores, by cell uuid. */
  readonly stores: ReadonlyMap<string, MemoryStore>;
  /** The compute API's store (flavors, aggregates, server groups, quotas, instance mappings). */
  readonly apiStore: MemoryStore;
  /** Quota usage per project (the API layer's) and the pass reconciling it with the cells. */
  readonly quota: QuotaLedger;
  readonly reconciler: QuotaReconciler;
  stop(): Promise<void>;
}

export const DEFAULT_HOST: Omit<FakeHostSpec, 'hostname'> = {
  vcpus: 32,
  memoryMb: 131_072,
  diskGb: 2_000,
  allocationRatios: { vcpu: 4 },
};

export async function startEmbedded(o: EmbeddedOptions): Promise<Embedded> {
  const clock = o.clock ?? systemClock;
  const broker = new MemoryBroker({ clock });
  const coordination = new MemoryCoordinationServer(clock);
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => {});
  };
  try {
    const coordinator = coordination.client();
    stops.push(() => coordinator.close());
    const apiStore = new MemoryStore();
    const registry = new CellRegistry(coordinator, { clock, mappingStore: apiStore });
    const cells: CellRecord[] = [];
    const roles = new Map<string, CellRoles>();
    const fleets = new Map<string, FakeFleet>();
    const stores = new Map<string, MemoryStore>();
    const bus = broker.connect();
    stops.push(() => bus.close());
    const quota = new QuotaLedger(apiStore, () => clock.now());
    const shardCount = o.shardsPerCell ?? 1;
    let epochs = 0;
    const watchOf = (name: string): StoreWatchConfig | undefined =>
      o.storeWatch && {
        name: `memory://${name}`,
        newEpoch: () => `embedded-${++epochs}`,
        ...(o.storeWatch.intervalMs === undefined ? {} : { intervalMs: o.storeWatch.intervalMs }),
      };
    const notice = (store: string, n: StoreNotice) => o.storeWatch?.onNotice?.(store, n);
    for (let c = 1; c <= o.cells; c++) {
      const name = `cell${c}`;
      const cell =
        (await registry.find(name)) ??
        (await registry.create({ name, transport: `cp.${name}`, store: `memory://${name}` }));
      cells.push(cell);
      const store = new MemoryStore();
      stores.set(cell.uuid, store);
      const r = await startCellRoles({
        cell: name,
        cellUuid: cell.uuid,
        bus,
        coordinator,
        store,
        clock,
        replicaId: `embedded-${name}`,
        shardCount,
        roles: { trees: true, shards: Array.from({ length: shardCount }, (_, s) => s), conductor: true },
        memberships: registry.memberships,
        ...(o.storeWatch
          ? {
              storeWatch: watchOf(name)!,
              onRoleEvent: (_what, e) => {
                if (e.type === 'store') notice(name, e);
              },
            }
          : {}),
        releaseQuota: (uuid) => quota.release(uuid),
        ...(o.onConductorEvent
          ? { onConductorEvent: (e: ConductorEvent) => o.onConductorEvent!(name, e) }
          : {}),
      });
      stops.push(() => r.stop());
      roles.set(name, r);
      const fleetBus = broker.connect();
      const fleet = await startFakeFleet({
        bus: fleetBus,
        clock,
        cell: name,
        seed: o.seed ?? 1,
        hosts: Array.from({ length: o.hostsPerCell }, (_, h) => ({
          ...(o.hostByCell?.[name] ?? o.host ?? DEFAULT_HOST),
          hostname: `${name}-cn${String(h + 1).padStart(4, '0')}`,
        })),
        ...(o.driver ? { driver: o.driver } : {}),
      });
      stops.push(async () => {
        await fleet.stop();
        await fleetBus.close();
      });
      fleets.set(name, fleet);
    }
    const directory = await CellDirectory.open(coordinator);
    stops.push(() => directory.close());
    const hosts = new CellsHostDirectory({
      coordinator,
      memberships: registry.memberships,
      cells: directory,
      portsOf: (cell) => ({ store: stores.get(cell.uuid)!, bus }),
      clock,
    });
    const aggregates = await startAggregateSync({
      coordinator,
      clock,
      apiStore,
      ...(o.compute?.defaultAvailabilityZone ? { defaultZone: o.compute.defaultAvailabilityZone } : {}),
    });
    stops.push(() => aggregates.stop());
    /** Set once the Placement view over the trees is up (the cell choice reads its traits). */
    let fleetView: FleetPlacement | undefined;
    const backend = new CellsServerBackend({
      directory,
      memberships: registry.memberships,
      portsOf: (cell) => ({ store: stores.get(cell.uuid)!, bus }),
      clock,
      liveness: o.liveness ?? hosts,
      aggregateCells: aggregates.aggregateCells,
      traitCells: { cellsWithTraits: (t) => fleetView?.cellsWithTraits(t) },
    });
    stops.push(() => backend.close());
    stops.push(() => hosts.close());
    await seedFlavors(new ComputeStore(apiStore));
    const reconciler = new QuotaReconciler({ ledger: quota, source: backend, clock });
    const recount = async () =>
      reportLine(await reconciler.pass()) ?? 'quota usage recounted: nothing to count';
    const apiWatch = watchOf('api');
    if (apiWatch) {
      const rebuildMappings = mappingRebuilder(backend, registry.memberships.instances);
      const w = await watchApiStore({ store: apiStore, clock, rebuildMappings, recount }, apiWatch, (n) =>
        notice('api', n),
      );
      stops.push(() => w.stop());
    }
    const app = await buildComputeApp(
      {
        store: apiStore,
        hosts,
        servers: backend,
        quota,
        aggregatesChanged: () => aggregates.publisher.sync(),
      },
      { auth: { mode: 'noauth' }, ...(o.compute ?? {}) },
    );
    stops.push(() => app.close());
    const fleet = await FleetPlacement.open({
      cells: directory,
      portsOf: (cell) => ({ store: stores.get(cell.uuid)!, bus }),
    });
    fleetView = fleet;
    stops.push(() => fleet.close());
    const placementApp = await buildPlacementApp({ service: fleet }, { auth: { mode: 'noauth' } });
    stops.push(() => placementApp.close());
    reconciler.start();
    stops.push(() => reconciler.stop());
    return {
      cells,
      roles,
      fleets,
      registry,
      backend,
      hosts,
      app,
      placementApp,
      stores,
      apiStore,
      quota,
      reconciler,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
