/**
 * Host aggregates in the Store: one record each (hosts and metadata inside), a name reservation,
 * a counter for Nova's integer ids and an ordered index for listing. Availability zones are the
 * `availability_zone` metadata key; a host may sit in several aggregates but in one zone only
 * (Nova's AggregateAPI.is_safe_to_update_az). Such a check reads other aggregates, so their
 * generations are checked in the same commit: a concurrent change to them makes us re-check.
 */
import { randomUUID } from 'node:crypto';
import type { AggregateCatalogueDoc } from '../../../cells/aggregate-catalogue.ts';
import { CellplaneError } from '../../../core/errors.ts';
import type { WriteOp } from '../../../core/ports/store.ts';
import { indexPages, type Versioned } from '../../../core/stores/records.ts';
import { commitWithRetry, nextValue } from './commit.ts';
import { type AggregateRecord, type ComputeRecords, pad } from './records.ts';

/** Aggregates read per index page. */
export const AGGREGATE_PAGE = 500;
export const AZ_KEY = 'availability_zone';
const INDEX = 'compute.aggregates';
/** Counter bumped by every aggregate commit: the version of the schedulers' catalogue. */
const VERSION = 'aggregates.version';

export type AggregateAction = 'add' | 'update' | 'updateMeta';

const notFound = (id: number) => new CellplaneError('notFound', `Aggregate ${id} could not be found.`);

