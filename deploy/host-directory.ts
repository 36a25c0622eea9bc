/**
 * The compute API's HostDirectory over the cells. `CellsHostDirectory` knows
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
 *   coordinator (host-agent/services.ts; written here, durable, CAS-updated). What the scheduler
 *   sees of them is the cell's service monitor's business (host-agent/service-monitor.ts).
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
import { decode, encode } from '../core/codec/envelope.ts';
import { CellplaneError } from '../core/errors.ts';
import type { Subscription } from '../core/ports/bus.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Coordinator, KvEntry } from '../core/ports/coordinator.ts';
import { agentSubjects } from '../host-agent/agent.ts';
import { heartbeat } from '../host-agent/messages.ts';
import { DEFAULT_GRACE_MS, MAX_MONITORED_HOSTS } from '../host-agent/monitor.ts';
import {
  SERVICES_PREFIX,
  type ServiceRecord,
  serviceKey,
  serviceRecordMessage,
} from '../host-agent/services.ts';
import type { CellPorts } from './server-backend.ts';

/** CAS attempts of one service update against concurrent writers. */
export const SERVICE_CAS_ATTEMPTS = 5;
/** Provider-tree records read per Store page when a cell's trees are scanned. */
export const TREE_PAGE_SIZE = 500;

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
