/**
 * The coordination port: leases, leader election and a compare-and-set KV with watch.
 * Real adapter: etcd (core/adapters/etcd). Embedded: in-memory driven by the Clock port
 * (core/adapters/memory). Both pass test/contract/coordinator.contract.ts.
 *
 * Revisions follow etcd: one global, strictly increasing counter; every write gets the
 * next one. `modRevision` is the revision of the key's last write, `createRevision` of
 * its creation. CAS compares against `modRevision`; expected 0 means "must not exist".
 */

export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Writes since creation: 1 after the first put. */
  readonly version: number;
  /** Lease the key is attached to, if any. */
  readonly leaseId?: string;
}

export type WatchEvent =
  | { type: 'put'; key: string; value: Uint8Array; revision: number }
  | { type: 'delete'; key: string; revision: number };

export interface Watch {
  cancel(): Promise<void>;
}

export interface Lease {
  readonly id: string;
  readonly ttlMs: number;
  /** True once the lease expired or was revoked; it never becomes false again. */
  readonly lost: boolean;
  /** Called once when the lease is lost (expired, revoked, or keep-alive failed). */
  onLost(cb: () => void): void;
  /** Deletes the lease and every key attached to it. Idempotent. */
  revoke(): Promise<void>;
}

export interface LeaseOptions {
  /** Keep-alive refreshes the lease automatically while true (the default). */
  keepAlive?: boolean;
}

export interface Leadership {
  readonly candidateId: string;
  /** True once leadership ended (resigned, lease lost); it never becomes false again. */
  readonly lost: boolean;
  /** Called once when leadership ends for any reason other than resign(). */
  onLost(cb: () => void): void;
  /** Steps down so that the next candidate takes over at once. Idempotent. */
  resign(): Promise<void>;
}

export interface CampaignOptions {
  /** Lifetime of the candidate's lease; a leader that dies is replaced after at most this. */
  ttlMs: number;
  /** Stops waiting; the campaign rejects with the signal's reason and leaves no candidacy behind. */
  signal?: AbortSignal;
}

export interface Election {
  readonly name: string;
  /** Resolves when `candidateId` becomes leader (first come, first served). */
  campaign(candidateId: string, opts: CampaignOptions): Promise<Leadership>;
  /** The current leader's candidate id, or undefined when there is none. */
  leader(): Promise<string | undefined>;
  /** Calls `cb` with the current leader now and on every change. */
  observe(cb: (leaderId: string | undefined) => void): Promise<Watch>;
}

export type CasResult = { ok: true; revision: number } | { ok: false; current: KvEntry | undefined };

export interface Coordinator {
  grantLease(ttlMs: number, opts?: LeaseOptions): Promise<Lease>;
  get(key: string): Promise<KvEntry | undefined>;
  /** Unconditional write; returns the new revision. */
  put(key: string, value: Uint8Array, opts?: { lease?: Lease }): Promise<number>;
  /** Writes only if the key's modRevision equals `expectedModRevision` (0: key must not exist). */
  cas(
    key: string,
    value: Uint8Array,
    expectedModRevision: number,
    opts?: { lease?: Lease },
  ): Promise<CasResult>;
  /** Deletes; with `expectedModRevision` only if it matches. Returns whether a key was deleted. */
  delete(key: string, opts?: { expectedModRevision?: number }): Promise<boolean>;
  /** Keys under `prefix`, in key order. */
  list(prefix: string): Promise<KvEntry[]>;
  /**
   * Events for keys under `prefix`, in revision order. With `fromRevision`, events since
   * that revision are replayed first (if still retained).
   */
  watch(prefix: string, cb: (ev: WatchEvent) => void, opts?: { fromRevision?: number }): Promise<Watch>;
  election(name: string): Election;
  /** Stops keep-alives and watches; leases not revoked expire on their own. */
  close(): Promise<void>;
}
