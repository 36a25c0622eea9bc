/**
 * The Store on Redis (contract: core/ports/store.ts, tests: test/contract/store.contract.ts).
 *
 * Every Redis key lives under `<prefix>:` — `<prefix>:k:<key>` is a hash {v, g} (value
 * bytes, generation), `<prefix>:i:<index>` a sorted set with score 0 — so several
 * stores (cells, tests) share one Redis without seeing each other. A commit is one Lua
 * script (commit-script.ts) that evaluates every check before its first write.
 */
import type { Redis } from 'ioredis';
import { CellplaneError } from '../../errors.ts';
import type {
  CommitResult,
  Conflict,
  ListOptions,
  ListPage,
  Store,
  StoreEntry,
  WriteOp,
} from '../../ports/store.ts';
import { checkListOptions, checkName, checkOps, compareUtf8 } from '../../stores/rules.ts';
import { COMMIT_LUA, encodeCommit, type KeyNames } from './commit-script.ts';
import { connectRedis, mapRedisError, type RedisConnectionOptions } from './connection.ts';

/** Keys asked of SCAN per round trip. */
const SCAN_BATCH = 1000;

export interface RedisStoreOptions extends RedisConnectionOptions {
  /** Every key this store reads or writes starts with `<prefix>:`. */
  prefix: string;
}

interface CommitCommand {
  cpStoreCommit(numKeys: number, ...args: (string | Buffer)[]): Promise<number[]>;
}

/** Escapes Redis glob characters so a literal string can start a MATCH pattern. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

function toEntry(key: string, reply: (Buffer | null)[] | undefined): StoreEntry | undefined {
  const [v, g] = reply ?? [];
  if (!v || !g) return undefined;
  return { key, value: new Uint8Array(v.buffer, v.byteOffset, v.byteLength), generation: Number(g) };
}

export class RedisStore implements Store {
  private closed = false;
  private readonly names: KeyNames;

  private constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {
    client.defineCommand('cpStoreCommit', { lua: COMMIT_LUA });
    this.names = { data: (k) => `${prefix}:k:${k}`, index: (i) => `${prefix}:i:${i}` };
  }

  /** Connects; throws `unavailable` when Redis cannot be reached. */
  static async open(opts: RedisStoreOptions): Promise<RedisStore> {
    checkName('prefix', opts.prefix);
    return new RedisStore(await connectRedis(opts), opts.prefix);
  }

  get(key: string): Promise<StoreEntry | undefined> {
    return this.run('get', async () => {
      checkName('key', key);
      return toEntry(key, await this.client.hmgetBuffer(this.names.data(key), 'v', 'g'));
    });
  }

  /** Reads all keys in one MULTI, so the entries are one consistent snapshot. */
  getMany(keys: readonly string[]): Promise<(StoreEntry | undefined)[]> {
    return this.run('getMany', async () => {
      for (const k of keys) checkName('key', k);
      if (keys.length === 0) return [];
      const tx = this.client.multi();
      for (const k of keys) tx.hmgetBuffer(this.names.data(k), 'v', 'g');
      const replies = (await tx.exec()) ?? [];
      return keys.map((k, i) => {
        const [err, reply] = replies[i] ?? [new Error('missing reply in MULTI result')];
        if (err) throw err;
        return toEntry(k, reply as (Buffer | null)[]);
      });
    });
  }

  commit(ops: readonly WriteOp[]): Promise<CommitResult> {
    return this.run('commit', async () => {
      checkOps(ops);
      if (ops.length === 0) return { ok: true, generations: Object.create(null) };
      const { keys, argv } = encodeCommit(ops, this.names);
      const cmd = this.client as unknown as CommitCommand;
      const reply = await cmd.cpStoreCommit(keys.length, ...keys, ...argv);
      return decodeReply(ops, reply);
    });
  }

  list(index: string, opts: ListOptions): Promise<ListPage> {
    return this.run('list', async () => {
      checkListOptions(index, opts);
      const key = this.names.index(index);
      const n = opts.limit + 1; // one extra tells whether another page follows
      const members = opts.reverse
        ? await this.client.zrevrangebylex(
            key,
            opts.after === undefined ? '+' : `(${opts.after}`,
            '-',
            'LIMIT',
            0,
            n,
          )
        : await this.client.zrangebylex(
            key,
            opts.after === undefined ? '-' : `(${opts.after}`,
            '+',
            'LIMIT',
            0,
            n,
          );
      if (members.length <= opts.limit) return { members, next: undefined };
      members.length = opts.limit;
      return { members, next: members[opts.limit - 1] };
    });
  }

  count(index: string): Promise<number> {
    return this.run('count', async () => {
      checkName('index', index);
      return this.client.zcard(this.names.index(index));
    });
  }

  scanKeys(prefix: string): Promise<string[]> {
    return this.run('scanKeys', async () => {
      if (prefix !== '') checkName('prefix', prefix);
      const base = this.names.data('');
      const match = `${escapeGlob(base + prefix)}*`;
      const found = new Set<string>(); // SCAN may return a key more than once
      let cursor = '0';
      do {
        const [next, batch] = await this.client.scan(cursor, 'MATCH', match, 'COUNT', SCAN_BATCH);
        for (const k of batch) found.add(k.slice(base.length));
        cursor = next;
      } while (cursor !== '0');
      return [...found].sort(compareUtf8);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect(); // already down: drop the socket and stop reconnecting
    }
  }

  private async run<T>(what: string, f: () => Promise<T>): Promise<T> {
    if (this.closed) throw new CellplaneError('closed', 'store is closed');
    try {
      return await f();
    } catch (err) {
      throw mapRedisError(what, err);
    }
  }
}

function decodeReply(ops: readonly WriteOp[], reply: number[]): CommitResult {
  if (reply[0] === 0) {
    const conflicts: Conflict[] = [];
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const op = ops[reply[i]!] as { key: string; expectedGeneration: number };
      conflicts.push({ key: op.key, expected: op.expectedGeneration, actual: reply[i + 1]! });
    }
    return { ok: false, conflicts };
  }
  const generations: Record<string, number> = Object.create(null);
  ops.forEach((op, i) => {
    if (op.op === 'put' || op.op === 'delete') generations[op.key] = reply[i + 1]!;
  });
  return { ok: true, generations };
}
