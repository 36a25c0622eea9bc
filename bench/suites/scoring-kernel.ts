/**
 * The scoring suite's inputs and its kernel: core/scheduler's weighers (ram, cpu, disk,
 * build-failure: free capacity and failed builds read from the snapshot's columns) scoring every
 * host of a seeded fleet for one request, cut into two passes so that a host range can be scored
 * apart from the rest and the parts merged:
 *   1. `weightRange`: per weigher, the min and max raw weight over a range of hosts;
 *   2. `topInRange`: with the min/max over ALL hosts, each host's score (core/scheduler/score.ts's
 *      normalisation: integers 0..100, Σ multiplier × score in weigher order) and the range's best k;
 *   3. `mergeTop`: the best k of the parts.
 * Normalisation needs the min/max over every scored host, so a split costs two passes (two round
 * trips to workers). The answer equals `rank()`'s first k exactly (same arithmetic, ties to the
 * lower host index = earlier in discovery order): `rankTop` computes that to check against.
 *
 * A request picks one of WEIGHING_PROFILES (spread, pack, …: the same weighers with different
 * multipliers, as scheduler profiles differ) so consecutive requests get different answers.
 */
import { makeRng } from '../../core/rng.ts';
import { buildProfile, DEFAULT_ALTERNATES, type ProfileSpec } from '../../core/scheduler/profile.ts';
import { parseNovaRequest } from '../../core/scheduler/request-parse.ts';
import { MAX_SCORE, type PreparedWeighing, rank } from '../../core/scheduler/score.ts';
import { Snapshot, type SnapshotColumns } from '../../core/scheduler/snapshot.ts';
import { fromHosts, type HostRecord } from '../../core/scheduler/snapshot-build.ts';

export const SCORING_SEED = 'bench-scoring-1';
/** The best hosts a placement keeps: the selected one and its alternates. */
export const TOP_K = 1 + DEFAULT_ALTERNATES;
/** Share of hosts with recent failed builds (the build-failure weigher sinks them). */
const FAILED_SHARE = 0.02;

const weighers = (ram: number, cpu: number, disk: number) => [
  { name: 'ram', args: { multiplier: ram } },
  { name: 'cpu', args: { multiplier: cpu } },
  { name: 'disk', args: { multiplier: disk } },
  'build-failure',
];

/** Requests cycle through these (plain data: they are sent to the workers as they are). */
export const WEIGHING_PROFILES: readonly ProfileSpec[] = [
  { name: 'spread', filters: [], weighers: weighers(1, 1, 1) },
  { name: 'pack', filters: [], weighers: weighers(-1, -1, -1) },
  { name: 'ram-first', filters: [], weighers: weighers(2, 0.5, 0.25) },
  { name: 'cpu-pack', filters: [], weighers: weighers(1, -2, 0.5) },
];
/** Weighers per profile: the stride of the min/max arrays. */
export const WEIGHERS = 4;

/** The request scored (its resources do not enter the weighers; it is what prepare() is given). */
const REQUEST = parseNovaRequest({ id: 'bench-scoring', flavor: { vcpus: 4, ram: 8192, disk: 40 } });

/** `n` compute hosts (64 cores ×4, 256 GiB, 2 TB) with seeded usage; 2% with failed builds. */
export function scoringFleet(n: number, seed = SCORING_SEED): HostRecord[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, (_, i) => ({
    name: `cn${String(i).padStart(6, '0')}`,
    resources: {
      VCPU: { total: 64, reserved: 2, allocationRatio: 4, used: rng.int(200) },
      MEMORY_MB: { total: 262_144, reserved: 8_192, used: rng.int(240_000) },
      DISK_GB: { total: 2_000, used: rng.int(1_800) },
    },
    failedBuilds: rng.next() < FAILED_SHARE ? 1 + rng.int(3) : 0,
  }));
}

type Typed = Float64Array | Uint8Array | Uint32Array | Int32Array;

/** A copy of `a` backed by a SharedArrayBuffer (readable by workers without a copy). */
export function shareArray<T extends Typed>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  (out as Float64Array).set(a as Float64Array);
  return out;
}

/** The snapshot's columns with every typed array copied once into a SharedArrayBuffer. */
export function shareColumns(c: SnapshotColumns): SnapshotColumns {
  const resources = new Map(
    [...c.resources].map(([rc, col]) => [
      rc,
      {
        rc,
        total: shareArray(col.total),
        capacity: shareArray(col.capacity),
        used: shareArray(col.used),
        minUnit: shareArray(col.minUnit),
        maxUnit: shareArray(col.maxUnit),
        stepSize: shareArray(col.stepSize),
        claimed: shareArray(col.claimed),
      },
    ]),
  );
  return {
    ...c,
    resources,
    state: shareArray(c.state),
    failedBuilds: shareArray(c.failedBuilds),
    metrics: new Map([...c.metrics].map(([k, v]) => [k, shareArray(v)])),
    traitBits: c.traitBits.map(shareArray),
    aggStart: shareArray(c.aggStart),
    hostAggregates: shareArray(c.hostAggregates),
    zone: shareArray(c.zone),
    hostClass: shareArray(c.hostClass),
  };
}

/** A fleet's snapshot on shared columns: what the calling thread and the workers both read. */
export function sharedSnapshot(n: number, seed = SCORING_SEED): Snapshot {
  return new Snapshot(shareColumns(fromHosts(scoringFleet(n, seed)).cols));
}

