/**
 * The Coordinator on etcd (etcd3 client). Every key lives under `<prefix>/`: the caller's
 * keys under `<prefix>/kv/`, elections under `<prefix>/election/<name>/` (etcd's
 * election recipe, ../shared/election.ts). Lease TTLs are whole seconds in etcd: a TTL is rounded
 * up, and `Lease.ttlMs` tells the one granted.
 * Gotcha (FACTS.md): etcd3's close() does not stop keep-alives, so close() releases every
 * lease first.
 */
import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
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
import { checkElectionName, PortElection } from '../shared/election.ts';
import { serverList } from '../shared/urls.ts';
import { systemClock } from '../system/clock.ts';
import { fromEtcdError } from './errors.ts';
import { checkPrefix, EtcdKeyspace } from './kv.ts';
import { EtcdLease } from './lease.ts';

/** Deadline of one unary call (get, put, txn, grant, revoke); streams have none. */
export const ETCD_CALL_TIMEOUT_MS = 5_000;
/** Time to establish a connection before a call fails as `unavailable`. */
export const ETCD_DIAL_TIMEOUT_MS = 3_000;
/**
 * How long a member that failed ETCD_HOST_BREAKER_FAILURES calls in a row is left alone while the
 * client asks the other members (etcd3's own default is 5 s). Only with several members: with one
 * there is nobody else to ask, and a breaker would fail every call for that long — longer than
 * the read retries (kv.ts READ_ATTEMPTS) ride out, as a leader election did in CI.
 */
export const ETCD_HOST_BREAKER_OPEN_MS = 1_000;
export const ETCD_HOST_BREAKER_FAILURES = 3;

export interface EtcdCoordinatorOptions {
  /**
   * etcd client URL(s), e.g. `http://127.0.0.1:2379`: a list or a comma-separated string. With
   * several members a failed call is retried on another one (etcd3's pool).
   */
  hosts: string | readonly string[];
  /** Every key this adapter touches lives under `<prefix>/`. */
  prefix: string;
  clock?: Clock;
  callTimeoutMs?: number;
}

export class EtcdCoordinator implements Coordinator {
  private readonly client: Etcd3;
  private readonly clock: Clock;
  private readonly prefix: string;
  private readonly kv: EtcdKeyspace;
  private readonly leases = new Set<EtcdLease>();
  private readonly watches = new Set<Watch>();
  private closed = false;

  constructor(opts: EtcdCoordinatorOptions) {
    this.prefix = checkPrefix(opts.prefix);
    this.clock = opts.clock ?? systemClock;
    const timeout = opts.callTimeoutMs ?? ETCD_CALL_TIMEOUT_MS;
    const hosts = serverList(opts.hosts, 'etcd hosts');
    this.client = new Etcd3({
      hosts,
      faultHandling: { host: () => hostPolicy(hosts.length) },
      dialTimeout: ETCD_DIAL_TIMEOUT_MS,
      // gRPC deadlines are wall-clock times, whatever clock drives the rest.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    });
    this.kv = this.keyspace(`${this.prefix}/kv/`);
  }

  async grantLease(ttlMs: number, opts: LeaseOptions = {}): Promise<Lease> {
    this.check();
    if (!(ttlMs > 0)) throw new CellplaneError('invalid', `lease TTL must be positive, got ${ttlMs}`);
    const ttlSeconds = Math.ceil(ttlMs / 1000);
    const sentAt = this.clock.now();
    const inner = this.client.lease(ttlSeconds, { autoKeepAlive: opts.keepAlive !== false });
    inner.on('lost', () => {}); // reported through EtcdLease; keeps an unheard 'lost' from throwing
    let id: string;
    try {
      id = await inner.grant();
    } catch (err) {
      inner.release();
      throw fromEtcdError(err, 'grant lease');
    }
    const lease = new EtcdLease(inner, id, ttlSeconds * 1000, this.clock, sentAt);
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
    const kv = this.keyspace(`${this.prefix}/election/${name}/`);
    return new PortElection(name, {
      grantLease: (ttlMs, opts) => this.grantLease(ttlMs, opts),
      cas: (k, v, e, o) => kv.cas(k, v, e, o),
      list: (p) => kv.list(p),
      watch: (p, cb, o) => kv.watch(p, cb, o),
    });
  }

  /**
   * Simulates a hung process: keep-alives stop and nothing is revoked, so etcd expires the
   * leases after their TTL; the Lease and Leadership objects report the loss by their own
   * deadline. Watches and KV calls keep working.
   */
  crash(): void {
    for (const lease of this.leases) lease.freeze();
  }

  /** Releases leases (they expire on their own; they count as lost here), cancels watches, closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const lease of [...this.leases]) lease.markLost();
    await Promise.all([...this.watches].map((w) => w.cancel()));
    this.client.close();
  }

  private check(): void {
    if (this.closed) throw new CellplaneError('closed', 'etcd coordinator is closed');
  }

  private keyspace(root: string): EtcdKeyspace {
    return new EtcdKeyspace(
      this.client,
      root,
      () => this.check(),
      (w) => {
        this.watches.add(w);
        return () => this.watches.delete(w);
      },
    );
  }
}

/** Each member's fault handling: a short circuit breaker among several members, none for one. */
function hostPolicy(members: number) {
  if (members === 1) return noop;
  return circuitBreaker(handleWhen(isRecoverableError), {
    halfOpenAfter: ETCD_HOST_BREAKER_OPEN_MS,
    breaker: new ConsecutiveBreaker(ETCD_HOST_BREAKER_FAILURES),
  });
}
