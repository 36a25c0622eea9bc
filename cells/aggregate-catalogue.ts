/**
 * The region's host aggregates as the schedulers see them: one document in the coordinator
 * (`aggregates`: every aggregate's uuid, hosts and metadata, plus the default zone) that the
 * compute API publishes after each aggregate change and every scheduler shard watches — a host
 * moved between aggregates or zones counts at the shard's next select, without polling.
 *
 * The API's store stays the source of truth (its aggregate routes check and commit there); each
 * commit bumps a version there, and a document is written only over an older one
 * (`publishAggregates`, a CAS loop), so concurrent API replicas converge on the newest.
 * Aggregates are few and change rarely (operator actions): one small document is cheaper to
 * watch than a key per aggregate.
 */
import { decode, defineMessage, encode, type MessageType } from '../core/codec/envelope.ts';
import { asObject, asRecord, asString, int, list, string, strings } from '../core/codec/fields.ts';
import { CellplaneError } from '../core/errors.ts';
import type { Coordinator, Watch } from '../core/ports/coordinator.ts';

export const AGGREGATES_KEY = 'aggregates';
/** CAS attempts of one publish before it gives up (another replica keeps publishing newer ones). */
export const MAX_PUBLISH_ATTEMPTS = 8;
/**
 * Largest document published: etcd refuses requests over 1.5 MiB by default (--max-request-bytes).
 * About 50,000 host names of 20 characters; a region past it needs a key per aggregate.
 */
export const MAX_CATALOGUE_BYTES = 1024 * 1024;

export interface CatalogueAggregate {
  readonly uuid: string;
  readonly name: string;
  /** Compute host names (Nova's host aggregate members). */
  readonly hosts: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
}

export interface AggregateCatalogueDoc {
  /** Grows with every aggregate change in the API's store. */
  readonly version: number;
  /** Zone of hosts in no zoned aggregate (Nova's default_availability_zone). */
  readonly defaultZone: string;
  readonly aggregates: readonly CatalogueAggregate[];
}

const T = 'cp.cells.aggregates';
export const AggregateCatalogueMessage: MessageType<AggregateCatalogueDoc> = defineMessage({
  type: T,
  major: 1,
  minor: 0,
  parse(body) {
    const o = asObject(body, T);
    return {
      version: int(o, 'version', T),
      defaultZone: string(o, 'defaultZone', T),
      aggregates: list(o, 'aggregates', T, (v: unknown, p: string) => {
        const a = asObject(v, p);
        return {
          uuid: string(a, 'uuid', p),
          name: string(a, 'name', p),
          hosts: strings(a, 'hosts', p),
          metadata: asRecord(a.metadata, `${p}.metadata`, asString),
        };
      }),
    };
  },
});

/**
 * Writes `doc` unless the coordinator already holds a version at least as new. Returns true when
 * the coordinator now holds `doc`'s version or a newer one, false when every attempt lost a race
 * (other replicas are publishing: try again later).
 */
export async function publishAggregates(coord: Coordinator, doc: AggregateCatalogueDoc): Promise<boolean> {
  const bytes = encode(AggregateCatalogueMessage, doc);
  if (bytes.length > MAX_CATALOGUE_BYTES)
    throw new CellplaneError(
      'invalid',
      `the aggregate catalogue (${doc.aggregates.length} aggregates, ${bytes.length} bytes) exceeds ${MAX_CATALOGUE_BYTES} bytes, etcd's request limit with headroom: the schedulers keep the last one published`,
    );
  for (let i = 0; i < MAX_PUBLISH_ATTEMPTS; i++) {
    const cur = await coord.get(AGGREGATES_KEY);
    if (cur && versionOf(cur.value) >= doc.version) return true;
    const r = await coord.cas(AGGREGATES_KEY, bytes, cur?.modRevision ?? 0);
    if (r.ok) return true;
  }
  return false;
}

