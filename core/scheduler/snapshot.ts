/**
 * An immutable per-cycle view of a shard's hosts, struct-of-arrays: one typed array per column,
 * indexed by host (0..n-1), so a scan touches contiguous memory and the arrays can be shared with
 * scoring workers. Built by `fromHosts()` (snapshot-build.ts).
 *
 * The only mutable part is the *assumption overlay*: `assume(host, claim)` books a placement made
 * earlier in this cycle (the next instance of a batch, or a request whose claim is still in
 * flight) so later placements see it; `forget` undoes exactly one assume (Kubernetes' scheduler
 * cache assume/forget). The base columns never change.
 *
 * Host classes: hosts whose static attributes (service state, traits, aggregates and therefore
 * zone and aggregate metadata) are identical share a class id. A class-cacheable filter may read
 * only those attributes, so its answer for one host holds for the whole class.
 */

import { CellplaneError } from '../errors.ts';
import type { RequestSpec, ResourceAmount } from './request.ts';

/** Service state of a host: why the compute filter rejects it. */
export const HostState = { up: 0, disabled: 1, down: 2 } as const;
export type HostStateValue = (typeof HostState)[keyof typeof HostState];

/** Nova's default_availability_zone: the zone of hosts in no zoned aggregate. */
export const DEFAULT_AVAILABILITY_ZONE = 'nova';

/** One resource class across all hosts. capacity = trunc((total - reserved) * allocation_ratio). */
export interface ResourceColumn {
  readonly rc: string;
  readonly total: Float64Array;
  readonly capacity: Float64Array;
  readonly used: Float64Array;
  readonly minUnit: Float64Array;
  readonly maxUnit: Float64Array;
  readonly stepSize: Float64Array;
  /** Assumed by this cycle's placements (the overlay). */
  readonly claimed: Float64Array;
}

/** What one placement books on a host: its resources and, if any, its server group membership. */
export interface Claim {
  readonly resources: readonly ResourceAmount[];
  readonly groupId?: string | null;
}

export interface SnapshotColumns {
  readonly generation: number;
  readonly names: readonly string[];
  readonly nodes: readonly string[];
  readonly resources: ReadonlyMap<string, ResourceColumn>;
  readonly state: Uint8Array;
  readonly failedBuilds: Uint32Array;
  /** 1 where the host's tree has nested providers (HostRecord.nested). */
  readonly nested: Uint8Array;
  readonly metrics: ReadonlyMap<string, Float64Array>;
  readonly traitNames: readonly string[];
  /** Per trait, a bitset over hosts (bit h of word h>>>5). */
  readonly traitBits: readonly Uint32Array[];
  readonly aggregateNames: readonly string[];
  /** Per aggregate: metadata key → values (comma-separated values split, as Nova does). */
  readonly aggregateMetadata: readonly ReadonlyMap<string, readonly string[]>[];
  /** CSR: host h is in aggregates hostAggregates[aggStart[h] .. aggStart[h+1]). */
  readonly aggStart: Int32Array;
  readonly hostAggregates: Int32Array;
  readonly zoneNames: readonly string[];
  readonly zone: Int32Array;
  readonly hostClass: Int32Array;
  readonly classCount: number;
  /** Server group id → host → instances of the group on that host. Sparse: most hosts have none. */
  readonly groups: ReadonlyMap<string, ReadonlyMap<number, number>>;
}

/**
 * Whether host `h`'s provider tree can hold `request` as Placement would answer it (granular
 * groups: one provider per group, group_policy; traits on the providers taken from): set by the
 * holder of the trees (the shard).
 */
export type TreeFit = (h: number, request: RequestSpec) => boolean;

export class Snapshot {
  readonly size: number;
  /** The trees' answer for what the columns cannot tell (granular groups); unset: none known. */
  treeFit: TreeFit | undefined;

  /**
   * Whether the columns cannot answer `request` on host `h` exactly and the tree must: granular
   * groups anywhere, traits asked of a host with nested providers.
   */
  needsTree(h: number, request: RequestSpec): boolean {
    if (request.granular !== null) return true;
    const traits = request.requiredTraits.length > 0 || request.forbiddenTraits.length > 0;
    return traits && this.cols.nested[h] === 1;
  }
  private readonly byName: Map<string, number>;
  private readonly byNode: Map<string, number>;
  private readonly traitIndex: Map<string, number>;
  private readonly zoneIndex: Map<string, number>;
  /** Overlay: group id → host → instances assumed this cycle. */
  private readonly assumedGroups = new Map<string, Map<number, number>>();

