/**
 * Flavors in the Store: the record, its name reservation and one ordered index per sort key
 * (`compute.flavors.by.<key>`, members `<encoded value>\0<seq>\0<flavorid>`), so that Nova's
 * `sort_key`/`sort_dir` + `marker`/`limit` paging is a range read, never a full scan.
 * Every create/update/delete writes the record, the name key and all index members in ONE commit.
 */
import { CellplaneError } from '../../../core/errors.ts';
import type { WriteOp } from '../../../core/ports/store.ts';
import { commitWithRetry, nextValue } from './commit.ts';
import { type ComputeRecords, type FlavorRecord, pad } from './records.ts';

/** Members read per index page while filtering (is_public, minRam, minDisk) a listing. */
export const FLAVOR_SCAN_PAGE = 200;

/** Non-negative numbers as big-endian IEEE-754 hex: byte order = numeric order. */
function num(n: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(n);
  return b.toString('hex');
}

/** Nova's sortable flavor columns → the index encoding of a flavor's value. */
const SORT_KEYS: Readonly<Record<string, (f: FlavorRecord) => string>> = {
  id: (f) => pad(f.seq),
  flavorid: (f) => f.flavorid,
  name: (f) => f.name,
  memory_mb: (f) => num(f.memoryMb),
  vcpus: (f) => num(f.vcpus),
  root_gb: (f) => num(f.rootGb),
  ephemeral_gb: (f) => num(f.ephemeralGb),
  swap: (f) => num(f.swap),
  rxtx_factor: (f) => num(f.rxtxFactor),
  is_public: (f) => (f.isPublic ? '1' : '0'),
  disabled: (f) => (f.disabled ? '1' : '0'),
  // NULL sorts before every string, as in SQL ascending order.
  description: (f) => (f.description === null ? '' : `\u0001${f.description}`),
};
/** Sort keys that share another key's index. */
const ALIASES: Readonly<Record<string, string>> = { created_at: 'id' };

export const FLAVOR_SORT_KEYS: readonly string[] = [
  ...Object.keys(SORT_KEYS),
  ...Object.keys(ALIASES),
].sort();

const indexName = (key: string) => `compute.flavors.by.${key}`;
const member = (key: string, f: FlavorRecord) =>
  `${SORT_KEYS[key]!(f)}\u0000${pad(f.seq)}\u0000${f.flavorid}`;
const idOf = (m: string) => m.slice(m.lastIndexOf('\u0000') + 1);

function indexOps(f: FlavorRecord, op: 'index' | 'unindex'): WriteOp[] {
  return Object.keys(SORT_KEYS).map((k) => ({ op, index: indexName(k), member: member(k, f) }));
}

export const flavorNotFound = (id: string) =>
  new CellplaneError('notFound', `Flavor ${id} could not be found.`);

export interface FlavorListOptions {
  readonly sortKey: string;
  readonly sortDir: 'asc' | 'desc';
  /** 0 answers an empty page. */
  readonly limit: number;
  readonly marker?: string;
  readonly keep: (f: FlavorRecord) => boolean;
}

export type NewFlavor = Omit<FlavorRecord, 'seq' | 'createdAt' | 'updatedAt'>;

export class FlavorStore {
  constructor(
    private readonly rec: ComputeRecords,
    private readonly now: () => Date,
  ) {}

  async get(flavorid: string): Promise<FlavorRecord | undefined> {
    return (await this.rec.flavors.get(flavorid))?.value;
  }

  async require(flavorid: string): Promise<FlavorRecord> {
    const f = await this.get(flavorid);
    if (!f) throw flavorNotFound(flavorid);
    return f;
  }

  /** Creates a flavor; `conflict` when the id or the name is taken. */
  create(input: NewFlavor): Promise<FlavorRecord> {
    const { flavors, flavorNames } = this.rec;
    return commitWithRetry(this.rec, `create flavor ${input.flavorid}`, async () => {
      const [byId, byName] = await Promise.all([flavors.get(input.flavorid), flavorNames.get(input.name)]);
      if (byName) throw new CellplaneError('conflict', `Flavor with name ${input.name} already exists.`);
      if (byId) throw new CellplaneError('conflict', `Flavor with ID ${input.flavorid} already exists.`);
      const seq = await nextValue(this.rec, 'flavor');
      const f: FlavorRecord = {
        ...input,
        seq: seq.value,
        createdAt: this.now().toISOString(),
        updatedAt: null,
      };
      const ops: WriteOp[] = [
        seq.op,
        flavors.put(f.flavorid, f, 0),
        flavorNames.put(f.name, { id: f.flavorid }, 0),
        ...indexOps(f, 'index'),
      ];
      return { ops, result: f };
    });
  }

  /**
   * Replaces a flavor with `change(current)` (description, extra specs, access). The name and
   * id never change, so only the indexes whose value moved are rewritten.
   */
  update(flavorid: string, change: (f: FlavorRecord) => FlavorRecord): Promise<FlavorRecord> {
    return commitWithRetry(this.rec, `update flavor ${flavorid}`, async () => {
      const cur = await this.rec.flavors.get(flavorid);
      if (!cur) throw flavorNotFound(flavorid);
      const next = { ...change(cur.value), updatedAt: this.now().toISOString() };
      const ops: WriteOp[] = [this.rec.flavors.put(flavorid, next, cur.generation)];
      for (const k of Object.keys(SORT_KEYS)) {
        const [a, b] = [member(k, cur.value), member(k, next)];
        if (a !== b)
          ops.push(
            { op: 'unindex', index: indexName(k), member: a },
            { op: 'index', index: indexName(k), member: b },
          );
      }
      return { ops, result: next };
    });
  }

  delete(flavorid: string): Promise<void> {
    return commitWithRetry(this.rec, `delete flavor ${flavorid}`, async () => {
      const cur = await this.rec.flavors.get(flavorid);
      if (!cur) throw flavorNotFound(flavorid);
      const ops: WriteOp[] = [
        this.rec.flavors.delete(flavorid, cur.generation),
        this.rec.flavorNames.delete(cur.value.name),
        ...indexOps(cur.value, 'unindex'),
      ];
      return { ops, result: undefined };
    });
  }

  /** One page in (sortKey, seq) order after the marker flavor; `invalid` for an unknown marker. */
  async list(opts: FlavorListOptions): Promise<FlavorRecord[]> {
    const key = ALIASES[opts.sortKey] ?? opts.sortKey;
    if (!SORT_KEYS[key]) throw new CellplaneError('invalid', `unknown flavor sort key ${opts.sortKey}`);
    let after: string | undefined;
    if (opts.marker !== undefined) {
      const m = await this.get(opts.marker);
      if (!m) throw new CellplaneError('invalid', `marker [${opts.marker}] not found`);
      after = member(key, m);
    }
    const out: FlavorRecord[] = [];
    while (out.length < opts.limit) {
      const page = await this.rec.store.list(indexName(key), {
        limit: FLAVOR_SCAN_PAGE,
        reverse: opts.sortDir === 'desc',
        ...(after === undefined ? {} : { after }),
      });
      const got = await this.rec.flavors.getMany(page.members.map(idOf));
      for (const f of got) if (f && opts.keep(f.value) && out.length < opts.limit) out.push(f.value);
      if (page.next === undefined) break;
      after = page.next;
    }
    return out;
  }
}
