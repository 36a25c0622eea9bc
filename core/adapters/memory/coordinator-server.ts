/**
 * The in-memory coordination state: what one etcd cluster holds, shared by any number
 * of MemoryCoordinator clients (through MemoryCoordinationServer in ./coordinator.ts) so that elections between clients and a client that stops
 * its keep-alives can be played out on a VirtualClock.
 *
 * Semantics follow etcd: one global revision counter, every write gets the next one; a
 * lease's keys vanish together (one revision) when it expires or is revoked; watchers get
 * events in revision order and may replay retained history from a revision.
 */
import { CellplaneError } from '../../errors.ts';
import type { Clock, TimerHandle } from '../../ports/clock.ts';
import type { KvEntry, WatchEvent } from '../../ports/coordinator.ts';
import { systemClock } from '../system/clock.ts';

/** Events kept for `fromRevision` replay; older ones are compacted away. */
export const MEMORY_WATCH_HISTORY_LIMIT = 10_000;

interface ServerLease {
  readonly id: string;
  readonly ttlMs: number;
  timer: TimerHandle;
  readonly keys: Set<string>;
  readonly onEnd: Set<() => void>;
}

interface ServerWatcher {
  readonly prefix: string;
  readonly deliver: (ev: WatchEvent) => void;
}

/** Byte order of the UTF-8 encodings, as etcd sorts keys. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export class MemoryCoordinationStore {
  private revision = 0;
  private nextLeaseId = 1;
  private readonly kv = new Map<string, KvEntry>();
  private readonly leases = new Map<string, ServerLease>();
  private readonly watchers = new Set<ServerWatcher>();
  private readonly history: WatchEvent[] = [];
  /** Revisions at or below this are no longer in `history`. */
  private compacted = 0;

  constructor(readonly clock: Clock = systemClock) {}

  /** The revision of the last write (0 before any). */
  get currentRevision(): number {
    return this.revision;
  }

  get(key: string): KvEntry | undefined {
    return this.kv.get(key);
  }

  list(prefix: string): KvEntry[] {
    const out: KvEntry[] = [];
    for (const [k, e] of this.kv) if (k.startsWith(prefix)) out.push(e);
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  /** Writes `key`; with `expectedModRevision` only if it matches (0: must not exist). */
  put(key: string, value: Uint8Array, leaseId?: string, expectedModRevision?: number): number | undefined {
    const prev = this.kv.get(key);
    if (expectedModRevision !== undefined && (prev?.modRevision ?? 0) !== expectedModRevision)
      return undefined;
    const lease = leaseId === undefined ? undefined : this.leases.get(leaseId);
    if (leaseId !== undefined && !lease) {
      throw new CellplaneError('leaseLost', `lease ${leaseId} has expired or was revoked`);
    }
    if (prev?.leaseId !== undefined) this.leases.get(prev.leaseId)?.keys.delete(key);
    const revision = ++this.revision;
    const copy = Uint8Array.from(value);
    const entry: KvEntry = {
      key,
      value: copy,
      createRevision: prev?.createRevision ?? revision,
      modRevision: revision,
      version: (prev?.version ?? 0) + 1,
      ...(leaseId === undefined ? {} : { leaseId }),
    };
    this.kv.set(key, entry);
    lease?.keys.add(key);
    this.emit({ type: 'put', key, value: copy, revision });
    return revision;
  }

  /** Deletes `key`; with `expectedModRevision` only if it matches. Returns whether it existed. */
  delete(key: string, expectedModRevision?: number): boolean {
    const prev = this.kv.get(key);
    if (!prev) return false;
    if (expectedModRevision !== undefined && prev.modRevision !== expectedModRevision) return false;
    this.deleteKeys([key], ++this.revision);
    return true;
  }

  grantLease(ttlMs: number): { id: string; ttlMs: number } {
    if (!(ttlMs > 0)) throw new CellplaneError('invalid', `lease TTL must be positive, got ${ttlMs}`);
    const id = String(this.nextLeaseId++);
    const lease: ServerLease = {
      id,
      ttlMs,
      timer: this.expiryTimer(id, ttlMs),
      keys: new Set(),
      onEnd: new Set(),
    };
    this.leases.set(id, lease);
    return { id, ttlMs };
  }

  /** Refreshes a lease to its full TTL. False when it no longer exists. */
  keepAlive(id: string): boolean {
    const lease = this.leases.get(id);
    if (!lease) return false;
    this.clock.clearTimeout(lease.timer);
    lease.timer = this.expiryTimer(id, lease.ttlMs);
    return true;
  }

  /** Calls `cb` once when the lease ends (expired or revoked); at once if it already has. */
  onLeaseEnd(id: string, cb: () => void): void {
    const lease = this.leases.get(id);
    if (lease) lease.onEnd.add(cb);
    else queueMicrotask(cb);
  }

  /** Deletes the lease and its keys (one revision). Idempotent. */
  revoke(id: string): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    this.leases.delete(id);
    this.clock.clearTimeout(lease.timer);
    if (lease.keys.size > 0) this.deleteKeys([...lease.keys].sort(compareKeys), ++this.revision);
    for (const cb of lease.onEnd) cb();
  }

  /**
   * Registers a watcher; events from `fromRevision` on (inclusive) are replayed first.
   * Returns the function that removes it.
   */
  watch(prefix: string, deliver: (ev: WatchEvent) => void, fromRevision?: number): () => void {
    if (fromRevision !== undefined && fromRevision > 0 && fromRevision <= this.compacted) {
      throw new CellplaneError('notFound', `revision ${fromRevision} has been compacted`, {
        details: { compactRevision: this.compacted },
      });
    }
    if (fromRevision !== undefined) {
      for (const ev of this.history)
        if (ev.revision >= fromRevision && ev.key.startsWith(prefix)) deliver(ev);
    }
    const w: ServerWatcher = { prefix, deliver };
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  private expiryTimer(id: string, ttlMs: number): TimerHandle {
    return this.clock.setTimeout(() => this.revoke(id), ttlMs);
  }

  private deleteKeys(keys: string[], revision: number): void {
    for (const key of keys) {
      const prev = this.kv.get(key);
      if (!prev) continue;
      this.kv.delete(key);
      if (prev.leaseId !== undefined) this.leases.get(prev.leaseId)?.keys.delete(key);
      this.emit({ type: 'delete', key, revision });
    }
  }

  private emit(ev: WatchEvent): void {
    this.history.push(ev);
    // Trim in chunks (a quarter of the limit at a time): one splice per put would shift the whole
    // history every time once it is full.
    if (this.history.length > MEMORY_WATCH_HISTORY_LIMIT * 1.25) {
      const dropped = this.history.splice(0, this.history.length - MEMORY_WATCH_HISTORY_LIMIT);
      this.compacted = dropped[dropped.length - 1]?.revision ?? this.compacted;
    }
    for (const w of this.watchers) if (ev.key.startsWith(w.prefix)) w.deliver(ev);
  }
}
