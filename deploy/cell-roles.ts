/**
 * Wiring one cell's roles onto ports: the provider-tree actors, the host registrar, scheduler
 * shard replicas and a conductor replica — any subset, so `cellplane up` runs them all in one
 * process on the memory adapters and `cellplane conductor|scheduler` run one role per process on
 * NATS, etcd and Redis. The roles know nothing of each other: they meet on the bus (actor
 * subjects in the cell's scope), in the coordinator (elections) and in the cell's store.
 *
 * deploy/ is the composition root: it may import every layer (like cli/ and sim/).
 */

import { HostRegistrar, type RegistrarEvent } from '../actors/host-registrar.ts';
import { providerTreeActor } from '../actors/provider-tree.ts';
import { ProviderTreeClient } from '../actors/provider-tree-client.ts';
import { ActorClient, DEFAULT_ASK_TIMEOUT_MS } from '../actors/runtime/client.ts';
import { ActorHost } from '../actors/runtime/host.ts';
import { SchedulerShard, type ShardEvent, shardAddress } from '../actors/scheduler-shard.ts';
import { selectHosts } from '../actors/scheduler-shard-messages.ts';
import type { AggregateSource } from '../actors/scheduler-shard-view.ts';
import { AggregateCatalogueView } from '../cells/aggregate-catalogue.ts';
import { ConductorFence } from '../cells/conductor/fence.ts';
import type { ConductorEvent } from '../cells/conductor/ports.ts';
import { CellConductor, type ConductorRoleEvent } from '../cells/conductor/runner.ts';
import { InstanceStore } from '../cells/instances.ts';
import { type ReconcileEvent, Reconciler } from '../cells/reconcile.ts';
import { decode, encode } from '../core/codec/envelope.ts';
import type { Bus } from '../core/ports/bus.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Coordinator } from '../core/ports/coordinator.ts';
import type { Store } from '../core/ports/store.ts';
import type { ProfileSpec } from '../core/scheduler/profile.ts';
import { agentSubjects } from '../host-agent/agent.ts';
import { defaultAgentScope, HOST_KIND, INSTANCE_KIND } from '../host-agent/agents.ts';
import { type AgentTarget, DEFAULT_OPERATION_TIMEOUT_MS, HostAgentClient } from '../host-agent/client.ts';
import { registerHost, resync, serviceReplay, serviceTransition } from '../host-agent/messages.ts';
import { type ServiceMonitorHandle, startServiceMonitor } from '../host-agent/service-monitor.ts';
import { hostAgentInstances, reconcileHosts } from './agent-ports.ts';
import { type StoreNotice, type StoreWatchConfig, watchCellStore } from './store-recovery.ts';

