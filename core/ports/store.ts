/**
 * The durable-state port behind CellStore and ApiStore. Real adapter: Redis
 * (core/adapters/redis, Lua for atomic checked commits). Embedded: in-memory.
 * Both pass test/contract/store.contract.ts.
 *
 * Every key has a generation: 1 when created, +1 on each write. Writes may be
 * conditional on the generation (0 = "must not exist"). A commit is all-or-nothing:
 * if any condition fails, nothing is written and the conflicts are returned — a
 * conflict is an expected outcome, not an exception.
 *
 * Ordered indexes hold string members in lexicographic (byte) order, for paginated
 * listing with a marker: encode the sort key into the member (`<created>|<uuid>`).
 */

export interface StoreEntry {
  readonly key: string;
  readonly value: Uint8Array;
  readonly generation: number;
}

export type WriteOp =
  | { op: 'put'; key: string; value: Uint8Array; expectedGeneration?: number }
  | { op: 'delete'; key: string; expectedGeneration?: number }
  | { op: 'check'; key: string; expectedGeneration: number }
  | { op: 'index'; index: string; member: string }
  | { op: 'unindex'; index: string; member: string };

export interface Conflict {
  readonly key: string;
  readonly expected: number;
  /** 0 when the key does not exist. */
  readonly actual: number;
}

export type CommitResult =
  | { ok: true; generations: Record<string, number> }
  | { ok: false; conflicts: Conflict[] };

export interface ListOptions {
  /** Start strictly after this member (the marker); omit to start at the beginning (or end, if reverse). */
  after?: string;
  limit: number;
  reverse?: boolean;
}

export interface ListPage {
  readonly members: string[];
  /** Pass as `after` for the next page; undefined when this was the last page. */
  readonly next: string | undefined;
}

export interface Store {
  get(key: string): Promise<StoreEntry | undefined>;
  getMany(keys: readonly string[]): Promise<(StoreEntry | undefined)[]>;
  /**
   * Applies `ops` atomically: every check (explicit `check` ops and `expectedGeneration`
   * on puts/deletes) is evaluated first; if all hold, every op is applied. `generations`
   * maps each written key to its new generation (0 for deleted keys).
   */
  commit(ops: readonly WriteOp[]): Promise<CommitResult>;
  /** One page of an ordered index. */
  list(index: string, opts: ListOptions): Promise<ListPage>;
  /** Members in the index. */
  count(index: string): Promise<number>;
  /** Keys that start with `prefix`, sorted. For admin and recovery scans, not hot paths. */
  scanKeys(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}
