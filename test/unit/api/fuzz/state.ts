/**
 * What an API world holds, as plain data the fuzzer can compare: every key of a Store (decoded,
 * with its generation) and every index, the jobs handed to work queues, and the renaming that
 * makes two worlds comparable. Two worlds fed the same successful requests differ only in the ids
 * and times they made up themselves (random uuids, request ids, wall-clock stamps):
 * `Names` gives each id the name of its first appearance in a successful answer, in both worlds
 * alike, and `canonical` rewrites a dump with those names.
 */
import { Packr } from 'msgpackr';
import type { Bus, WorkQueue } from '../../../../core/ports/bus.ts';
import type {
  CommitResult,
  ListOptions,
  ListPage,
  Store,
  StoreEntry,
  WriteOp,
} from '../../../../core/ports/store.ts';

/** Largest page read while dumping an index. */
const DUMP_PAGE = 1000;

/** A Store that remembers the names of the indexes written, so that a dump can list them. */
export class RecordingStore implements Store {
  private readonly indexes = new Set<string>();
  constructor(private readonly inner: Store) {}
  get(key: string): Promise<StoreEntry | undefined> {
    return this.inner.get(key);
  }
  getMany(keys: readonly string[]): Promise<(StoreEntry | undefined)[]> {
    return this.inner.getMany(keys);
  }
  commit(ops: readonly WriteOp[]): Promise<CommitResult> {
    for (const op of ops) if (op.op === 'index' || op.op === 'unindex') this.indexes.add(op.index);
    return this.inner.commit(ops);
  }
  list(index: string, opts: ListOptions): Promise<ListPage> {
    return this.inner.list(index, opts);
  }
  count(index: string): Promise<number> {
    return this.inner.count(index);
  }
  scanKeys(prefix: string): Promise<string[]> {
    return this.inner.scanKeys(prefix);
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Every key (value decoded, generation) and every non-empty index. An index shows as the set of
   * its members (an object): its order follows from the members, which hold made-up ids.
   */
  async dump(): Promise<Record<string, unknown>> {
    const keys: Record<string, unknown> = {};
    for (const k of await this.inner.scanKeys('')) {
      const e = await this.inner.get(k);
      if (e) keys[k] = { generation: e.generation, value: decodeBytes(e.value) };
    }
    const indexes: Record<string, Record<string, true>> = {};
    for (const name of [...this.indexes].sort()) {
      const members: string[] = [];
      let after: string | undefined;
      do {
        const page = await this.inner.list(name, { limit: DUMP_PAGE, ...(after ? { after } : {}) });
        members.push(...page.members);
        after = page.next;
      } while (after !== undefined);
      if (members.length > 0) indexes[name] = Object.fromEntries(members.map((m) => [m, true]));
    }
    return { keys, indexes };
  }
}

export interface QueuedJob {
  readonly queue: string;
  readonly msgId: string | undefined;
  readonly duplicate: boolean;
  readonly job: unknown;
}

/** `bus` with every work-queue enqueue recorded in `jobs` (what the conductors would receive). */
export function recordingBus(bus: Bus, jobs: QueuedJob[]): Bus {
  return Object.assign(Object.create(bus) as Bus, {
    async workQueue(name: string, opts: Parameters<Bus['workQueue']>[1]): Promise<WorkQueue> {
      const q = await bus.workQueue(name, opts);
      return Object.assign(Object.create(q) as WorkQueue, {
        async enqueue(data: Uint8Array, o?: { msgId?: string }) {
          const r = await q.enqueue(data, o);
          jobs.push({ queue: name, msgId: o?.msgId, duplicate: r.duplicate, job: decodeBytes(data) });
          return r;
        },
      });
    },
  });
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });

/** A stored value as data: msgpack (the envelopes), else JSON, else UTF-8 text, else hex. */
export function decodeBytes(b: Uint8Array): unknown {
  try {
    return plain(packr.unpack(b));
  } catch {
    const text = Buffer.from(b).toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      return Buffer.from(text, 'utf8').equals(Buffer.from(b)) ? text : Buffer.from(b).toString('hex');
    }
  }
}

function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?/g;

/**
 * Names for the ids a world made up, in order of their first appearance in a successful answer.
 * Ids the world started with or a client chose (`keep`: seen in a request before any answer)
 * keep their own value: they are the same in every world, and the order answers list them in
 * may differ (a refused write that reloads Placement's state reorders its maps).
 */
export class Names {
  private readonly names = new Map<string, string>();
  private made = 0;
  constructor(private readonly prefix = 'id') {}
  /** Names every uuid in `text` not named yet. */
  see(text: string): void {
    for (const m of text.matchAll(UUID)) {
      const id = m[0].toLowerCase();
      if (!this.names.has(id)) this.names.set(id, `<${this.prefix} ${++this.made}>`);
    }
  }
  /** Every uuid in `text` not named yet keeps its own value. */
  keep(text: string): void {
    for (const m of text.matchAll(UUID)) {
      const id = m[0].toLowerCase();
      if (!this.names.has(id)) this.names.set(id, id);
    }
  }
  /** `text` with every named id replaced by its name and wall-clock times by `<time>`. */
  rename(text: string): string {
    return text.replace(UUID, (id) => this.names.get(id.toLowerCase()) ?? id).replace(ISO_TIME, '<time>');
  }
}

/** `value` with every string (keys too) renamed by `names`. */
function renamed(value: unknown, names: Names): unknown {
  if (typeof value === 'string') return names.rename(value);
  if (Array.isArray(value)) return value.map((x) => renamed(x, names));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(value)) out[names.rename(k)] = renamed(x, names);
    return out;
  }
  return value;
}

/**
 * Names uuids in `value` by their first appearance: the top level in its own order (a dump puts
 * what is ordered — the queued jobs — first), below it keys sorted with unnamed uuids masked.
 */
function seeInOrder(value: unknown, names: Names, top = true): void {
  if (typeof value === 'string') names.see(value);
  else if (Array.isArray(value)) for (const x of value) seeInOrder(x, names, false);
  else if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (!top) keys.sort((a, b) => masked(a).localeCompare(masked(b)));
    for (const k of keys) {
      names.see(k);
      seeInOrder((value as Record<string, unknown>)[k], names, false);
    }
  }
}
const masked = (s: string) => s.replace(UUID, '<?>');

/**
 * `value` made comparable across worlds: ids named by `names` (their first appearance in a
 * successful answer), then the ids no answer showed (an aggregate's uuid before 2.41…) named by
 * their first appearance in the value itself, and wall-clock times replaced.
 */
export function canonical(value: unknown, names: Names): unknown {
  const first = renamed(value, names);
  const rest = new Names('unshown id');
  seeInOrder(first, rest);
  return renamed(first, rest);
}

/** Where `a` and `b` differ: up to `max` paths with both values (cut), for reports. */
export function differences(a: unknown, b: unknown, max = 12, at = '', out: string[] = []): string[] {
  if (out.length >= max) return out;
  const cut = (v: unknown) => String(JSON.stringify(v)).slice(0, 300);
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
      differences(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        max,
        `${at}/${k}`,
        out,
      );
  } else if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${at || '/'}: ${cut(a)} ≠ ${cut(b)}`);
  return out;
}