export interface CellRolesOptions {
  /** Cell name: the actors' scope and the prefix of its subjects and elections. */
  readonly cell: string;
  readonly cellUuid?: string;
  readonly bus: Bus;
  readonly coordinator: Coordinator;
  /** The cell's store (trees, instances). */
  readonly store: Store;
  readonly clock: Clock;
  /** Unique per process: names its candidacies. */
  readonly replicaId: string;
  readonly shardCount: number;
  readonly roles: {
    /** Host the provider-tree actors (while leading, if `conductor` too) and the registrar. */
    readonly trees?: boolean;
    /** Shard numbers this process runs a replica of. */
    readonly shards?: readonly number[];
    /** Run a conductor replica. */
    readonly conductor?: boolean;
    /**
     * Run a host registrar (default: with trees or conductor). Off for a replica whose peer in
     * the same process space already registers every host (the simulator's standbys): the
     * conductor then reaches hosts by their default route.
     */
    readonly registrar?: boolean;
  };
  readonly leaseTtlMs?: number;
  readonly ackWaitMs?: number;
  readonly maxBuildAttempts?: number;
  /** The conductor's build watch (cells/conductor/build-watch.ts); defaults in cells/conductor/limits.ts. */
  readonly buildStallMs?: number;
  readonly buildTimeoutMs?: number;
  /** Jobs the conductor leader works on at once (default DEFAULT_CONDUCTOR_IN_FLIGHT). */
  readonly conductorInFlight?: number;
  readonly profile?: ProfileSpec;
  /**
   * The region's host aggregates for the shards (zones, aggregate metadata); default: a view of
   * the catalogue the compute API publishes in the coordinator (cells/aggregate-catalogue.ts).
   */
  readonly aggregates?: AggregateSource;
  /** Waits of asks to tree actors and shards (default DEFAULT_ASK_TIMEOUT_MS, actors/runtime/client.ts). */
  readonly askTimeoutMs?: number;
  /** Waits of instance operations on host agents (default DEFAULT_OPERATION_TIMEOUT_MS, host-agent/client.ts). */
  readonly operationTimeoutMs?: number;
  /** Host → cell mappings (cells/memberships.ts), when the cell is registered in a CellRegistry. */
  readonly memberships?: {
    mapHost(host: string, cellUuid: string): Promise<unknown>;
    unmapInstance(uuid: string, cellUuid?: string): Promise<boolean>;
    hostMappings(cellUuid: string): Promise<readonly { readonly host: string }[]>;
    instanceMapping(uuid: string): Promise<unknown>;
  };
  /**
   * Gives back the quota an instance held, once its delete has purged the record (the API's
   * ledger: QuotaLedger.release). Idempotent; when it throws the delete job runs again, finds the
   * record gone and calls it again — so every completed delete releases once, whatever crashes.
   */
  readonly releaseQuota?: (uuid: string) => Promise<unknown>;
  /**
   * Heartbeat age after which the conductor leader's service monitor tells the shards a host is
   * down (Nova's service_down_time); default 60 s. Keep it several heartbeat intervals long.
   */
  readonly serviceDownMs?: number;
  /** The conductor leader's reconcile pass (cells/reconcile.ts): period and hosts asked at once. */
  readonly reconcile?: { readonly intervalMs?: number; readonly hostsInFlight?: number };
  /**
   * Watch the cell's store for a loss of its data (deploy/store-recovery.ts) and repair: restart
   * the tree actors hosted here, re-read the snapshots of the shards led here, ask every agent
   * of the cell to register again. Off when absent (a memory store cannot be lost under a role).
   */
  readonly storeWatch?: StoreWatchConfig;
  readonly onConductorEvent?: (e: ConductorEvent) => void;
  /** Role events; `what` is `reconcile` for the reconciler's corrections and passes. */
  readonly onRoleEvent?: (what: string, e: CellRoleEvent) => void;
}

export type CellRoleEvent = ShardEvent | ConductorRoleEvent | RegistrarEvent | StoreNotice | ReconcileEvent;

export interface CellRoles {
  readonly cell: string;
  readonly instances: InstanceStore;
  readonly trees: ProviderTreeClient;
  readonly registrar: HostRegistrar | undefined;
  readonly shards: readonly SchedulerShard[];
  readonly conductor: CellConductor | undefined;
  /** Asks every agent of the cell to register again (after a registrar start). */
  resyncHosts(): void;
  stop(): Promise<void>;
}

