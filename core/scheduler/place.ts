/**
 * One placement: prepare the stages for the request, narrow the candidates by the stages'
 * `only` sets, walk the hosts in seeded-shuffle order through the filters until the limit of
 * feasible hosts is reached, then rank them. Returns host indices best first (selected host and
 * alternates), empty when nothing is feasible. The batch loop lives in pipeline.ts.
 */

import type { Rng } from '../rng.ts';
import { EXPLAIN_TOP_SCORES, type ExplainRecorder } from './explain.ts';
import { shuffledOrder } from './order.ts';
import { feasibleLimit, type Profile } from './profile.ts';
import { type PreparedWeighing, rank, topScores } from './score.ts';
import type { Filter, PreparedFilter, StageContext } from './stage.ts';
import { OK, type Status } from './status.ts';

/** Per request: the class-cacheable filters' verdict per host class (undefined = not yet known). */
export type ClassCache = (Status | undefined)[];

interface Prepared {
  readonly filter: Filter;
  readonly p: PreparedFilter;
}

export interface PlaceInput {
  readonly ctx: StageContext;
  readonly profile: Profile;
  readonly rng: Rng;
  readonly cache: ClassCache;
  readonly rec: ExplainRecorder;
  readonly instance: number;
}

/**
 * Cheapest first, class-cacheable ones before the rest: a cacheable filter costs one cache read
 * per host after the first host of each class, and a host is best rejected by the cheapest check
 * that rejects it. Ties keep the profile's order.
 */
function byCost(a: Prepared, b: Prepared): number {
  return Number(b.filter.classCacheable) - Number(a.filter.classCacheable) || a.filter.cost - b.filter.cost;
}

function prepareFilters(input: PlaceInput): Prepared[] {
  const out: Prepared[] = [];
  for (const filter of input.profile.filters) {
    const p = filter.prepare(input.ctx);
    if (p) out.push({ filter, p });
    else input.rec.skip(filter.name);
  }
  return out.sort(byCost);
}

/** Intersects the `only` sets; hosts dropped are counted against the stage that dropped them. */
function candidatesOf(prepared: readonly Prepared[], size: number, rec: ExplainRecorder): Int32Array {
  let current: Set<number> | null = null;
  for (const { p } of prepared) {
    if (!p.only) continue;
    const prev: Set<number> | null = current;
    const next: Set<number> = new Set<number>(prev ? p.only.hosts.filter((h) => prev.has(h)) : p.only.hosts);
    rec.reject(p.only.status, (prev ? prev.size : size) - next.size);
    current = next;
  }
  if (!current) {
    // A plain loop: Int32Array.from({ length }, fn) went through the array-like protocol and a
    // callback per host, and was nearly all of a select's time at 10,000 hosts.
    const all = new Int32Array(size);
    for (let i = 0; i < size; i++) all[i] = i;
    return all;
  }
  return Int32Array.from([...current].sort((a, b) => a - b));
}

function prepareWeighers(input: PlaceInput): PreparedWeighing[] {
  const out: PreparedWeighing[] = [];
  for (const weigher of input.profile.weighers) {
    const prepared = weigher.prepare(input.ctx);
    if (prepared) out.push({ weigher, prepared });
    else input.rec.skip(weigher.name);
  }
  return out;
}

/** Runs the filters on host h: OK or the first rejection. */
function check(
  h: number,
  cacheable: readonly Prepared[],
  perHost: readonly Prepared[],
  input: PlaceInput,
): Status {
  const cls = input.ctx.snapshot.classOf(h);
  let verdict = input.cache[cls];
  if (verdict === undefined) {
    input.rec.cacheMisses++;
    verdict = OK;
    for (const { p } of cacheable) {
      const s = p.test(h);
      if (s.code !== 'success') {
        verdict = s;
        break;
      }
    }
    input.cache[cls] = verdict;
  } else if (cacheable.length > 0) {
    input.rec.cacheHits++;
  }
  if (verdict.code !== 'success') return verdict;
  for (const { p } of perHost) {
    const s = p.test(h);
    if (s.code !== 'success') return s;
  }
  return OK;
}

export function placeOne(input: PlaceInput): number[] {
  const { ctx, profile, rec } = input;
  const prepared = prepareFilters(input);
  const cacheable = prepared.filter((x) => x.filter.classCacheable);
  const perHost = prepared.filter((x) => !x.filter.classCacheable);
  const candidates = candidatesOf(prepared, ctx.snapshot.size, rec);
  const weighings = prepareWeighers(input);
  const preferred = weighings.flatMap((w) => w.prepared.prefer ?? []);
  const order = shuffledOrder(candidates, preferred, input.rng);
  const limit = feasibleLimit(profile.limit, candidates.length, profile.alternates);
  const feasible: number[] = [];
  let evaluated = 0;
  for (let h = order.next(); h >= 0; h = order.next()) {
    evaluated++;
    const s = check(h, cacheable, perHost, input);
    if (s.code === 'error') throw new Error(`stage ${s.stage} failed: ${s.reason}`);
    if (s.code !== 'success') rec.reject(s);
    else if (feasible.push(h) >= limit) break;
  }
  const ranking = rank(feasible, weighings);
  rec.placement({
    instance: input.instance,
    candidates: candidates.length,
    evaluated,
    feasible: feasible.length,
    limit: Number.isFinite(limit) ? limit : candidates.length,
    stoppedEarly: evaluated < candidates.length,
    top: topScores(ranking, feasible, weighings, (h) => ctx.snapshot.name(h), EXPLAIN_TOP_SCORES),
  });
  return ranking.order.slice(0, 1 + profile.alternates).map((pos) => feasible[pos]!);
}
