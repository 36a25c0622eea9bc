/**
 * The role processes on the real servers: connections to NATS, etcd and Redis from a
 * DeployConfig, per-cell ports (the cell's own Redis — and its own NATS when its transport is a
 * URL — from its record in etcd), and one starter per role, shared by the CLI (`cellplane api |
 * conductor | scheduler | agents`) and the end-to-end tests.
 *
 * Names on the servers: NATS subjects and streams under the bus prefix `<prefix>`; etcd keys
 * under `/<prefix>` (the cell CLI's default `--prefix /cellplane` matches the default prefix);
 * Redis keys of a cell under `<prefix>.<cell>`, of the API under `<prefix>.api`.
 */
import type { FastifyInstance } from 'fastify';
import { buildComputeApp } from '../api/compute/app.ts';
import { QuotaLedger } from '../api/compute/quota-ledger.ts';
import { QuotaReconciler, reportLine } from '../api/compute/quota-reconcile.ts';
import { ComputeStore } from '../api/compute/store/index.ts';
import { buildPlacementApp } from '../api/placement/app.ts';
import type { ConductorEvent } from '../cells/conductor/ports.ts';
import { CellDirectory } from '../cells/directory.ts';
import { moveLegacyInstanceMappings, moveReportLine } from '../cells/instance-mappings-move.ts';
import { CellRegistry } from '../cells/lifecycle.ts';
import type { CellRecord } from '../cells/mapping.ts';
import { EtcdCoordinator } from '../core/adapters/etcd/coordinator.ts';
import { NatsBus } from '../core/adapters/nats/bus.ts';
import { RedisStore } from '../core/adapters/redis/store.ts';
import { systemClock } from '../core/adapters/system/clock.ts';
import { toCellplaneError } from '../core/errors.ts';
import type { Bus } from '../core/ports/bus.ts';
import type { Store } from '../core/ports/store.ts';
import { lazyStore } from '../core/stores/lazy-store.ts';
import type { FakeHostSpec } from '../host-agent/drivers/fake-host.ts';
import { type FakeFleet, type FakeFleetOptions, startFakeFleet } from '../host-agent/fleet.ts';
import { startAggregateSync } from './aggregate-sync.ts';
import { type CellRoles, startCellRoles } from './cell-roles.ts';
import type { DeployConfig } from './config.ts';
import { seedFlavors } from './flavors.ts';
import { FleetPlacement } from './fleet-placement.ts';
import { CellsHostDirectory } from './host-directory.ts';
import { type CellPorts, CellsServerBackend } from './server-backend.ts';
import { mappingRebuilder, type StoreNotice, storeName, watchApiStore } from './store-recovery.ts';

export interface Cluster {
  readonly config: DeployConfig;
  readonly bus: NatsBus;
  readonly coordinator: EtcdCoordinator;
  readonly registry: CellRegistry;
  /**
   * The API layer's store (`config.redis`, keys under `<prefix>.api`), opened on first use. The
   * registry's instance mappings live there too.
   */
  apiStore(): Promise<Store>;
  /** The store and bus of a cell (opened on first use, kept until close). */
  portsOf(cell: CellRecord): Promise<CellPorts>;
  /** The cell named `name` (or with that uuid); a clear error when there is none. */
  cell(name: string): Promise<CellRecord>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /**
   * Where this process reaches a cell's Redis, when not at the address in the cell's record (the
   * address the API uses): e.g. a cell's own services through a local proxy or another network path.
   */
  readonly cellStoreUrl?: (cell: CellRecord) => string;
}

export async function connectCluster(
  config: DeployConfig,
  name: string,
  connectOpts: ConnectOptions = {},
): Promise<Cluster> {
  const streamReplicas = config.streamReplicas;
  const bus = await NatsBus.connect({ servers: config.nats, prefix: config.prefix, name, streamReplicas });
  const coordinator = new EtcdCoordinator({ hosts: config.etcd, prefix: `/${config.prefix}` });
  let api: Promise<RedisStore> | undefined;
  const apiStore = () => {
    if (!api) {
      const p = RedisStore.open({ url: config.redis, prefix: `${config.prefix}.api` });
      api = p;
      p.catch(() => {
        if (api === p) api = undefined; // tried again on the next use
      });
    }
    return api;
  };
  // Instance mappings live in the API's store: opened when a role first maps, unmaps or counts.
  const registry = new CellRegistry(coordinator, { clock: systemClock, mappingStore: lazyStore(apiStore) });
  const ports = new Map<string, Promise<CellPorts & { close(): Promise<void> }>>();
  const open = async (cell: CellRecord) => {
    const store = await RedisStore.open({
      url: connectOpts.cellStoreUrl?.(cell) ?? cell.store,
      prefix: `${config.prefix}.${cell.name}`,
    });
    let cellBus: Bus = bus;
    let closeBus = async () => {};
    if (/^(nats|tls|ws|wss):\/\//.test(cell.transport)) {
      const own = await NatsBus.connect({
        servers: cell.transport,
        prefix: config.prefix,
        name: `${name}-${cell.name}`,
        streamReplicas,
      });
      cellBus = own;
      closeBus = () => own.close();
    }
    return {
      store,
      bus: cellBus,
      close: async () => {
        await store.close();
        await closeBus();
      },
    };
  };
  return {
    config,
    bus,
    coordinator,
    registry,
    apiStore,
    portsOf(cell) {
      let p = ports.get(cell.uuid);
      if (!p) {
        p = open(cell);
        ports.set(cell.uuid, p);
        p.catch(() => ports.delete(cell.uuid));
      }
      return p;
    },
    async cell(ref) {
      let found: CellRecord | undefined;
      try {
        found = await registry.find(ref);
      } catch (err) {
        throw unreachable('etcd', config.etcd, err);
      }
      if (!found) {
        const names = (await registry.list()).map((c) => c.name).join(', ') || 'none yet';
        throw new Error(
          `no cell "${ref}" in etcd at ${config.etcd} (prefix /${config.prefix}); cells: ${names}. Create it with "cellplane cell create ${ref} --store redis://…"`,
        );
      }
      return found;
    },
    async close() {
      for (const p of ports.values()) await (await p.catch(() => undefined))?.close().catch(() => {});
      ports.clear();
      await (await api?.catch(() => undefined))?.close().catch(() => {});
      await coordinator.close().catch(() => {});
      await bus.close().catch(() => {});
    },
  };
}

