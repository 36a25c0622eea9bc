/**
 * The compute API's HostDirectory over the cells, and the per-cell service monitor that tells
 * the scheduler shards which hosts may take new instances. (Two pieces in one file because they
 * share the service records; ~450 lines.)
 *
 * `CellsHostDirectory` knows
 * - the hosts from the host→cell mappings in the coordinator (one per host, written by the
 *   registrars); a host's integer id (Nova's before 2.53) is its mapping key's create revision —
 *   unique and stable while the host stays mapped — and its service uuid derives from it;
 * - its compute node from the cell's provider-tree records (`rp.trees` index, `rp/<root>`, the
 *   same records `loadTree` reads, in batches): totals and allocations of VCPU, MEMORY_MB and
 *   DISK_GB over the tree, the consumers as instances, the root provider's uuid as the node uuid;
 * - up/down from the heartbeats of each cell's agents (`agentSubjects(cell).heartbeat`), judged
 *   with the monitor's rule (up while the last beat is at most `graceMs` old; a host not heard
 *   since this directory started gets the benefit of the doubt for one grace period). Heartbeats
 *   rather than the `service` transitions: transitions are edges, an API process started after
 *   them would never learn the current state; and the transitions carry what the *scheduler*
 *   should see (below), which is not Nova's `state`;
 * - the operator's disable/forced-down from the service records `services/<host>` in the
 *   coordinator (durable, CAS-updated).
 *
 * `startServiceMonitor` runs in the conductor's leadership of each cell (deploy/cell-roles.ts):
 * a HeartbeatMonitor over the cell's heartbeats combined with the service records (watched),
 * publishing on `agentSubjects(cell).service` whether each host may be scheduled — Nova's
 * ComputeFilter: up, enabled and not forced down. The shards read `{host, up}` from that
 * subject (actors/scheduler-shard-feed.ts). A shard leader that took over (its view starts with
 * every host up) asks on `serviceReplay` once it has loaded its trees, and the monitor tells it
 * the unschedulable hosts at once; besides, they are re-announced every `refreshMs`, so a lost
 * message (core NATS is at-most-once) or a replay asked before any monitor ran converges within
 * one period.
 */
import { TREE_INDEX, type TreeRecord, treeRecords } from '../actors/provider-tree-store.ts';
import {
  COMPUTE_BINARY,
  type ComputeNode,
  type HostDirectory,
  type HostEntry,
  nameUuid,
  type ServiceChange,
} from '../api/compute/hosts.ts';
import type { CellDirectory } from '../cells/directory.ts';
import {
  type CellRecord,
  HOST_MAPPINGS_PREFIX,
  HostMappingMessage,
  hostMappingKey,
} from '../cells/mapping.ts';
import type { CellMemberships } from '../cells/memberships.ts';
import { decode, defineMessage, encode } from '../core/codec/envelope.ts';
import { asObject, boolean, int, optString, string } from '../core/codec/fields.ts';
import { CellplaneError } from '../core/errors.ts';
import type { Bus, Subscription } from '../core/ports/bus.ts';
import type { Clock, TimerHandle } from '../core/ports/clock.ts';
import type { Coordinator, KvEntry, Watch } from '../core/ports/coordinator.ts';
import { agentSubjects } from '../host-agent/agent.ts';
import { heartbeat, serviceReplay, serviceTransition } from '../host-agent/messages.ts';
import { DEFAULT_GRACE_MS, HeartbeatMonitor, MAX_MONITORED_HOSTS } from '../host-agent/monitor.ts';
import type { CellPorts } from './server-backend.ts';

/** Key space of the service records in the coordinator: `services/<host>`. */
export const SERVICES_PREFIX = 'services/';
export const serviceKey = (host: string) => SERVICES_PREFIX + host;
/** CAS attempts of one service update against concurrent writers. */
export const SERVICE_CAS_ATTEMPTS = 5;
/** Provider-tree records read per Store page when a cell's trees are scanned. */
export const TREE_PAGE_SIZE = 500;
/** Hosts re-announced as unschedulable per refresh, at most. */
export const MAX_REFRESH_PER_TICK = 10_000;

