/**
 * The host directory: the port through which the compute API learns which compute hosts exist
 * and the state of their services. The host registry (host agents' registrations and heartbeats)
 * will implement it; `MemoryHostDirectory` stands in until then and in tests.
 */

export interface ServiceState {
  /** Nova's binary name: `nova-compute` for a hypervisor host; others (scheduler, conductor) are internal. */
  readonly binary: string;
  /** False when an operator disabled the service (no new instances). */
  readonly enabled: boolean;
  /** True while heartbeats arrive within the grace period. */
  readonly up: boolean;
  /** Last heartbeat, ISO-8601, or null. */
  readonly updatedAt: string | null;
}

export interface HostEntry {
  readonly name: string;
  readonly services: readonly ServiceState[];
}

export const COMPUTE_BINARY = 'nova-compute';

export interface HostDirectory {
  /** Every known host with its services. Order is not significant. */
  hosts(): Promise<readonly HostEntry[]>;
  /** The host named exactly `name` if it runs a compute service, else undefined. */
  computeHost(name: string): Promise<HostEntry | undefined>;
}

/** An in-process directory: hosts are added and changed by the caller. */
export class MemoryHostDirectory implements HostDirectory {
  private readonly byName = new Map<string, HostEntry>();

  /** Adds or replaces a host; a plain name makes an enabled, up compute host. */
  put(host: string | HostEntry): this {
    const entry: HostEntry =
      typeof host === 'string'
        ? { name: host, services: [{ binary: COMPUTE_BINARY, enabled: true, up: true, updatedAt: null }] }
        : host;
    this.byName.set(entry.name, entry);
    return this;
  }

  remove(name: string): void {
    this.byName.delete(name);
  }

  async hosts(): Promise<readonly HostEntry[]> {
    return [...this.byName.values()];
  }

  async computeHost(name: string): Promise<HostEntry | undefined> {
    const h = this.byName.get(name);
    return h?.services.some((s) => s.binary === COMPUTE_BINARY) ? h : undefined;
  }
}
