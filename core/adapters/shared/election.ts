/**
 * Leader election with etcd's recipe (go.etcd.io/etcd/client/v3/concurrency), written over
 * the Coordinator port's own primitives so the etcd and the in-memory adapters elect
 * exactly alike:
 * - a candidate creates `<leaseId>` (value: its candidate id) under the election's key
 *   space, attached to a lease of its own with the campaign's TTL;
 * - the leader is the candidate key with the lowest createRevision;
 * - a waiting candidate watches the key space from its own creation revision and re-checks
 *   on every delete (a resigned, revoked or expired predecessor).
 * Leadership ends when the lease is lost (expired, keep-alive failed, revoked) or the
 * candidate key disappears; resign() revokes the lease, so the next candidate sees the
 * delete at once.
 */
import { CellplaneError, toCellplaneError } from '../../errors.ts';
import type {
  CampaignOptions,
  Coordinator,
  Election,
  KvEntry,
  Leadership,
  Lease,
  Watch,
} from '../../ports/coordinator.ts';

/** The election's own key space: keys passed here are relative to it. */
export type ElectionKv = Pick<Coordinator, 'grantLease' | 'cas' | 'list' | 'watch'>;

const text = new TextDecoder();
const bytes = new TextEncoder();

/** Election names become one key segment. */
export function checkElectionName(name: string): void {
  if (name.length === 0 || name.includes('/')) {
    throw new CellplaneError(
      'invalid',
      `election name must be non-empty and without '/': ${JSON.stringify(name)}`,
    );
  }
}

function lowest(entries: KvEntry[]): KvEntry | undefined {
  let best: KvEntry | undefined;
  for (const e of entries) if (!best || e.createRevision < best.createRevision) best = e;
  return best;
}

export class PortElection implements Election {
  constructor(
    readonly name: string,
    private readonly kv: ElectionKv,
  ) {}

  async campaign(candidateId: string, opts: CampaignOptions): Promise<Leadership> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const lease = await this.kv.grantLease(opts.ttlMs);
    let watch: Watch | undefined;
    try {
      signal?.throwIfAborted();
      const created = await this.kv.cas(lease.id, bytes.encode(candidateId), 0, { lease });
      if (!created.ok) throw new CellplaneError('internal', `candidate key ${lease.id} already exists`);
      let wake: () => void = () => {};
      const wakeUp = () => wake();
      let leadership: PortLeadership | undefined;
      watch = await this.kv.watch(
        '',
        (ev) => {
          if (ev.type !== 'delete') return;
          if (leadership && ev.key === lease.id) leadership.keyDeleted();
          else wakeUp();
        },
        { fromRevision: created.revision },
      );
      lease.onLost(wakeUp);
      signal?.addEventListener('abort', wakeUp, { once: true });
      for (;;) {
        const woken = new Promise<void>((r) => {
          wake = r;
        });
        signal?.throwIfAborted();
        if (lease.lost) throw new CellplaneError('leaseLost', `campaign lease of ${candidateId} was lost`);
        const entries = await this.kv.list('');
        if (!entries.some((e) => e.key === lease.id)) {
          throw new CellplaneError('leaseLost', `candidate key of ${candidateId} was deleted`);
        }
        if (lowest(entries)?.key === lease.id) break;
        await woken;
      }
      signal?.removeEventListener('abort', wakeUp);
      leadership = new PortLeadership(candidateId, lease, watch);
      return leadership;
    } catch (err) {
      await watch?.cancel().catch(() => {});
      await lease.revoke().catch(() => {});
      throw signal?.aborted ? signal.reason : toCellplaneError(err);
    }
  }

  async leader(): Promise<string | undefined> {
    const first = lowest(await this.kv.list(''));
    return first ? text.decode(first.value) : undefined;
  }

  async observe(cb: (leaderId: string | undefined) => void): Promise<Watch> {
    let last: string | undefined | null = null;
    let active = true;
    let chain = Promise.resolve();
    const refresh = () => {
      chain = chain
        .then(() => this.leader())
        .then((id) => {
          if (active && id !== last) {
            last = id;
            cb(id);
          }
        })
        .catch(() => {});
      return chain;
    };
    const watch = await this.kv.watch('', () => void refresh());
    await refresh();
    return {
      cancel: async () => {
        active = false;
        await watch.cancel();
      },
    };
  }
}

class PortLeadership implements Leadership {
  private ended = false;
  private resigned = false;
  private readonly callbacks: Array<() => void> = [];

  /** `ownKeyWatch` is the campaign's watch, which reports the candidate key's deletion. */
  constructor(
    readonly candidateId: string,
    private readonly lease: Lease,
    private readonly ownKeyWatch: Watch,
  ) {
    lease.onLost(() => this.end(false));
  }

  get lost(): boolean {
    return this.ended;
  }

  onLost(cb: () => void): void {
    if (this.ended) {
      if (!this.resigned) queueMicrotask(cb);
      return;
    }
    this.callbacks.push(cb);
  }

  async resign(): Promise<void> {
    if (this.ended) return;
    this.resigned = true;
    this.ended = true;
    await this.ownKeyWatch.cancel().catch(() => {});
    await this.lease.revoke();
  }

  /** Called by the campaign's watch when the candidate key is deleted by anyone. */
  keyDeleted(): void {
    this.end(true);
  }

  /** A lost lease is gone or expires by itself; a lease whose key was deleted is freed. */
  private end(revoke: boolean): void {
    if (this.ended) return;
    this.ended = true;
    void this.ownKeyWatch.cancel().catch(() => {});
    if (revoke) void this.lease.revoke().catch(() => {});
    for (const cb of this.callbacks.splice(0)) cb();
  }
}