  constructor(readonly cols: SnapshotColumns) {
    this.size = cols.names.length;
    this.byName = new Map(cols.names.map((n, i) => [n, i]));
    this.byNode = new Map(cols.nodes.map((n, i) => [n, i]));
    this.traitIndex = new Map(cols.traitNames.map((t, i) => [t, i]));
    this.zoneIndex = new Map(cols.zoneNames.map((z, i) => [z, i]));
  }

  get generation(): number {
    return this.cols.generation;
  }
  name(h: number): string {
    return this.cols.names[h]!;
  }
  node(h: number): string {
    return this.cols.nodes[h]!;
  }
  indexOfHost(name: string): number | undefined {
    return this.byName.get(name);
  }
  indexOfNode(node: string): number | undefined {
    return this.byNode.get(node);
  }
  column(rc: string): ResourceColumn | undefined {
    return this.cols.resources.get(rc);
  }
  /** Free amount of `rc` on `h` after usage and this cycle's assumptions (0 when the host has none). */
  free(rc: string, h: number): number {
    const c = this.cols.resources.get(rc);
    return c ? c.capacity[h]! - c.used[h]! - c.claimed[h]! : 0;
  }
  /** Trait index for `name`, or -1 when no host has it. */
  traitId(name: string): number {
    return this.traitIndex.get(name) ?? -1;
  }
  hasTrait(h: number, traitId: number): boolean {
    const bits = this.cols.traitBits[traitId];
    return bits !== undefined && (bits[h >>> 5]! & (1 << (h & 31))) !== 0;
  }
  /** Zone index for `name`, or -1 when no host is in it. */
  zoneId(name: string): number {
    return this.zoneIndex.get(name) ?? -1;
  }
  classOf(h: number): number {
    return this.cols.hostClass[h]!;
  }
  /** Aggregate indices of host h. */
  aggregatesOf(h: number): Int32Array {
    return this.cols.hostAggregates.subarray(this.cols.aggStart[h]!, this.cols.aggStart[h + 1]!);
  }
  /** Instances of group `groupId` on host h, including this cycle's assumptions. */
  groupCount(groupId: string, h: number): number {
    return (this.cols.groups.get(groupId)?.get(h) ?? 0) + (this.assumedGroups.get(groupId)?.get(h) ?? 0);
  }
  /** Hosts holding at least one instance of the group (assumptions included), ascending. */
  groupHosts(groupId: string): number[] {
    const out = new Set<number>();
    for (const m of [this.cols.groups.get(groupId), this.assumedGroups.get(groupId)]) {
      if (m) for (const [h, n] of m) if (n > 0) out.add(h);
    }
    return [...out].sort((a, b) => a - b);
  }

  /** Books `claim` on host h for the rest of the cycle. Must be undone by exactly one `forget`. */
  assume(h: number, claim: Claim): void {
    this.checkHost(h);
    for (const { rc, amount } of claim.resources) {
      const c = this.cols.resources.get(rc);
      if (!c) throw new CellplaneError('invalid', `assume: no host of this snapshot has ${rc}`);
      c.claimed[h] = c.claimed[h]! + amount;
    }
    if (claim.groupId) bump(this.assumedGroups, claim.groupId, h, 1);
  }

  /** Undoes one earlier `assume(h, claim)`. Forgetting what was never assumed is a bug. */
  forget(h: number, claim: Claim): void {
    this.checkHost(h);
    for (const { rc, amount } of claim.resources) {
      const c = this.cols.resources.get(rc);
      if (!c || c.claimed[h]! < amount)
        throw new CellplaneError('invalid', `forget: ${rc} on host ${h} was not assumed`);
    }
    if (claim.groupId && (this.assumedGroups.get(claim.groupId)?.get(h) ?? 0) < 1) {
      throw new CellplaneError('invalid', `forget: group ${claim.groupId} on host ${h} was not assumed`);
    }
    for (const { rc, amount } of claim.resources) {
      const c = this.cols.resources.get(rc)!;
      c.claimed[h] = c.claimed[h]! - amount;
    }
    if (claim.groupId) bump(this.assumedGroups, claim.groupId, h, -1);
  }

  private checkHost(h: number): void {
    if (!Number.isInteger(h) || h < 0 || h >= this.size) {
      throw new CellplaneError('invalid', `host index ${h} is outside 0..${this.size - 1}`);
    }
  }
}

function bump(m: Map<string, Map<number, number>>, g: string, h: number, by: number): void {
  let per = m.get(g);
  if (!per) {
    per = new Map();
    m.set(g, per);
  }
  const n = (per.get(h) ?? 0) + by;
  if (n === 0) per.delete(h);
  else per.set(h, n);
  if (per.size === 0) m.delete(g);
}
