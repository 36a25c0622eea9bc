/**
 * The Coordinator's KV operations on etcd, for keys under one root (`<prefix>/kv/` for the
 * caller's keys, `<prefix>/election/<name>/` for an election's candidates); callers see
 * keys relative to the root. Revisions are etcd's own.
 */
import type { Etcd3, IKeyValue, IWatchResponse } from 'etcd3';
import { CellplaneError } from '../../errors.ts';
import type { CasResult, KvEntry, Lease, Watch, WatchEvent } from '../../ports/coordinator.ts';
import { fromEtcdError } from './errors.ts';

const toBuffer = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/**
 * A read that etcd refused as `unavailable` is asked again, this many times in all, after
 * READ_RETRY_BASE_MS, doubling: a member that lost its leader answers reads with "leader
 * changed" / "no leader" until the others elect a new one (~0.25–2 s), and a read is safe to
 * repeat. Writes are not repeated here: one refused so may have been applied (their callers
 * use compare-and-set and read back).
 */
export const READ_ATTEMPTS = 6;
export const READ_RETRY_BASE_MS = 50;

export class EtcdKeyspace {
  constructor(
    private readonly client: Etcd3,
    private readonly root: string,
    /** Called before every operation; throws when the coordinator is closed. */
    private readonly check: () => void,
    private readonly track: (w: Watch) => () => void,
  ) {}

  async get(key: string): Promise<KvEntry | undefined> {
    const res = await this.read('get', () => this.client.get(this.root + key).exec());
    const kv = res.kvs[0];
    return kv && this.entry(kv);
  }

  async put(key: string, value: Uint8Array, opts?: { lease?: Lease }): Promise<number> {
    const res = await this.run('put', () => {
      const b = this.client.put(this.root + key).value(toBuffer(value));
      return (opts?.lease ? b.lease(opts.lease.id) : b).exec();
    });
    return Number(res.header.revision);
  }

  async cas(key: string, value: Uint8Array, expected: number, opts?: { lease?: Lease }): Promise<CasResult> {
    const k = this.root + key;
    const res = await this.run('cas', () => {
      const put = this.client.put(k).value(toBuffer(value));
      return this.client
        .if(k, 'Mod', '==', expected)
        .then(opts?.lease ? put.lease(opts.lease.id) : put)
        .else(this.client.get(k))
        .commit();
    });
    if (res.succeeded) return { ok: true, revision: Number(res.header.revision) };
    const kv = res.responses[0]?.response_range?.kvs[0];
    return { ok: false, current: kv && this.entry(kv) };
  }

  async delete(key: string, opts?: { expectedModRevision?: number }): Promise<boolean> {
    const k = this.root + key;
    const expected = opts?.expectedModRevision;
    if (expected === undefined) {
      const res = await this.run('delete', () => this.client.delete().key(k).exec());
      return Number(res.deleted) > 0;
    }
    if (expected === 0) return false; // "must not exist": there is nothing to delete
    const res = await this.run('delete', () =>
      this.client.if(k, 'Mod', '==', expected).then(this.client.delete().key(k)).commit(),
    );
    return res.succeeded && Number(res.responses[0]?.response_delete_range?.deleted ?? 0) > 0;
  }

  async list(prefix: string): Promise<KvEntry[]> {
    const res = await this.read('list', () =>
      this.client
        .getAll()
        .prefix(this.root + prefix)
        .sort('Key', 'Ascend')
        .exec(),
    );
    return res.kvs.map((kv) => this.entry(kv));
  }

  async watch(
    prefix: string,
    cb: (ev: WatchEvent) => void,
    opts?: { fromRevision?: number },
  ): Promise<Watch> {
    const watcher = await this.run('watch', () => {
      const b = this.client.watch().prefix(this.root + prefix);
      return (opts?.fromRevision ? b.startRevision(String(opts.fromRevision)) : b).create();
    });
    let active = true;
    watcher.on('data', (res: IWatchResponse) => {
      for (const e of res.events) {
        if (!active) return;
        const key = e.kv.key.toString().slice(this.root.length);
        const revision = Number(e.kv.mod_revision);
        const ev: WatchEvent =
          e.type === 'Delete'
            ? { type: 'delete', key, revision }
            : { type: 'put', key, value: Uint8Array.from(e.kv.value), revision };
        try {
          cb(ev);
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    });
    // The watcher reconnects and resumes by itself; errors here are transient.
    watcher.on('error', () => {});
    const watch: Watch = {
      cancel: async () => {
        if (!active) return;
        active = false;
        untrack();
        await watcher.cancel().catch(() => {});
      },
    };
    const untrack = this.track(watch);
    return watch;
  }

  private entry(kv: IKeyValue): KvEntry {
    const lease = kv.lease && kv.lease !== '0' ? { leaseId: String(kv.lease) } : {};
    return {
      key: kv.key.toString().slice(this.root.length),
      value: Uint8Array.from(kv.value),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
      version: Number(kv.version),
      ...lease,
    };
  }

  /** `run` for reads: repeated while etcd answers `unavailable` (see READ_ATTEMPTS). */
  private async read<T>(what: string, op: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.run(what, op);
      } catch (err) {
        const e = err as CellplaneError;
        if (e.code !== 'unavailable' || attempt >= READ_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, READ_RETRY_BASE_MS * 2 ** (attempt - 1)));
      }
    }
  }

  private async run<T>(what: string, op: () => Promise<T>): Promise<T> {
    this.check();
    try {
      return await op();
    } catch (err) {
      throw fromEtcdError(err, what);
    }
  }
}

export function checkPrefix(prefix: string): string {
  const p = prefix.replace(/\/+$/, '');
  if (p.length === 0) throw new CellplaneError('invalid', 'etcd coordinator needs a non-empty key prefix');
  return p;
}