/** Python's repr of a list of strings, as Nova prints the conflicting zones. */
const pyList = (xs: readonly string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

function refuse(action: AggregateAction, id: number, reason: string): CellplaneError {
  if (action === 'add')
    return new CellplaneError('conflict', `Cannot add host to aggregate ${id}. Reason: ${reason}.`);
  if (action === 'update')
    return new CellplaneError('invalid', `Cannot update aggregate ${id}. Reason: ${reason}.`);
  return new CellplaneError('invalid', `Cannot update metadata of aggregate ${id}. Reason: ${reason}.`);
}

/** A metadata change: null values delete keys (Nova's Aggregate.update_metadata merges). */
export function mergeMetadata(
  cur: Readonly<Record<string, string>>,
  updates: Readonly<Record<string, string | null>>,
): Record<string, string> {
  const out: Record<string, string> = { ...cur };
  for (const [k, v] of Object.entries(updates)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

export class AggregateStore {
  constructor(
    private readonly rec: ComputeRecords,
    private readonly now: () => Date,
    private readonly newUuid: () => string = randomUUID,
  ) {}

  async get(id: number): Promise<AggregateRecord | undefined> {
    return (await this.rec.aggregates.get(String(id)))?.value;
  }

  async require(id: number): Promise<AggregateRecord> {
    const a = await this.get(id);
    if (!a) throw notFound(id);
    return a;
  }

  /**
   * The schedulers' view (cells/aggregate-catalogue.ts): the version counter read first, so the
   * aggregates read after it are at least that new.
   */
  async catalogue(defaultZone: string): Promise<AggregateCatalogueDoc> {
    const version = (await this.rec.counters.get(VERSION))?.value.value ?? 0;
    const aggregates = (await this.all()).map((a) => ({
      uuid: a.uuid,
      name: a.name,
      hosts: [...a.hosts],
      metadata: { ...a.metadata },
    }));
    return { version, defaultZone, aggregates };
  }

  /** Every aggregate, by id. */
  async all(): Promise<AggregateRecord[]> {
    return (await this.allVersioned()).map((v) => v.value);
  }

  private async allVersioned(): Promise<Versioned<AggregateRecord>[]> {
    const out: Versioned<AggregateRecord>[] = [];
    for await (const members of indexPages(this.rec.store, INDEX, AGGREGATE_PAGE)) {
      const got = await this.rec.aggregates.getMany(members.map((m) => String(Number(m))));
      for (const a of got) if (a) out.push(a);
    }
    return out;
  }

  create(name: string, zone: string | undefined): Promise<AggregateRecord> {
    return commitWithRetry(this.rec, `create aggregate ${name}`, async () => {
      if (await this.rec.aggregateNames.get(name))
        throw new CellplaneError('conflict', `Aggregate ${name} already exists.`);
      const seq = await nextValue(this.rec, 'aggregate');
      const version = await nextValue(this.rec, VERSION);
      const a: AggregateRecord = {
        id: seq.value,
        uuid: this.newUuid(),
        name,
        hosts: [],
        metadata: zone ? { [AZ_KEY]: zone } : {},
        createdAt: this.now().toISOString(),
        updatedAt: null,
      };
      const ops: WriteOp[] = [
        seq.op,
        version.op,
        this.rec.aggregates.put(String(a.id), a, 0),
        this.rec.aggregateNames.put(name, { id: String(a.id) }, 0),
        { op: 'index', index: INDEX, member: pad(a.id) },
      ];
      return { ops, result: a };
    });
  }

  delete(id: number): Promise<void> {
    return commitWithRetry(this.rec, `delete aggregate ${id}`, async () => {
      const cur = await this.rec.aggregates.get(String(id));
      if (!cur) throw notFound(id);
      if (cur.value.hosts.length > 0)
        throw new CellplaneError(
          'invalid',
          `Cannot delete aggregate ${id}. Reason: Host aggregate is not empty.`,
        );
      const ops: WriteOp[] = [
        (await nextValue(this.rec, VERSION)).op,
        this.rec.aggregates.delete(String(id), cur.generation),
        this.rec.aggregateNames.delete(cur.value.name),
        { op: 'unindex', index: INDEX, member: pad(id) },
      ];
      return { ops, result: undefined };
    });
  }

  /** Renames and/or moves the aggregate to another zone (PUT /os-aggregates/{id}). */
  update(id: number, change: { name?: string; zone?: string | null }): Promise<AggregateRecord> {
    return this.mutate(id, 'update', async (cur, ops) => {
      let next = cur;
      if (change.name !== undefined && change.name !== cur.name) {
        if (await this.rec.aggregateNames.get(change.name))
          throw new CellplaneError('conflict', `Aggregate ${change.name} already exists.`);
        ops.push(
          this.rec.aggregateNames.delete(cur.name),
          this.rec.aggregateNames.put(change.name, { id: String(id) }, 0),
        );
        next = { ...next, name: change.name };
      }
      if (change.zone !== undefined) {
        const meta = { [AZ_KEY]: change.zone };
        await this.checkZone(next, meta, next.hosts, 'update', ops);
        next = { ...next, metadata: mergeMetadata(next.metadata, meta) };
      }
      return next;
    });
  }

  setMetadata(id: number, updates: Readonly<Record<string, string | null>>): Promise<AggregateRecord> {
    return this.mutate(id, 'updateMeta', async (cur, ops) => {
      await this.checkZone(cur, updates, cur.hosts, 'updateMeta', ops);
      return { ...cur, metadata: mergeMetadata(cur.metadata, updates) };
    });
  }

  addHost(id: number, host: string): Promise<AggregateRecord> {
    return this.mutate(id, 'add', async (cur, ops) => {
      if (cur.hosts.includes(host))
        throw new CellplaneError('conflict', `Aggregate ${id} already has host ${host}.`);
      await this.checkZone(cur, cur.metadata, [host], 'add', ops);
      return { ...cur, hosts: [...cur.hosts, host] };
    });
  }

  /** `notFound` when the host is not in the aggregate. */
  removeHost(id: number, host: string): Promise<AggregateRecord> {
    return this.mutate(id, 'update', async (cur) => {
      if (!cur.hosts.includes(host))
        throw new CellplaneError('notFound', `Aggregate ${id} has no host ${host}.`);
      return { ...cur, hosts: cur.hosts.filter((h) => h !== host) };
    });
  }

  private mutate(
    id: number,
    what: AggregateAction,
    change: (cur: AggregateRecord, ops: WriteOp[]) => Promise<AggregateRecord>,
  ): Promise<AggregateRecord> {
    return commitWithRetry(this.rec, `${what} aggregate ${id}`, async () => {
      const cur = await this.rec.aggregates.get(String(id));
      if (!cur) throw notFound(id);
      const ops: WriteOp[] = [];
      const next = { ...(await change(cur.value, ops)), updatedAt: this.now().toISOString() };
      ops.unshift(
        this.rec.aggregates.put(String(id), next, cur.generation),
        (await nextValue(this.rec, VERSION)).op,
      );
      return { ops, result: next };
    });
  }

  /**
   * Nova's is_safe_to_update_az: a zone must be non-empty, and none of `hosts` may already be in
   * another aggregate of a different zone. Pushes a generation check per aggregate consulted.
   */
  private async checkZone(
    agg: AggregateRecord,
    meta: Readonly<Record<string, string | null>>,
    hosts: readonly string[],
    action: AggregateAction,
    ops: WriteOp[],
  ): Promise<void> {
    if (!Object.hasOwn(meta, AZ_KEY)) return;
    const zone = meta[AZ_KEY];
    if (!zone)
      throw refuse(action, agg.id, `Aggregate ${agg.name} does not support empty named availability zone`);
    if (hosts.length === 0) return;
    const conflicting: string[] = [];
    for (const other of await this.allVersioned()) {
      const az = other.value.metadata[AZ_KEY];
      if (other.value.id === agg.id || az === undefined) continue;
      if (!other.value.hosts.some((h) => hosts.includes(h))) continue;
      ops.push(this.rec.aggregates.check(String(other.value.id), other.generation));
      if (az !== zone) conflicting.push(az);
    }
    if (conflicting.length > 0)
      throw refuse(
        action,
        agg.id,
        `One or more hosts already in availability zone(s) ${pyList(conflicting)}`,
      );
  }
}