export async function startCellRoles(o: CellRolesOptions): Promise<CellRoles> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => {});
  };
  try {
    const actors = new ActorClient(o.bus, {
      scope: o.cell,
      askTimeoutMs: o.askTimeoutMs ?? DEFAULT_ASK_TIMEOUT_MS,
    });
    let registrar: HostRegistrar | undefined;
    /** The conductor leader's service monitor (while this process leads the cell's conductor). */
    let monitor: ServiceMonitorHandle | undefined;
    // A claim that finds its tree unregistered (the store lost it): that host registers again.
    const trees = new ProviderTreeClient(
      actors,
      {},
      { onUnregistered: (root) => registrar?.reregister(root) },
    );
    const subjects = agentSubjects(o.cell);
    const askAgain = (hosts?: readonly string[]) =>
      o.bus.publish(subjects.resync, encode(resync, hosts ? { hosts: [...hosts] } : {}));
    const resyncHosts = () => askAgain();
    const report = (what: string) => (e: CellRoleEvent) => o.onRoleEvent?.(what, e);

    // The tree actors: one process at a time may host them. With a conductor in the same
    // process they follow its leadership; alone, they are hosted for the process's life.
    // Hosting changes run one at a time (leadership and a store repair may both ask).
    const treesFollowConductor = o.roles.trees === true && o.roles.conductor === true;
    let treeHost: ActorHost | undefined;
    let treesWanted = o.roles.trees === true && !treesFollowConductor;
    let treeChanges: Promise<void> = Promise.resolve();
    const serially = (f: () => Promise<void>) => {
      treeChanges = treeChanges.then(f, f);
      return treeChanges;
    };
    const hostTrees = () =>
      serially(async () => {
        if (treeHost || !treesWanted) return;
        const h = new ActorHost({ bus: o.bus, clock: o.clock, scope: o.cell });
        await h.register(providerTreeActor({ store: o.store, bus: o.bus }));
        treeHost = h;
      });
    const unhostTrees = () =>
      serially(async () => {
        const h = treeHost;
        treeHost = undefined;
        await h?.shutdown().catch(() => {});
      });
    if (treesWanted) await hostTrees();
    stops.push(async () => {
      treesWanted = false;
      await unhostTrees();
    });
    if ((o.roles.trees || o.roles.conductor) && o.roles.registrar !== false) {
      // Every conductor replica keeps the routes of the hosts (they are re-sent on resync).
      registrar = new HostRegistrar({
        bus: o.bus,
        cell: o.cell,
        trees,
        registrations: { subject: subjects.register, parse: (d) => decode(registerHost, d) },
        ...(o.memberships && o.cellUuid && o.roles.trees
          ? { memberships: o.memberships, cellUuid: o.cellUuid }
          : {}),
        askAgain,
        now: () => o.clock.now(),
        onEvent: (e) => {
          // A host that registers and dies before its next beat must still be declared down.
          if (e.type === 'registered') monitor?.expect(e.host.host);
          report('registrar')(e);
        },
      });
      await registrar.start();
      const r = registrar;
      stops.push(() => r.stop());
    }

    const shards: SchedulerShard[] = [];
    let aggregates = o.aggregates;
    if (!aggregates && (o.roles.shards ?? []).length > 0) {
      const view = await AggregateCatalogueView.open(o.coordinator);
      stops.push(() => view.close());
      aggregates = view;
    }
    for (const shard of o.roles.shards ?? []) {
      const s = new SchedulerShard({
        bus: o.bus,
        coordinator: o.coordinator,
        store: o.store,
        cell: o.cell,
        shard,
        shardCount: o.shardCount,
        candidateId: `${o.replicaId}/sched-${shard}`,
        ...(o.leaseTtlMs ? { leaseTtlMs: o.leaseTtlMs } : {}),
        ...(o.profile ? { profile: o.profile } : {}),
        ...(aggregates ? { aggregates } : {}),
        serviceEvents: {
          subject: subjects.service,
          parse: (d) => {
            try {
              const t = decode(serviceTransition, d);
              return { host: t.host, up: t.up };
            } catch {
              return undefined;
            }
          },
          askReplay: () => {
            try {
              o.bus.publish(
                subjects.serviceReplay,
                encode(serviceReplay, { requester: `${o.replicaId}/sched-${shard}` }),
              );
            } catch {
              // The bus is closing; the monitor's periodic re-announcement covers it.
            }
          },
        },
        onEvent: report(`sched-${shard}`),
        sleep: (ms) => o.clock.sleep(ms),
        now: () => o.clock.now(),
      });
      s.start();
      stops.push(() => s.stop());
      shards.push(s);
    }

    // The conductor's writes are fenced by its leadership (cells/conductor/fence.ts).
    const fence = o.roles.conductor
      ? new ConductorFence(o.store, `${o.replicaId}/conductor`, () => o.clock.now())
      : undefined;
    const instances = new InstanceStore(o.store, fence);
    let conductor: CellConductor | undefined;
    if (o.roles.conductor) {
      const agents = new HostAgentClient(o.bus, {
        scope: o.cell,
        operationTimeoutMs: o.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
      });
      const lookup = registrar;
      // A host this process has not seen register: the route host agents use by default.
      const target = (host: string): AgentTarget => ({
        host,
        route: lookup?.host(host)?.route ?? {
          scope: defaultAgentScope(o.cell),
          hostKind: HOST_KIND,
          instanceKind: INSTANCE_KIND,
        },
      });
      const askMs = o.askTimeoutMs ?? DEFAULT_ASK_TIMEOUT_MS;
      const stopMonitor = async () => {
        const m = monitor;
        monitor = undefined;
        await m?.stop();
      };
      // Runs with the leadership, beside the service monitor (built here: bad options fail now).
      const reconciler = new Reconciler({
        cell: o.cell,
        instances,
        trees,
        clock: o.clock,
        hosts: reconcileHosts(agents, target),
        knownHosts: () => lookup?.hosts().map((h) => h.host) ?? [],
        busy: (uuid) => c.holds(uuid),
        ...(o.memberships
          ? { isMapped: async (uuid) => (await o.memberships!.instanceMapping(uuid)) !== undefined }
          : {}),
        ...o.reconcile,
        onEvent: report('reconcile'),
      });
      const c = new CellConductor({
        cell: o.cell,
        bus: o.bus,
        coordinator: o.coordinator,
        clock: o.clock,
        candidateId: `${o.replicaId}/conductor`,
        instances,
        ...(fence ? { fence } : {}),
        shardCount: o.shardCount,
        select: (req, shard) => actors.ask(shardAddress(shard), selectHosts, req, { timeoutMs: askMs }),
        trees,
        hosts: hostAgentInstances(agents, target),
        ...(o.leaseTtlMs ? { leaseTtlMs: o.leaseTtlMs } : {}),
        ...(o.ackWaitMs ? { ackWaitMs: o.ackWaitMs } : {}),
        ...(o.maxBuildAttempts ? { maxBuildAttempts: o.maxBuildAttempts } : {}),
        ...(o.buildStallMs ? { buildStallMs: o.buildStallMs } : {}),
        ...(o.buildTimeoutMs ? { buildTimeoutMs: o.buildTimeoutMs } : {}),
        ...(o.conductorInFlight ? { maxInFlight: o.conductorInFlight } : {}),
        ...(o.memberships || o.releaseQuota
          ? {
              onDeleted: async (uuid: string) => {
                await o.memberships?.unmapInstance(uuid, o.cellUuid);
                await o.releaseQuota?.(uuid);
              },
            }
          : {}),
        onEvent: (e) => {
          // A power action's correction is logged like the reconciler's.
          if (e.type === 'corrected') report('reconcile')({ type: 'corrected', correction: e.correction });
          o.onConductorEvent?.(e);
        },
        onRoleEvent: report('conductor'),
        // The leader also runs the cell's service monitor (heartbeats + disabled services → the
        // shards' up/down) and, with `trees`, hosts the tree actors.
        onLead: async () => {
          monitor ??= await startServiceMonitor({
            bus: o.bus,
            coordinator: o.coordinator,
            clock: o.clock,
            cell: o.cell,
            // The registered hosts and every host mapped to the cell: one that died while no
            // monitor ran (a conductor failover) never beats or registers again.
            expected: async () => {
              const mapped = o.memberships && o.cellUuid ? await o.memberships.hostMappings(o.cellUuid) : [];
              return [
                ...new Set([...(lookup?.hosts().map((h) => h.host) ?? []), ...mapped.map((m) => m.host)]),
              ];
            },
            owns: (host) => lookup?.host(host) !== undefined,
            ...(o.serviceDownMs ? { graceMs: o.serviceDownMs } : {}),
          });
          reconciler.start();
          if (!treesFollowConductor) return;
          treesWanted = true;
          await hostTrees();
          resyncHosts(); // registrations that found no tree host meanwhile come again
        },
        onStepDown: async () => {
          await reconciler.stop();
          await stopMonitor();
          if (!treesFollowConductor) return;
          treesWanted = false;
          await unhostTrees();
        },
      });
      c.start();
      stops.push(stopMonitor);
      stops.push(() => reconciler.stop());
      stops.push(() => c.stop());
      conductor = c;
    }
    if (o.storeWatch) {
      const watch = await watchCellStore(o, o.storeWatch, report('store'), {
        hostsTrees: () => treeHost !== undefined,
        restartTrees: async () => {
          if (!treeHost) return false;
          await unhostTrees(); // its actors' memory no longer matches the store
          await hostTrees();
          return true;
        },
        shards: shards.map((s, i) => ({ number: o.roles.shards![i]!, resync: () => s.resync() })),
        ...(registrar ? { resyncHosts } : {}),
      });
      stops.push(() => watch.stop());
    }
    if (registrar) resyncHosts();
    return { cell: o.cell, instances, trees, registrar, shards, conductor, resyncHosts, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