/** Per profile, its weighers prepared on `snapshot` (every one must apply: no skipped weigher). */
export function prepareProfiles(
  snapshot: Snapshot,
  specs: readonly ProfileSpec[] = WEIGHING_PROFILES,
): PreparedWeighing[][] {
  return specs.map((spec) => {
    const profile = buildProfile(spec);
    const out = profile.weighers.map((weigher) => {
      const prepared = weigher.prepare({ snapshot, request: REQUEST });
      if (!prepared) throw new Error(`scoring: weigher ${weigher.name} of profile ${spec.name} was skipped`);
      return { weigher, prepared };
    });
    if (out.length !== WEIGHERS)
      throw new Error(`scoring: profile ${spec.name} must have ${WEIGHERS} weighers`);
    return out;
  });
}

/** Best hosts first; `totals[i]` is `hosts[i]`'s total score. */
export interface TopK {
  readonly hosts: number[];
  readonly totals: number[];
}

/** Pass 1 over hosts [from, to): out[at + 2w] = min, out[at + 2w + 1] = max raw weight of weigher w. */
export function weightRange(
  ws: readonly PreparedWeighing[],
  from: number,
  to: number,
  out: Float64Array,
  at = 0,
): void {
  for (let w = 0; w < ws.length; w++) {
    const weigh = ws[w]!.prepared.weigh;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let h = from; h < to; h++) {
      const v = weigh(h);
      if (v < min) min = v;
      if (v > max) max = v;
    }
    out[at + 2 * w] = min;
    out[at + 2 * w + 1] = max;
  }
}

/** Folds the min/max of `part` into `into` (same layout). */
export function widenRange(into: Float64Array, part: Float64Array): void {
  for (let i = 0; i < into.length; i += 2) {
    if (part[i]! < into[i]!) into[i] = part[i]!;
    if (part[i + 1]! > into[i + 1]!) into[i + 1] = part[i + 1]!;
  }
}

/** An empty min/max array for `requests` requests (min +∞, max −∞). */
export function emptyRanges(requests: number): Float64Array {
  const out = new Float64Array(requests * 2 * WEIGHERS);
  for (let i = 0; i < out.length; i += 2) {
    out[i] = Number.POSITIVE_INFINITY;
    out[i + 1] = Number.NEGATIVE_INFINITY;
  }
  return out;
}

/** Pass 2 over hosts [from, to): the best k by total score, with min/max over all hosts from `ranges[at…]`. */
export function topInRange(
  ws: readonly PreparedWeighing[],
  ranges: Float64Array,
  at: number,
  from: number,
  to: number,
  k: number,
): TopK {
  const weigh = ws.map((w) => w.prepared.weigh);
  const mult = ws.map((w) => w.weigher.multiplier);
  const min = ws.map((_, w) => ranges[at + 2 * w]!);
  const span = ws.map((_, w) => ranges[at + 2 * w + 1]! - min[w]!);
  const flat = span.map((r) => !(r > 0) || !Number.isFinite(r)); // all equal: score 0 (score.ts)
  const hosts: number[] = [];
  const totals: number[] = [];
  for (let h = from; h < to; h++) {
    let t = 0;
    for (let w = 0; w < weigh.length; w++) {
      const s = flat[w] ? 0 : Math.round((MAX_SCORE * (weigh[w]!(h) - min[w]!)) / span[w]!);
      t = t + mult[w]! * s;
    }
    if (hosts.length === k && !(t > totals[k - 1]!)) continue; // ties keep the earlier host
    let j = hosts.length < k ? hosts.length : k - 1;
    while (j > 0 && totals[j - 1]! < t) {
      hosts[j] = hosts[j - 1]!;
      totals[j] = totals[j - 1]!;
      j--;
    }
    hosts[j] = h;
    totals[j] = t;
  }
  return { hosts, totals };
}

/** The best k of several parts: total descending, then host index ascending. */
export function mergeTop(parts: readonly TopK[], k: number): TopK {
  const all = parts.flatMap((p) => p.hosts.map((h, i) => ({ h, t: p.totals[i]! })));
  all.sort((a, b) => b.t - a.t || a.h - b.h);
  const best = all.slice(0, k);
  return { hosts: best.map((x) => x.h), totals: best.map((x) => x.t) };
}

/** Both passes over hosts 0..n-1 in the calling thread. */
export function scoreAll(ws: readonly PreparedWeighing[], n: number, k: number): TopK {
  const ranges = emptyRanges(1);
  weightRange(ws, 0, n, ranges);
  return topInRange(ws, ranges, 0, 0, n, k);
}

/** core/scheduler's `rank()` over hosts 0..n-1 (discovery order = index order): its first k. */
export function rankTop(ws: readonly PreparedWeighing[], n: number, k: number): TopK {
  const hosts = Array.from({ length: n }, (_, i) => i);
  const r = rank(hosts, ws);
  const best = r.order.slice(0, k);
  return { hosts: best.map((p) => hosts[p]!), totals: best.map((p) => r.totals[p]!) };
}

/** Undefined when `a` and `b` name the same hosts with the same totals in the same order; else the difference. */
export function topDifference(a: TopK, b: TopK): string | undefined {
  const show = (t: TopK) => t.hosts.map((h, i) => `${h}:${t.totals[i]}`).join(' ');
  const same =
    a.hosts.length === b.hosts.length &&
    a.hosts.every((h, i) => h === b.hosts[i] && a.totals[i] === b.totals[i]);
  return same ? undefined : `[${show(a)}] vs [${show(b)}]`;
}
