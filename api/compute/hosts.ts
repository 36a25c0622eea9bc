/**
 * The host directory: the port through which the compute API learns which compute hosts exist,
 * the state of their services (up/down from heartbeats, enabled/disabled by operators), their
 * compute nodes (inventory totals and usage of the host's provider tree) and changes an
 * operator makes to a service. deploy/host-directory.ts implements it over the cells (host
 * mappings, provider trees, heartbeats, service records in the coordinator);
 * `MemoryHostDirectory` serves tests.
 *
 * Ids follow Nova: integers before microversion 2.53, uuids from it. A compute node's uuid is
 * its root resource provider's (as in Nova, so `openstack resource provider show <hypervisor
 * id>` finds it).
 */
import { createHash } from 'node:crypto';
import { CellplaneError } from '../../core/errors.ts';

export interface ServiceState {
  /** Nova's binary name: `nova-compute` for a hypervisor host; others (scheduler, conductor) are internal. */
  readonly binary: string;
  /** False when an operator disabled the service (no new instances). */
  readonly enabled: boolean;
  /** True while heartbeats arrive within the grace period and the service is not forced down. */
  readonly up: boolean;
  /** Last heartbeat, ISO-8601, or null. */
  readonly updatedAt: string | null;
  /** Nova's service id before 2.53 (unique over every service of the directory). */
  readonly id: number;
  /** Nova's service id from 2.53. */
  readonly uuid: string;
  readonly disabledReason: string | null;
  /** Set by an operator (fencing): the service counts as down whatever its heartbeats say. */
  readonly forcedDown: boolean;
}

export interface HostEntry {
  readonly name: string;
  readonly services: readonly ServiceState[];
  /** The compute node's integer id (Nova's hypervisor id before 2.53). */
  readonly id: number;
  /** Address of the host, when its agent reported one. */
  readonly hostIp: string | null;
}

/** A host's compute node: the totals and usage of its provider tree. */
export interface ComputeNode {
  /** The root resource provider's uuid (Nova's hypervisor id from 2.53). */
  readonly uuid: string;
  readonly hypervisorType: string;
  readonly vcpus: number;
  readonly vcpusUsed: number;
  readonly memoryMb: number;
  readonly memoryMbUsed: number;
  readonly diskGb: number;
  readonly diskGbUsed: number;
  /** Instances holding resources on the host (uuids), in uuid order. */
  readonly instances: readonly string[];
}

/** What an operator changes on a compute service; absent fields stay as they are. */
export interface ServiceChange {
  readonly disabled?: boolean;
  /** Kept only while disabled; enabling clears it. */
  readonly reason?: string | null;
  readonly forcedDown?: boolean;
}

export const COMPUTE_BINARY = 'nova-compute';

export interface HostDirectory {
  /** Every known host with its services. Order is not significant. */
  hosts(): Promise<readonly HostEntry[]>;
  /** The host named exactly `name` if it runs a compute service, else undefined. */
  computeHost(name: string): Promise<HostEntry | undefined>;
  /**
   * The compute nodes of the named hosts (of every compute host when `names` is omitted). A host
   * whose provider tree is not stored yet has no node (it is not a hypervisor yet).
   */
  nodes(names?: readonly string[]): Promise<ReadonlyMap<string, ComputeNode>>;
  /**
   * Changes the compute service of `host` durably and tells the schedulers (a disabled or forced
   * down host receives no new instances). Throws a `notFound` CellplaneError for an unknown host.
   * Must be idempotent.
   */
  setService(host: string, change: ServiceChange): Promise<void>;
  /**
   * Forgets the `binary` service of `host` (for a compute service: its host mapping and service
   * record; an agent that registers again brings it back). Throws `notFound` when there is none.
   */
  deleteService(host: string, binary: string): Promise<void>;
}