export interface ServiceRecord {
  readonly host: string;
  readonly disabled: boolean;
  readonly disabledReason?: string;
  readonly forcedDown: boolean;
  readonly updatedAtMs: number;
}

export const serviceRecordMessage = defineMessage<ServiceRecord>({
  type: 'cp.deploy.service',
  major: 1,
  minor: 0,
  parse(body) {
    const p = 'cp.deploy.service';
    const o = asObject(body, p);
    const reason = optString(o, 'disabledReason', p);
    return {
      host: string(o, 'host', p),
      disabled: boolean(o, 'disabled', p),
      ...(reason === undefined ? {} : { disabledReason: reason }),
      forcedDown: boolean(o, 'forcedDown', p),
      updatedAtMs: int(o, 'updatedAtMs', p),
    };
  },
});

/** True when the record keeps its host from new instances. */
const blocks = (r: ServiceRecord | undefined) => r !== undefined && (r.disabled || r.forcedDown);

export interface CellsHostDirectoryOptions {
  readonly coordinator: Coordinator;
  readonly memberships: CellMemberships;
  readonly cells: CellDirectory;
  /** The store and bus of a cell (as for the ServerBackend). */
  portsOf(cell: CellRecord): CellPorts | Promise<CellPorts>;
  readonly clock: Clock;
  /** Heartbeat age after which a host is down; default Nova's service_down_time (60 s). */
  readonly graceMs?: number;
}

interface Mapped {
  readonly host: string;
  readonly cellUuid: string;
  readonly id: number;
}

export class CellsHostDirectory implements HostDirectory {
  private readonly graceMs: number;
  private readonly startedAt: number;
  /** Host → when its last heartbeat arrived (this directory's clock). */
  private readonly beats = new Map<string, number>();
  private readonly subs = new Map<string, Promise<Subscription>>();
  /** Cell uuid → host → root provider uuid, learnt from tree records. */
  private readonly roots = new Map<string, Map<string, string>>();
  private readonly stopWatching: () => void;

  constructor(private readonly o: CellsHostDirectoryOptions) {
    this.graceMs = o.graceMs ?? DEFAULT_GRACE_MS;
    this.startedAt = o.clock.now();
    for (const c of o.cells.list()) this.follow(c);
    this.stopWatching = o.cells.onChange(() => {
      for (const c of o.cells.list()) this.follow(c);
    });
  }

  /** Follows a cell's heartbeats (once per cell; retried on the next directory change if it failed). */
  private follow(cell: CellRecord): void {
    if (this.subs.has(cell.uuid)) return;
    const sub = (async () => {
      const { bus } = await this.o.portsOf(cell);
      return bus.subscribe(agentSubjects(cell.name).heartbeat, (m) => {
        let beats: readonly { host: string }[];
        try {
          beats = decode(heartbeat, m.data).beats;
        } catch {
          return; // a peer speaking another major
        }
        const now = this.o.clock.now();
        for (const b of beats)
          if (this.beats.has(b.host) || this.beats.size < MAX_MONITORED_HOSTS) this.beats.set(b.host, now);
      });
    })();
    this.subs.set(cell.uuid, sub);
    sub.catch(() => this.subs.delete(cell.uuid));
  }

  async hosts(): Promise<readonly HostEntry[]> {
    const [mappings, records] = await Promise.all([
      this.o.coordinator.list(HOST_MAPPINGS_PREFIX),
      this.o.coordinator.list(SERVICES_PREFIX),
    ]);
    const services = new Map(records.map((e) => [e.key.slice(SERVICES_PREFIX.length), e] as const));
    return mappings.map((e) => {
      const m = mappedOf(e);
      return this.entry(m, services.get(m.host));
    });
  }

  async computeHost(name: string): Promise<HostEntry | undefined> {
    const [mapping, record] = await Promise.all([
      this.o.coordinator.get(hostMappingKey(name)),
      this.o.coordinator.get(serviceKey(name)),
    ]);
    return mapping ? this.entry(mappedOf(mapping), record) : undefined;
  }