function unreachable(what: string, url: string, err: unknown): Error {
  const e = toCellplaneError(err);
  return new Error(`cannot reach ${what} at ${url}: ${e.message}`);
}

export interface RoleHandle {
  stop(): Promise<void>;
}

/** A conductor replica of `cell`; it also hosts the cell's tree actors and registrar while leading. */
export async function startConductor(
  c: Cluster,
  cellName: string,
  opts: {
    replicaId: string;
    shardCount: number;
    onConductorEvent?: (e: ConductorEvent) => void;
    onRoleEvent?: (what: string, e: unknown) => void;
  },
): Promise<CellRoles> {
  const cell = await c.cell(cellName);
  const ports = await c.portsOf(cell);
  let quota: QuotaLedger | undefined;
  return startCellRoles({
    cell: cell.name,
    cellUuid: cell.uuid,
    bus: ports.bus,
    coordinator: c.coordinator,
    store: ports.store,
    clock: systemClock,
    replicaId: opts.replicaId,
    shardCount: opts.shardCount,
    roles: { trees: true, conductor: true },
    storeWatch: { name: storeName(cell.store, `${c.config.prefix}.${cell.name}`) },
    memberships: c.registry.memberships,
    // A finished delete gives its quota back in the API's ledger (the API store is opened on
    // the first delete; while it is down the delete job is retried).
    releaseQuota: async (uuid) => {
      quota ??= new QuotaLedger(await c.apiStore());
      return quota.release(uuid);
    },
    leaseTtlMs: c.config.leaseTtlMs,
    ackWaitMs: c.config.ackWaitMs,
    maxBuildAttempts: c.config.maxBuildAttempts,
    reconcile: { intervalMs: c.config.reconcileIntervalMs },
    buildStallMs: c.config.buildStallMs,
    buildTimeoutMs: c.config.buildTimeoutMs,
    ...(opts.onConductorEvent ? { onConductorEvent: opts.onConductorEvent } : {}),
    ...(opts.onRoleEvent ? { onRoleEvent: opts.onRoleEvent } : {}),
  });
}

/** Replicas of the given shards of `cell` (each a standby until elected). */
export async function startScheduler(
  c: Cluster,
  cellName: string,
  opts: {
    replicaId: string;
    shards: readonly number[];
    shardCount: number;
    onRoleEvent?: (what: string, e: unknown) => void;
  },
): Promise<CellRoles> {
  const cell = await c.cell(cellName);
  const ports = await c.portsOf(cell);
  for (const s of opts.shards)
    if (!Number.isInteger(s) || s < 0 || s >= opts.shardCount)
      throw new Error(`shard ${s} is outside 0..${opts.shardCount - 1} (--shards ${opts.shardCount})`);
  return startCellRoles({
    cell: cell.name,
    cellUuid: cell.uuid,
    bus: ports.bus,
    coordinator: c.coordinator,
    store: ports.store,
    clock: systemClock,
    replicaId: opts.replicaId,
    shardCount: opts.shardCount,
    roles: { shards: opts.shards },
    storeWatch: { name: storeName(cell.store, `${c.config.prefix}.${cell.name}`) },
    leaseTtlMs: c.config.leaseTtlMs,
    ...(opts.onRoleEvent ? { onRoleEvent: opts.onRoleEvent } : {}),
  });
}

/** Simulated hosts of `cell` (fake hypervisors behind real host agents). */
export async function startAgents(
  c: Cluster,
  cellName: string,
  opts: { hosts: readonly FakeHostSpec[]; seed: number; driver?: FakeFleetOptions['driver'] },
): Promise<FakeFleet> {
  const cell = await c.cell(cellName);
  const ports = await c.portsOf(cell);
  return startFakeFleet({
    bus: ports.bus,
    clock: systemClock,
    cell: cell.name,
    seed: opts.seed,
    hosts: opts.hosts,
    ...(opts.driver ? { driver: opts.driver } : {}),
  });
}

