/**
 * Builds a Snapshot from plain host and aggregate records (what a shard keeps from provider
 * events and the API layer's aggregates). Validates as it goes and throws CellplaneError('invalid')
 * naming the record at fault: a snapshot that cannot be trusted must not be scheduled on.
 */

import { CellplaneError } from '../errors.ts';
import { capacity, inventoryProblem, makeInventory } from '../model/inventory.ts';
import {
  DEFAULT_AVAILABILITY_ZONE,
  HostState,
  type HostStateValue,
  type ResourceColumn,
  Snapshot,
} from './snapshot.ts';

export interface ResourceRecord {
  readonly total: number;
  readonly reserved?: number;
  readonly allocationRatio?: number;
  readonly minUnit?: number;
  readonly maxUnit?: number;
  readonly stepSize?: number;
  /** Already allocated on the host. */
  readonly used?: number;
}

export interface HostRecord {
  /** Nova's host (the compute service's host name); unique in the snapshot. */
  readonly name: string;
  /** Hypervisor node name; defaults to `name`. */
  readonly node?: string;
  readonly resources: Readonly<Record<string, ResourceRecord>>;
  readonly traits?: readonly string[];
  /** Aggregate names (must be in the snapshot's aggregate list). */
  readonly aggregates?: readonly string[];
  /** The compute service is administratively disabled. */
  readonly disabled?: boolean;
  /** False when the service missed its heartbeat grace period. Default true. */
  readonly up?: boolean;
  /** Recent failed builds (reset by a successful one, as Nova does). */
  readonly failedBuilds?: number;
  /**
   * The host's provider tree has more than its root: its traits (the union over the tree) then
   * tell which traits it has, not which provider — Placement's unnumbered group needs them on the
   * providers it takes from, so trait requests on such a host go to `Snapshot.treeFit`.
   */
  readonly nested?: boolean;
  readonly metrics?: Readonly<Record<string, number>>;
  /** Server group id → instances of that group on this host. */
  readonly groups?: Readonly<Record<string, number>>;
}

export interface AggregateRecord {
  readonly name: string;
  /** `availability_zone` puts the aggregate's hosts in that zone. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface SnapshotOptions {
  readonly generation?: number;
  readonly defaultAvailabilityZone?: string;
}

/** Resource classes every snapshot has a column for, so weighers never miss one. */
const ALWAYS = ['VCPU', 'MEMORY_MB', 'DISK_GB'];

function invalid(msg: string): CellplaneError {
  return new CellplaneError('invalid', `snapshot: ${msg}`);
}

function resourceColumns(hosts: readonly HostRecord[]): Map<string, ResourceColumn> {
  const n = hosts.length;
  const cols = new Map<string, ResourceColumn>();
  const col = (rc: string): ResourceColumn => {
    let c = cols.get(rc);
    if (!c) {
      const f = () => new Float64Array(n);
      c = {
        rc,
        total: f(),
        capacity: f(),
        used: f(),
        minUnit: f(),
        maxUnit: f(),
        stepSize: f(),
        claimed: f(),
      };
      cols.set(rc, c);
    }
    return c;
  };
  for (const rc of ALWAYS) col(rc);
  hosts.forEach((host, h) => {
    for (const [rc, r] of Object.entries(host.resources)) {
      const inv = makeInventory(r);
      const problem = inventoryProblem(inv);
      if (problem) throw invalid(`host ${host.name} ${rc}: ${problem}`);
      const used = r.used ?? 0;
      if (!Number.isInteger(used) || used < 0)
        throw invalid(`host ${host.name} ${rc}: used must be an integer >= 0`);
      const c = col(rc);
      c.total[h] = inv.total;
      c.capacity[h] = capacity(inv);
      c.used[h] = used;
      c.minUnit[h] = inv.minUnit;
      c.maxUnit[h] = inv.maxUnit;
      c.stepSize[h] = inv.stepSize;
    }
  });
  return cols;
}

function stateOf(host: HostRecord): HostStateValue {
  if (host.up === false) return HostState.down;
  return host.disabled ? HostState.disabled : HostState.up;
}

function aggregateMetadata(aggregates: readonly AggregateRecord[]): ReadonlyMap<string, readonly string[]>[] {
  return aggregates.map(
    (a) =>
      new Map(
        Object.entries(a.metadata ?? {}).map(([k, v]) => [
          k,
          v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0),
        ]),
      ),
  );
}

