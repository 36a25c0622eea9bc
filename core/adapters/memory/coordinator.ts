/**
 * The embedded Coordinator: a client of a MemoryCoordinationServer, driven by the Clock
 * port. `new MemoryCoordinator(clock)` has a private server; clients of one shared server
 * (`server.client()`) see each other's keys, leases and elections, as etcd clients would.
 * Watch callbacks run asynchronously (never inside the write that caused them), in
 * revision order. Elections use the same recipe as the etcd adapter (../shared/election.ts).
 */
import { CellplaneError } from '../../errors.ts';
import type { Clock } from '../../ports/clock.ts';
import type {
  CasResult,
  Coordinator,
  Election,
  KvEntry,
  Lease,
  LeaseOptions,
  Watch,
  WatchEvent,
} from '../../ports/coordinator.ts';
import { checkElectionName, type ElectionKv, PortElection } from '../shared/election.ts';
import { systemClock } from '../system/clock.ts';
import { MemoryLease } from './coordinator-lease.ts';
import { MemoryCoordinationStore } from './coordinator-server.ts';

/** Where user keys and elections live in the server's one key space. */
const KV_ROOT = 'kv/';
const ELECTION_ROOT = 'election/';

/** The state one etcd cluster would hold, shared by the clients it hands out. */
export class MemoryCoordinationServer extends MemoryCoordinationStore {
  /** A new client of this server. */
  client(): MemoryCoordinator {
    return new MemoryCoordinator(this.clock, this);
  }
}

export class MemoryCoordinator implements Coordinator {
  private closed = false;
  private readonly leases = new Set<MemoryLease>();
  private readonly watches = new Set<() => void>();
  private readonly kv: ElectionKv & Pick<Coordinator, 'get' | 'put' | 'delete'>;

  constructor(
    clock: Clock = systemClock,
    readonly server: MemoryCoordinationServer = new MemoryCoordinationServer(clock),
  ) {
    this.kv = this.keyspace(KV_ROOT);
  }

  async grantLease(ttlMs: number, opts: LeaseOptions = {}): Promise<Lease> {
    this.check();
    const granted = this.server.grantLease(ttlMs);
    const lease = new MemoryLease(this.server, granted.id, granted.ttlMs, opts.keepAlive !== false);
    this.leases.add(lease);
    lease.onLost(() => this.leases.delete(lease));
    return lease;
  }

  get(key: string): Promise<KvEntry | undefined> {
    return this.kv.get(key);
  }

  put(key: string, value: Uint8Array, opts?: { lease?: Lease }): Promise<number> {
    return this.kv.put(key, value, opts);
  }

  cas(key: string, value: Uint8Array, expected: number, opts?: { lease?: Lease }): Promise<CasResult> {
    return this.kv.cas(key, value, expected, opts);
  }

  delete(key: string, opts?: { expectedModRevision?: number }): Promise<boolean> {
    return this.kv.delete(key, opts);
  }

  list(prefix: string): Promise<KvEntry[]> {
    return this.kv.list(prefix);
  }

  watch(prefix: string, cb: (ev: WatchEvent) => void, opts?: { fromRevision?: number }): Promise<Watch> {
    return this.kv.watch(prefix, cb, opts);
  }

  election(name: string): Election {
    checkElectionName(name);
    return new PortElection(name, this.keyspace(`${ELECTION_ROOT}${name}/`));
  }

  /**
   * Simulates a process that stopped sending keep-alives (hung, partitioned or about to
   * die): nothing is revoked, so its leases expire on the server after their TTL, and its
   * own Lease and Leadership objects report the loss when they do.
   */
  crash(): void {
    for (const lease of this.leases) lease.freeze();
  }

  /**
   * The process is gone: as crash(), and its watches stop and every later call fails `closed`
   * (a dead process neither campaigns again nor resigns what it held).
   */
  kill(): void {
    this.crash();
    this.closed = true;
    for (const cancel of [...this.watches]) cancel();
  }

  /** Stops keep-alives and watches; this client's leases count as lost from now on. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const cancel of [...this.watches]) cancel();
    for (const lease of [...this.leases]) lease.markLost();
  }

  private check(): void {
    if (this.closed) throw new CellplaneError('closed', 'coordinator client is closed');
  }

  /** The Coordinator's KV operations on keys under `root`, which callers never see. */
  private keyspace(root: string): ElectionKv & Pick<Coordinator, 'get' | 'put' | 'delete'> {
    const strip = (e: KvEntry): KvEntry => ({ ...e, key: e.key.slice(root.length) });
    const leaseId = (lease: Lease | undefined) => lease?.id;
    return {
      grantLease: (ttlMs, opts) => this.grantLease(ttlMs, opts),
      get: async (key) => {
        this.check();
        const e = this.server.get(root + key);
        return e && strip(e);
      },
      put: async (key, value, opts) => {
        this.check();
        return this.server.put(root + key, value, leaseId(opts?.lease))!;
      },
      cas: async (key, value, expected, opts) => {
        this.check();
        const revision = this.server.put(root + key, value, leaseId(opts?.lease), expected);
        if (revision !== undefined) return { ok: true, revision };
        const current = this.server.get(root + key);
        return { ok: false, current: current && strip(current) };
      },
      delete: async (key, opts) => {
        this.check();
        return this.server.delete(root + key, opts?.expectedModRevision);
      },
      list: async (prefix) => {
        this.check();
        return this.server.list(root + prefix).map(strip);
      },
      watch: async (prefix, cb, opts) => {
        this.check();
        return this.openWatch(root, prefix, cb, opts?.fromRevision);
      },
    };
  }

  private openWatch(
    root: string,
    prefix: string,
    cb: (ev: WatchEvent) => void,
    fromRevision: number | undefined,
  ): Watch {
    const queue: WatchEvent[] = [];
    let active = true;
    let draining = false;
    const drain = () => {
      draining = false;
      while (active && queue.length > 0) {
        const ev = queue.shift()!;
        try {
          cb({ ...ev, key: ev.key.slice(root.length) });
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    };
    const remove = this.server.watch(
      root + prefix,
      (ev) => {
        queue.push(ev);
        if (!draining) {
          draining = true;
          queueMicrotask(drain);
        }
      },
      fromRevision,
    );
    const cancel = () => {
      active = false;
      remove();
      this.watches.delete(cancel);
    };
    this.watches.add(cancel);
    return { cancel: async () => cancel() };
  }
}