/** A uuid derived from a name (SHA-1, version 5 layout): stable across processes. */
export function nameUuid(namespace: string, name: string): string {
  const h = createHash('sha1').update(`${namespace}\0${name}`).digest('hex');
  const variant = ((Number.parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

/** A service as callers describe it to MemoryHostDirectory: ids and flags default. */
export type ServiceSpec = Pick<ServiceState, 'binary' | 'enabled' | 'up' | 'updatedAt'> &
  Partial<Omit<ServiceState, 'binary' | 'enabled' | 'up' | 'updatedAt'>>;

export interface HostSpec {
  readonly name: string;
  readonly services: readonly ServiceSpec[];
  readonly hostIp?: string | null;
  /** The compute node; default: an empty one (a uuid derived from the name, no inventory). */
  readonly node?: Partial<ComputeNode>;
}

const EMPTY_NODE = {
  hypervisorType: 'fake',
  vcpus: 0,
  vcpusUsed: 0,
  memoryMb: 0,
  memoryMbUsed: 0,
  diskGb: 0,
  diskGbUsed: 0,
  instances: [],
} as const;

interface MemoryHost {
  entry: HostEntry;
  node: ComputeNode | undefined;
  /** Services as set (`up` before forced-down is folded in). */
  raw: ServiceState[];
}

/** An in-process directory: hosts are added and changed by the caller. Ids count from 1. */
export class MemoryHostDirectory implements HostDirectory {
  private readonly byName = new Map<string, MemoryHost>();
  private nextId = 1;

  /** Adds or replaces a host; a plain name makes an enabled, up compute host with an empty node. */
  put(host: string | HostSpec): this {
    const spec: HostSpec =
      typeof host === 'string'
        ? { name: host, services: [{ binary: COMPUTE_BINARY, enabled: true, up: true, updatedAt: null }] }
        : host;
    const old = this.byName.get(spec.name);
    const id = old?.entry.id ?? this.nextId++;
    const raw = spec.services.map(
      (s): ServiceState => ({
        id: s.id ?? (s.binary === COMPUTE_BINARY ? id : this.nextId++),
        uuid: s.uuid ?? nameUuid('service', `${spec.name}/${s.binary}`),
        disabledReason: s.disabledReason ?? null,
        forcedDown: s.forcedDown ?? false,
        ...s,
      }),
    );
    const compute = raw.some((s) => s.binary === COMPUTE_BINARY);
    const node = compute ? { ...EMPTY_NODE, uuid: nameUuid('node', spec.name), ...spec.node } : undefined;
    this.byName.set(spec.name, { entry: this.entryOf(spec.name, id, spec.hostIp ?? null, raw), node, raw });
    return this;
  }

  remove(name: string): void {
    this.byName.delete(name);
  }

  async hosts(): Promise<readonly HostEntry[]> {
    return [...this.byName.values()].map((h) => h.entry);
  }

  async computeHost(name: string): Promise<HostEntry | undefined> {
    const h = this.byName.get(name);
    return h?.node ? h.entry : undefined;
  }

  async nodes(names?: readonly string[]): Promise<ReadonlyMap<string, ComputeNode>> {
    const out = new Map<string, ComputeNode>();
    for (const name of names ?? [...this.byName.keys()]) {
      const node = this.byName.get(name)?.node;
      if (node) out.set(name, node);
    }
    return out;
  }

  async setService(host: string, change: ServiceChange): Promise<void> {
    const h = this.requireCompute(host);
    h.raw = h.raw.map((s) => (s.binary === COMPUTE_BINARY ? applyChange(s, change) : s));
    h.entry = this.entryOf(host, h.entry.id, h.entry.hostIp, h.raw);
  }

  async deleteService(host: string, binary: string): Promise<void> {
    const h = this.byName.get(host);
    if (!h?.raw.some((s) => s.binary === binary))
      throw new CellplaneError('notFound', `no ${binary} service on host ${host}`);
    const rest = h.raw.filter((s) => s.binary !== binary);
    if (rest.length === 0) this.byName.delete(host);
    else
      this.put({ name: host, services: rest, hostIp: h.entry.hostIp, ...(h.node ? { node: h.node } : {}) });
  }

  private requireCompute(host: string): MemoryHost {
    const h = this.byName.get(host);
    if (!h?.node) throw new CellplaneError('notFound', `no compute service on host ${host}`);
    return h;
  }

  private entryOf(name: string, id: number, hostIp: string | null, raw: readonly ServiceState[]): HostEntry {
    return { name, id, hostIp, services: raw.map((s) => ({ ...s, up: s.up && !s.forcedDown })) };
  }
}

/** A service after `change` (Nova: enabling clears the reason; a reason only sticks while disabled). */
export function applyChange(s: ServiceState, change: ServiceChange): ServiceState {
  const enabled = change.disabled === undefined ? s.enabled : !change.disabled;
  const reason = enabled ? null : change.reason !== undefined ? change.reason : s.disabledReason;
  return { ...s, enabled, disabledReason: reason, forcedDown: change.forcedDown ?? s.forcedDown };
}