export interface ApiHandle {
  readonly app: FastifyInstance;
  /** The Placement API over every cell's live provider trees (not listening yet). */
  readonly placementApp: FastifyInstance;
  readonly backend: CellsServerBackend;
  readonly reconciler: QuotaReconciler;
  stop(): Promise<void>;
}

/**
 * The compute API over every cell in etcd (not listening yet: the caller calls `app.listen`).
 * At start it moves the instance mappings an earlier version kept in etcd into its store
 * (cells/instance-mappings-move.ts). It watches its store and, after a loss, seeds the stock
 * flavors again, rebuilds the instance mappings and recounts the quota usage from the cells
 * (deploy/store-recovery.ts); `onStoreNotice` gets those lines (default:
 * stderr). Its quota reconcile pass runs at once and then every `config.quotaReconcileMs`; `onLog`
 * gets a line when a cell stops or starts answering and after a pass that skipped a cell, changed
 * anything or failed.
 */
export async function startApi(
  c: Cluster,
  opts: { onStoreNotice?: (n: StoreNotice) => void; onLog?: (line: string) => void } = {},
): Promise<ApiHandle> {
  const log = opts.onLog ?? (() => {});
  const directory = await CellDirectory.open(c.coordinator);
  const hosts = new CellsHostDirectory({
    coordinator: c.coordinator,
    memberships: c.registry.memberships,
    cells: directory,
    portsOf: (cell) => c.portsOf(cell),
    clock: systemClock,
  });
  const apiPrefix = `${c.config.prefix}.api`;
  const apiStore = await RedisStore.open({ url: c.config.redis, prefix: apiPrefix });
  const aggregates = await startAggregateSync({
    coordinator: c.coordinator,
    clock: systemClock,
    apiStore,
    onLog: log,
  });
  /** Set once the Placement view over the trees is up (the cell choice reads its traits). */
  let fleetView: FleetPlacement | undefined;
  const backend = new CellsServerBackend({
    directory,
    memberships: c.registry.memberships,
    portsOf: (cell) => c.portsOf(cell),
    clock: systemClock,
    aggregateCells: aggregates.aggregateCells,
    traitCells: { cellsWithTraits: (t) => fleetView?.cellsWithTraits(t) },
    ackWaitMs: c.config.ackWaitMs,
    cellTimeoutMs: c.config.cellTimeoutMs,
    liveness: hosts,
    onCellHealth: (cell, up, error) =>
      log(
        up
          ? `cell ${cell.name} answers again: new instances may go there`
          : `cell ${cell.name} does not answer (${error?.message ?? 'no reason given'}): no new instances go there, its servers list as UNKNOWN`,
      ),
  });
  await seedFlavors(new ComputeStore(apiStore));
  const quota = new QuotaLedger(apiStore);
  const app = await buildComputeApp(
    {
      store: apiStore,
      hosts,
      servers: backend,
      quota,
      aggregatesChanged: () => aggregates.publisher.sync(),
    },
    { auth: { mode: 'noauth' }, extraSpecValidation: c.config.extraSpecValidation },
  );
  const reconciler = new QuotaReconciler({
    ledger: quota,
    source: backend,
    clock: systemClock,
    intervalMs: c.config.quotaReconcileMs,
    cellTimeoutMs: c.config.cellTimeoutMs,
    onPass: (r) => {
      const line = reportLine(r);
      if (line) log(line);
    },
  });
  // Mappings an earlier version kept in etcd move into the store (read from etcd until they have).
  await moveLegacyInstanceMappings(c.coordinator, c.registry.memberships.instances).then(
    (r) => {
      const line = moveReportLine(r);
      if (line) log(line);
    },
    (err) =>
      log(
        `instance mappings not moved from etcd yet (${toCellplaneError(err).message}): they are read there meanwhile; "cellplane cell repair" moves them`,
      ),
  );
  const watch = await watchApiStore(
    {
      store: apiStore,
      clock: systemClock,
      rebuildMappings: mappingRebuilder(backend, c.registry.memberships.instances),
      recount: async () => {
        const r = await reconciler.pass();
        return reportLine(r) ?? 'quota usage recounted: nothing to count';
      },
    },
    { name: storeName(c.config.redis, apiPrefix) },
    opts.onStoreNotice ?? ((n) => console.error(`cellplane api: ${n.message}`)),
  );
  const fleet = await FleetPlacement.open({
    cells: directory,
    portsOf: (cell) => c.portsOf(cell),
    onProblem: log,
  });
  fleetView = fleet;
  const placementApp = await buildPlacementApp({ service: fleet }, { auth: { mode: 'noauth' } });
  reconciler.start();
  return {
    app,
    placementApp,
    backend,
    reconciler,
    async stop() {
      await placementApp.close().catch(() => {});
      await fleet.close();
      await reconciler.stop();
      await watch.stop();
      await app.close().catch(() => {});
      await backend.close();
      await aggregates.stop();
      await hosts.close();
      await directory.close();
      await apiStore.close();
    },
  };
}