/** The version of a stored document; an unreadable one counts as oldest (it is replaced). */
function versionOf(value: Uint8Array): number {
  try {
    return decode(AggregateCatalogueMessage, value).version;
  } catch {
    return -1;
  }
}

/** A host in aggregates of two different zones (the API never commits that; a torn read can show it). */
export function zoneConflict(doc: AggregateCatalogueDoc): string | undefined {
  const zoneOf = new Map<string, string>();
  for (const a of doc.aggregates) {
    const z = a.metadata.availability_zone;
    if (z === undefined) continue;
    for (const h of a.hosts) {
      const seen = zoneOf.get(h);
      if (seen !== undefined && seen !== z) return h;
      zoneOf.set(h, z);
    }
  }
  return undefined;
}

export const EMPTY_CATALOGUE: AggregateCatalogueDoc = Object.freeze({
  version: 0,
  defaultZone: 'nova',
  aggregates: Object.freeze([]),
});

/**
 * The latest document, followed by a watch (opened before the first read, so no change falls in
 * between). Reads are synchronous. An unreadable document (a newer major version) is skipped and
 * counted; the last readable one stays.
 */
export class AggregateCatalogueView {
  private doc: AggregateCatalogueDoc = EMPTY_CATALOGUE;
  private revision = 0;
  private byHost = new Map<string, string[]>();
  private watch: Watch | undefined;
  private unreadableCount = 0;
  private skippedCount = 0;

  private constructor() {}

  static async open(coord: Coordinator): Promise<AggregateCatalogueView> {
    const v = new AggregateCatalogueView();
    v.watch = await coord.watch(AGGREGATES_KEY, (ev) => {
      if (ev.key === AGGREGATES_KEY && ev.type === 'put') v.take(ev.value, ev.revision);
    });
    try {
      const cur = await coord.get(AGGREGATES_KEY);
      if (cur) v.take(cur.value, cur.modRevision);
    } catch (err) {
      await v.close();
      throw err;
    }
    return v;
  }

  /** The document's version (0 before any was published). */
  get version(): number {
    return this.doc.version;
  }

  get defaultZone(): string {
    return this.doc.defaultZone;
  }

  get unreadable(): number {
    return this.unreadableCount;
  }

  /** Documents not taken because they put a host in two zones (a torn read; a newer one follows). */
  get skipped(): number {
    return this.skippedCount;
  }

  aggregates(): readonly CatalogueAggregate[] {
    return this.doc.aggregates;
  }

  /** Uuids of the aggregates host `name` is a member of. */
  of(host: string): readonly string[] {
    return this.byHost.get(host) ?? [];
  }

  /** Hosts in zone `zone` (by their aggregates' `availability_zone`); undefined for the default zone. */
  hostsInZone(zone: string): ReadonlySet<string> | undefined {
    if (zone === this.doc.defaultZone) return undefined;
    const out = new Set<string>();
    for (const a of this.doc.aggregates)
      if (a.metadata.availability_zone === zone) for (const h of a.hosts) out.add(h);
    return out;
  }

  async close(): Promise<void> {
    await this.watch?.cancel();
    this.watch = undefined;
  }

  private take(value: Uint8Array, revision: number): void {
    if (revision <= this.revision) return;
    let doc: AggregateCatalogueDoc;
    try {
      doc = decode(AggregateCatalogueMessage, value);
    } catch {
      this.unreadableCount++;
      return;
    }
    if (doc.version < this.doc.version) return;
    if (zoneConflict(doc)) {
      // A publisher's read raced a host's move between zones (its reads span several records);
      // the mover's own publish, newer, follows. Keep the last consistent document meanwhile.
      this.skippedCount++;
      return;
    }
    this.revision = revision;
    this.doc = doc;
    const byHost = new Map<string, string[]>();
    for (const a of doc.aggregates)
      for (const h of a.hosts) {
        const l = byHost.get(h);
        if (l) l.push(a.uuid);
        else byHost.set(h, [a.uuid]);
      }
    this.byHost = byHost;
  }
}