  async nodes(names?: readonly string[]): Promise<ReadonlyMap<string, ComputeNode>> {
    const mappings = (await this.o.coordinator.list(HOST_MAPPINGS_PREFIX)).map(mappedOf);
    const wanted = names ? new Set(names) : undefined;
    const byCell = new Map<string, Set<string>>();
    for (const m of mappings) {
      if (wanted && !wanted.has(m.host)) continue;
      byCell.set(m.cellUuid, (byCell.get(m.cellUuid) ?? new Set()).add(m.host));
    }
    const out = new Map<string, ComputeNode>();
    for (const [cellUuid, hosts] of byCell) {
      const cell = this.o.cells.get(cellUuid);
      if (!cell) continue; // a cell being created or deleted: its hosts have no readable node
      for (const [host, node] of await this.cellNodes(cell, hosts)) out.set(host, node);
    }
    return out;
  }

  /**
   * The nodes of `hosts` in one cell: the records of the cached roots when they all still name
   * their host, else a scan of the cell's tree index (which refreshes the cache). Records are read
   * TREE_PAGE_SIZE at a time.
   */
  private async cellNodes(cell: CellRecord, hosts: ReadonlySet<string>): Promise<Map<string, ComputeNode>> {
    const { store } = await this.o.portsOf(cell);
    const records = treeRecords(store);
    const cache = this.roots.get(cell.uuid) ?? new Map<string, string>();
    this.roots.set(cell.uuid, cache);
    const out = new Map<string, ComputeNode>();
    const read = async (roots: readonly string[]) => {
      for (let i = 0; i < roots.length; i += TREE_PAGE_SIZE)
        for (const r of await records.getMany(roots.slice(i, i + TREE_PAGE_SIZE))) {
          const name = r ? rootName(r.value) : undefined;
          if (!r || name === undefined) continue;
          cache.set(name, r.id);
          if (hosts.has(name)) out.set(name, nodeOf(r.value));
        }
    };
    const known = [...hosts].flatMap((h) => cache.get(h) ?? []);
    if (known.length === hosts.size) {
      await read(known);
      if (out.size === hosts.size) return out;
      out.clear();
    }
    let after: string | undefined;
    do {
      const page = await store.list(TREE_INDEX, { limit: TREE_PAGE_SIZE, ...(after ? { after } : {}) });
      await read(page.members);
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  /** Whether `host`'s compute service is up (a HostLiveness for evacuate); unknown hosts are not. */
  async isUp(host: string): Promise<boolean> {
    return (await this.computeHost(host))?.services[0]?.up ?? false;
  }

  async setService(host: string, change: ServiceChange): Promise<void> {
    if (!(await this.o.coordinator.get(hostMappingKey(host))))
      throw new CellplaneError('notFound', `host ${host} is not mapped to any cell`);
    const key = serviceKey(host);
    for (let attempt = 1; attempt <= SERVICE_CAS_ATTEMPTS; attempt++) {
      const cur = await this.o.coordinator.get(key);
      const old = cur ? decode(serviceRecordMessage, cur.value) : undefined;
      const disabled = change.disabled ?? old?.disabled ?? false;
      const reason = !disabled
        ? undefined
        : change.reason !== undefined
          ? change.reason
          : old?.disabledReason;
      const next: ServiceRecord = {
        host,
        disabled,
        ...(reason == null ? {} : { disabledReason: reason }),
        forcedDown: change.forcedDown ?? old?.forcedDown ?? false,
        updatedAtMs: this.o.clock.now(),
      };
      const r = await this.o.coordinator.cas(key, encode(serviceRecordMessage, next), cur?.modRevision ?? 0);
      if (r.ok) return;
    }
    throw new CellplaneError(
      'conflict',
      `the service of host ${host} kept changing under ${SERVICE_CAS_ATTEMPTS} updates; try again`,
      { retryable: true },
    );
  }

  async deleteService(host: string, binary: string): Promise<void> {
    const mapping = await this.o.coordinator.get(hostMappingKey(host));
    if (binary !== COMPUTE_BINARY || !mapping)
      throw new CellplaneError('notFound', `no ${binary} service on host ${host}`);
    await this.o.coordinator.delete(serviceKey(host));
    await this.o.memberships.unmapHost(host);
    this.beats.delete(host);
    this.roots.get(mappedOf(mapping).cellUuid)?.delete(host);
  }

  async close(): Promise<void> {
    this.stopWatching();
    for (const s of this.subs.values()) await (await s.catch(() => undefined))?.unsubscribe();
    this.subs.clear();
  }

  private entry(m: Mapped, record: KvEntry | undefined): HostEntry {
    const r = record ? decode(serviceRecordMessage, record.value) : undefined;
    const now = this.o.clock.now();
    const beat = this.beats.get(m.host);
    const alive = beat === undefined ? now - this.startedAt <= this.graceMs : now - beat <= this.graceMs;
    return {
      name: m.host,
      id: m.id,
      hostIp: null,
      services: [
        {
          binary: COMPUTE_BINARY,
          id: m.id,
          uuid: nameUuid('service', `${m.host}/${m.id}`),
          enabled: !r?.disabled,
          up: alive && !r?.forcedDown,
          updatedAt: beat === undefined ? null : new Date(beat).toISOString(),
          disabledReason: r?.disabledReason ?? null,
          forcedDown: r?.forcedDown ?? false,
        },
      ],
    };
  }
}

function mappedOf(e: KvEntry): Mapped {
  const m = decode(HostMappingMessage, e.value);
  return { host: m.host, cellUuid: m.cellUuid, id: e.createRevision };
}

const NODE_CLASSES = { VCPU: 'vcpus', MEMORY_MB: 'memoryMb', DISK_GB: 'diskGb' } as const;

const rootName = (r: TreeRecord) => r.providers.find((p) => p.uuid === r.root)?.name;

/**
 * Totals and allocations of the node classes over the whole tree. A record holds the allocations
 * of its own providers only, so its consumers are the host's instances.
 */
function nodeOf(r: TreeRecord): ComputeNode {
  const total = { vcpus: 0, memoryMb: 0, diskGb: 0 };
  const used = { vcpus: 0, memoryMb: 0, diskGb: 0 };
  const field = (rc: string) => NODE_CLASSES[rc as keyof typeof NODE_CLASSES];
  for (const p of r.providers)
    for (const [rc, inv] of Object.entries(p.inventories)) if (field(rc)) total[field(rc)] += inv.total;
  for (const c of r.consumers)
    for (const byClass of Object.values(c.allocations))
      for (const [rc, amount] of Object.entries(byClass)) if (field(rc)) used[field(rc)] += amount;
  return {
    uuid: r.root,
    hypervisorType: 'fake',
    vcpus: total.vcpus,
    vcpusUsed: used.vcpus,
    memoryMb: total.memoryMb,
    memoryMbUsed: used.memoryMb,
    diskGb: total.diskGb,
    diskGbUsed: used.diskGb,
    instances: r.consumers.map((c) => c.uuid).sort(),
  };
}

export interface ServiceMonitorOptions {
  readonly bus: Bus;
  readonly coordinator: Coordinator;
  readonly clock: Clock;
  /** Cell name (the agents' subjects). */
  readonly cell: string;
  /**
   * Hosts expected to beat, read once at the start: down if silent for a grace period from then.
   * Include every host of the cell that is durably known (its host mappings), not only those
   * that registered with this process: a host that died before this monitor started never
   * registers or beats again, and would otherwise stay schedulable for good.
   */
  readonly expected?: () => readonly string[] | Promise<readonly string[]>;
  /** Whether `host` is of this cell (the registrar knows it): its record changes are told even before it beats. */
  readonly owns?: (host: string) => boolean;
  readonly graceMs?: number;
  readonly sweepIntervalMs?: number;
  /** Period of the re-announcement of unschedulable hosts; default the grace period. */
  readonly refreshMs?: number;
}

export interface ServiceMonitorHandle {
  /** Whether the shards are told `host` may be scheduled (undefined: not tracked). */
  schedulable(host: string): boolean | undefined;
  /**
   * A host of the cell just registered: expect its beats from now on (down if none comes within
   * the grace period). Its first beat may have come before this monitor listened.
   */
  expect(host: string): void;
  stop(): Promise<void>;
}

/**
 * Publishes, per host of the cell, whether it may take new instances: heartbeats within the
 * grace period (HeartbeatMonitor) and a service record neither disabled nor forced down.
 * Transitions are published when that changes; unschedulable hosts again every `refreshMs`.
 */
export async function startServiceMonitor(o: ServiceMonitorOptions): Promise<ServiceMonitorHandle> {
  const subject = agentSubjects(o.cell).service;
  const records = new Map<string, { rev: number; blocked: boolean }>();
  const told = new Map<string, boolean>();
  let stopped = false;
  const monitor = new HeartbeatMonitor({
    clock: o.clock,
    ...(o.graceMs ? { graceMs: o.graceMs } : {}),
    ...(o.sweepIntervalMs ? { sweepIntervalMs: o.sweepIntervalMs } : {}),
    onTransition: (t) => tell(t.host),
  });
  const schedulable = (host: string) => {
    const state = monitor.state(host);
    return state === undefined ? undefined : state !== 'down' && !records.get(host)?.blocked;
  };
  const publish = (host: string, up: boolean) => {
    const t = { host, up, atMs: o.clock.now(), lastSeenMs: monitor.lastSeen(host) ?? 0 };
    try {
      o.bus.publish(subject, encode(serviceTransition, t));
    } catch {
      // The bus is closing: the next refresh (or leader) says it again.
    }
  };
  function tell(host: string): void {
    if (stopped) return;
    if (monitor.state(host) === undefined && o.owns?.(host)) monitor.expect(host);
    const up = schedulable(host);
    if (up === undefined || told.get(host) === up) return;
    told.set(host, up);
    publish(host, up);
  }
  const applyRecord = (key: string, rev: number, value: Uint8Array | undefined) => {
    const host = key.slice(SERVICES_PREFIX.length);
    if ((records.get(host)?.rev ?? 0) > rev) return; // older than what the list read
    let blocked = false;
    try {
      blocked = value !== undefined && blocks(decode(serviceRecordMessage, value));
    } catch {
      // A record this build cannot read: the host stays schedulable.
    }
    records.set(host, { rev, blocked });
    tell(host);
  };
  // Watch first, then list: nothing written in between is missed, and revisions order the two.
  const watch: Watch = await o.coordinator.watch(SERVICES_PREFIX, (ev) =>
    applyRecord(ev.key, ev.revision, ev.type === 'put' ? ev.value : undefined),
  );
  /** Every host told unschedulable, again (at most MAX_REFRESH_PER_TICK). */
  const announceBlocked = () => {
    let n = 0;
    for (const [host, up] of told) {
      if (up || n++ >= MAX_REFRESH_PER_TICK) continue;
      publish(host, false);
    }
  };
  const subs: Subscription[] = [];
  let timer: TimerHandle | undefined;
  try {
    for (const e of await o.coordinator.list(SERVICES_PREFIX)) applyRecord(e.key, e.modRevision, e.value);
    for (const h of (await o.expected?.()) ?? []) monitor.expect(h);
    for (const h of records.keys()) tell(h);
    subs.push(await monitor.listen(o.bus, agentSubjects(o.cell).heartbeat));
    subs.push(
      await o.bus.subscribe(agentSubjects(o.cell).serviceReplay, (m) => {
        try {
          decode(serviceReplay, m.data);
        } catch {
          return; // a peer speaking another major
        }
        if (!stopped) announceBlocked();
      }),
    );
  } catch (err) {
    monitor.close();
    await Promise.all(subs.map((s) => s.unsubscribe().catch(() => {})));
    await watch.cancel();
    throw err;
  }
  const refreshMs = o.refreshMs ?? monitor.graceMs;
  const refresh = () => {
    timer = undefined;
    if (stopped) return;
    announceBlocked();
    timer = o.clock.setTimeout(refresh, refreshMs);
  };
  timer = o.clock.setTimeout(refresh, refreshMs);
  return {
    schedulable,
    expect: (host) => {
      if (!stopped) monitor.expect(host);
    },
    async stop() {
      stopped = true;
      if (timer) o.clock.clearTimeout(timer);
      monitor.close();
      await Promise.all(subs.map((s) => s.unsubscribe().catch(() => {})));
      await watch.cancel().catch(() => {});
    },
  };
}