export function fromHosts(
  hosts: readonly HostRecord[],
  aggregates: readonly AggregateRecord[] = [],
  opts: SnapshotOptions = {},
): Snapshot {
  const n = hosts.length;
  const names = hosts.map((h) => h.name);
  const nodes = hosts.map((h) => h.node ?? h.name);
  for (const [what, list] of [
    ['host', names],
    ['node', nodes],
  ] as const) {
    const seen = new Set<string>();
    for (const x of list) {
      if (!x) throw invalid(`a ${what} name is empty`);
      if (seen.has(x)) throw invalid(`duplicate ${what} name ${x}`);
      seen.add(x);
    }
  }
  const aggIndex = new Map(aggregates.map((a, i) => [a.name, i]));
  if (aggIndex.size !== aggregates.length) throw invalid('duplicate aggregate name');
  const aggMeta = aggregateMetadata(aggregates);

  const traitNames = [...new Set(hosts.flatMap((h) => h.traits ?? []))].sort();
  const traitIndex = new Map(traitNames.map((t, i) => [t, i]));
  const words = (n + 31) >>> 5;
  const traitBits = traitNames.map(() => new Uint32Array(words));

  const defaultZone = opts.defaultAvailabilityZone ?? DEFAULT_AVAILABILITY_ZONE;
  const zoneNames: string[] = [];
  const zoneIndex = new Map<string, number>();
  const zone = new Int32Array(n);
  const aggStart = new Int32Array(n + 1);
  const hostAggs: number[] = [];
  const state = new Uint8Array(n);
  const failedBuilds = new Uint32Array(n);
  const nested = new Uint8Array(n);
  const metrics = new Map<string, Float64Array>();
  const groups = new Map<string, Map<number, number>>();
  const hostClass = new Int32Array(n);
  const classKeys = new Map<string, number>();

  hosts.forEach((host, h) => {
    const aggs = [...new Set(host.aggregates ?? [])].map((a) => {
      const i = aggIndex.get(a);
      if (i === undefined) throw invalid(`host ${host.name} is in unknown aggregate ${a}`);
      return i;
    });
    aggs.sort((a, b) => a - b);
    aggStart[h] = hostAggs.length;
    hostAggs.push(...aggs);
    const zones = aggs.flatMap((a) => aggMeta[a]!.get('availability_zone') ?? []);
    if (new Set(zones).size > 1) throw invalid(`host ${host.name} is in several availability zones`);
    const z = zones[0] ?? defaultZone;
    if (!zoneIndex.has(z)) zoneIndex.set(z, zoneNames.push(z) - 1);
    zone[h] = zoneIndex.get(z)!;
    const tids = [...new Set(host.traits ?? [])].map((t) => traitIndex.get(t)!).sort((a, b) => a - b);
    for (const t of tids) traitBits[t]![h >>> 5]! |= 1 << (h & 31);
    state[h] = stateOf(host);
    const fb = host.failedBuilds ?? 0;
    if (!Number.isInteger(fb) || fb < 0)
      throw invalid(`host ${host.name}: failedBuilds must be an integer >= 0`);
    failedBuilds[h] = fb;
    nested[h] = host.nested ? 1 : 0;
    for (const [m, v] of Object.entries(host.metrics ?? {})) {
      if (!Number.isFinite(v)) throw invalid(`host ${host.name}: metric ${m} must be finite`);
      if (!metrics.has(m)) metrics.set(m, new Float64Array(n).fill(Number.NaN));
      metrics.get(m)![h] = v;
    }
    for (const [g, count] of Object.entries(host.groups ?? {})) {
      if (!Number.isInteger(count) || count < 0)
        throw invalid(`host ${host.name}: group ${g} count must be >= 0`);
      if (count === 0) continue;
      if (!groups.has(g)) groups.set(g, new Map());
      groups.get(g)!.set(h, count);
    }
    // The class key holds exactly what class-cacheable filters may read.
    const key = `${state[h]}|${nested[h]}|${tids.join(',')}|${aggs.join(',')}`;
    if (!classKeys.has(key)) classKeys.set(key, classKeys.size);
    hostClass[h] = classKeys.get(key)!;
  });
  aggStart[n] = hostAggs.length;

  return new Snapshot({
    generation: opts.generation ?? 0,
    names,
    nodes,
    resources: resourceColumns(hosts),
    state,
    failedBuilds,
    nested,
    metrics,
    traitNames,
    traitBits,
    aggregateNames: aggregates.map((a) => a.name),
    aggregateMetadata: aggMeta,
    aggStart,
    hostAggregates: Int32Array.from(hostAggs),
    zoneNames,
    zone,
    hostClass,
    classCount: classKeys.size,
    groups,
  });
}
