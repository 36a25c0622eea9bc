/**
 * Allocation candidates (GET /allocation_candidates, microversions up to 1.39) by a plain scan of
 * the state: the REFERENCE the columnar index (core/placement/index/) must agree with. Semantics
 * follow Placement 8.0's source (objects/allocation_candidate.py, research_context.py, lib.py),
 * checked on a real Placement where the source was unclear.
 *
 * Input — what the API layer builds from the query string (see candidates-request.ts):
 * ```ts
 * allocationCandidates(state, {
 *   groups: [
 *     { suffix: '', resources: { VCPU: 2, MEMORY_MB: 2048 }, required: [['HW_CPU_X86_AVX2']] },
 *     { suffix: '1', resources: { SRIOV_NET_VF: 1 }, required: [['CUSTOM_PHYSNET_A', 'CUSTOM_PHYSNET_B']],
 *       forbidden: ['CUSTOM_SLOW'], memberOf: [[agg1]], forbiddenAggregates: [agg9], inTree: cn1 },
 *     { suffix: '_NUMA', resources: {}, required: [['HW_NUMA_ROOT']] },   // resourceless (1.36)
 *   ],
 *   groupPolicy: 'isolate',               // required with more than one suffixed group
 *   sameSubtree: [['1', '_NUMA']],        // every resourceless group must be named here
 *   rootRequired: ['COMPUTE_STATUS_ENABLED'], rootForbidden: ['COMPUTE_STATUS_DISABLED'],
 *   limit: 1000,
 *   nestedAware: true,                    // false below 1.29
 * }, { rng });                            // rng: randomize_allocation_candidates
 * ```
 * A bare `RequestGroup` is the unnumbered group alone (the older call shape, still supported).
 * Refusals are `{ ok: false }` with Placement's 400 messages; "nothing fits" is an empty result.
 *
 * Search: for each anchor (every root provider, in creation order, that has all of
 * `rootRequired` and none of `rootForbidden`), each group's picks within the anchor's tree and
 * its associated sharing providers (candidates-groups.ts), then their combinations
 * (candidates-combine.ts). Order without `rng`: anchors in creation order, then combinations as
 * enumerated; the scan stops at `limit`. With `rng`, everything found is shuffled, then limited.
 * Each product is bounded by MAX_COMBINATIONS_PER_TREE: a pathological tree yields at most that
 * many combinations visited (in the documented order), never an explosion.
 *
 * Deliberate differences from Placement 8.0 (bugs there, seen on the real server):
 * - with group_policy=isolate and one class requested by several groups, Placement sums amounts
 *   into shared objects across combinations (VCPU 1 + 2 answered as VCPU 5); we sum per candidate;
 * - a `member_of` in one group narrows the sharing providers seen by later groups there (an
 *   in-place set intersection); here each group sees every sharing provider.
 * Results are the same set otherwise; the order differs (Placement's is set order).
 */
import type { Uuid } from '../model/ids.ts';
import type { Rng } from '../rng.ts';
import { type AllocationRequest, combineAnchor, requestKey } from './candidates-combine.ts';
import { anchorPool, groupPicks, makeSearchContext, type Pick } from './candidates-groups.ts';
import { type CandidateRequest, type RequestGroup, requestProblem } from './candidates-request.ts';
import { type ProviderSummary, providerSummaries } from './candidates-summaries.ts';
import { type Outcome, ok } from './errors.ts';
import type { PlacementState, ProviderView } from './state.ts';

export type { AllocationRequest } from './candidates-combine.ts';
export { MAX_COMBINATIONS_PER_TREE, SHARING_TRAIT } from './candidates-groups.ts';
export type { CandidateRequest, GroupPolicy, RequestGroup, SuffixedGroup } from './candidates-request.ts';
export type { ProviderSummary } from './candidates-summaries.ts';

export interface CandidateOptions {
  /** Used when the request carries no `limit` (the bare-group call shape). */
  readonly limit?: number;
  /** Shuffle all candidates before the limit (Placement's randomize_allocation_candidates). */
  readonly rng?: Rng;
}

export interface Candidates {
  readonly allocationRequests: readonly AllocationRequest[];
  readonly providerSummaries: ReadonlyMap<Uuid, ProviderSummary>;
}

export function allocationCandidates(
  state: PlacementState,
  input: CandidateRequest | RequestGroup,
  opts: CandidateOptions = {},
): Outcome<Candidates> {
  const req = asRequest(input, opts);
  const problem = requestProblem(state, req);
  if (problem) return problem;
  const nestedAware = req.nestedAware ?? true;
  // Pre-1.29 summaries need every surviving candidate, so no early stop there.
  const stopAt =
    opts.rng || !nestedAware ? Number.POSITIVE_INFINITY : (req.limit ?? Number.POSITIVE_INFINITY);
  const found: AllocationRequest[] = [];
  const seen = new Set<string>();
  const emit = (r: AllocationRequest): boolean => {
    if (!nestedAware && usesTwoOfOneTree(state, r)) return true;
    const key = requestKey(r);
    if (!seen.has(key)) {
      seen.add(key);
      found.push(r);
    }
    return found.length < stopAt;
  };
  const ctx = makeSearchContext(state);
  const rules = { state, groupPolicy: req.groupPolicy ?? 'none', sameSubtree: req.sameSubtree ?? [] };
  for (const anchor of anchors(state, req)) {
    if (found.length >= stopAt) break;
    const pool = anchorPool(ctx, anchor);
    const picks: Pick[][] = [];
    for (const group of req.groups) {
      const p = groupPicks(ctx, group, anchor, pool);
      if (p.length === 0) break;
      picks.push(p);
    }
    if (picks.length === req.groups.length) combineAnchor(rules, anchor, picks, emit);
  }
  if (opts.rng) opts.rng.shuffle(found);
  const kept = req.limit === undefined ? found : found.slice(0, req.limit);
  const summaries = providerSummaries(state, kept, nestedAware ? undefined : found);
  return ok({ allocationRequests: kept, providerSummaries: summaries });
}

function asRequest(input: CandidateRequest | RequestGroup, opts: CandidateOptions): CandidateRequest {
  if ('groups' in input)
    return input.limit === undefined && opts.limit !== undefined ? { ...input, limit: opts.limit } : input;
  return { groups: [{ ...input, suffix: '' }], limit: opts.limit };
}

/** Roots that may anchor a candidate, in creation order. */
function anchors(state: PlacementState, req: CandidateRequest): ProviderView[] {
  const required = req.rootRequired ?? [];
  const forbidden = req.rootForbidden ?? [];
  return [...state.providers()].filter(
    (rp) =>
      rp.parentUuid === null &&
      required.every((t) => rp.traits.has(t)) &&
      !forbidden.some((t) => rp.traits.has(t)),
  );
}

/** Pre-1.29 (exclude_nested_providers): a candidate may use one provider per tree only. */
function usesTwoOfOneTree(state: PlacementState, r: AllocationRequest): boolean {
  const roots = [...r.allocations.keys()].map((u) => state.provider(u)!.rootUuid);
  return new Set(roots).size !== roots.length;
}
