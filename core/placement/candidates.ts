/**
 * Allocation candidates for the unnumbered request group (GET /allocation_candidates with
 * `resources`, `required`, `member_of`, `in_tree`, `limit`), by a plain scan of the state —
 * the reference the columnar index must agree with. Granular groups, same_subtree,
 * group_policy, root_required and sharing providers are not done yet.
 *
 * Semantics follow Placement's research for a group that may use several providers (microversion
 * 1.29+, nested trees):
 * - a provider can give class C when it has inventory of C and, for the requested amount,
 *   used + amount <= capacity, min_unit <= amount <= max_unit and amount % step_size == 0;
 *   each class is taken whole from one provider, and all providers of one candidate are in one
 *   tree (a candidate = one provider per class, every combination within a tree);
 * - member_of: every `memberOf` entry is an any-of set; a provider qualifies when it, or its
 *   root, is in at least one aggregate of every entry; `forbiddenAggregates`: neither the
 *   provider nor its root may be in any of them;
 * - in_tree: only the tree whose root is the root of that provider (none if it does not exist);
 * - traits: the union of the traits of the providers *in the candidate* must meet every any-of
 *   set of `required`, and none of those providers may have a `forbidden` trait;
 * - provider summaries cover every provider of every tree that still has a candidate after
 *   `limit`, with capacity and used of every class it has inventory of, and its traits.
 * Without `rng` the order is deterministic (trees in creation order, then combinations in class
 * order) and the scan stops at `limit`; with `rng` all candidates are shuffled before the limit,
 * like Placement's `randomize_allocation_candidates`.
 */
import type { Uuid } from '../model/ids.ts';
import { capacity, unitViolation } from '../model/inventory.ts';
import type { Rng } from '../rng.ts';
import { invalid, type Outcome, ok } from './errors.ts';
import type { PlacementState, ProviderView } from './state.ts';

export interface RequestGroup {
  /** Amount per class; at least one class. */
  readonly resources: Readonly<Record<string, number>>;
  /** AND of any-of sets: `required=A,B&required=in:C,D` is [[A],[B],[C,D]]. */
  readonly required?: ReadonlyArray<ReadonlyArray<string>>;
  readonly forbidden?: readonly string[];
  /** AND of any-of sets of aggregate uuids. */
  readonly memberOf?: ReadonlyArray<ReadonlyArray<Uuid>>;
  readonly forbiddenAggregates?: readonly Uuid[];
  readonly inTree?: Uuid;
}

export interface CandidateOptions {
  readonly limit?: number;
  readonly rng?: Rng;
}

export interface AllocationRequest {
  readonly rootUuid: Uuid;
  /** Amount per class per provider (a provider giving two classes appears once). */
  readonly allocations: ReadonlyMap<Uuid, ReadonlyMap<string, number>>;
  /** Request group suffix ('' for the unnumbered group) → providers that satisfied it. */
  readonly mappings: ReadonlyMap<string, readonly Uuid[]>;
}

export interface ProviderSummary {
  readonly uuid: Uuid;
  readonly rootUuid: Uuid;
  readonly parentUuid: Uuid | null;
  readonly traits: readonly string[];
  readonly resources: ReadonlyMap<string, { readonly capacity: number; readonly used: number }>;
}

export interface Candidates {
  readonly allocationRequests: readonly AllocationRequest[];
  readonly providerSummaries: ReadonlyMap<Uuid, ProviderSummary>;
}

export function allocationCandidates(
  state: PlacementState,
  group: RequestGroup,
  opts: CandidateOptions = {},
): Outcome<Candidates> {
  const problem = groupProblem(state, group);
  if (problem) return problem;
  const classes = Object.keys(group.resources);
  const stopAt = opts.rng ? Number.POSITIVE_INFINITY : (opts.limit ?? Number.POSITIVE_INFINITY);
  const requests: AllocationRequest[] = [];
  for (const root of roots(state, group.inTree)) {
    if (requests.length >= stopAt) break;
    const perClass = classes.map((rc) => givers(state, root, rc, group.resources[rc]!, group));
    if (perClass.some((g) => g.length === 0)) continue;
    for (const combo of product(perClass, stopAt - requests.length)) {
      if (traitsMet(combo, group)) requests.push(toRequest(root, classes, combo, group));
      if (requests.length >= stopAt) break;
    }
  }
  if (opts.rng) opts.rng.shuffle(requests);
  const kept = opts.limit === undefined ? requests : requests.slice(0, opts.limit);
  return ok({ allocationRequests: kept, providerSummaries: summaries(state, kept) });
}

function groupProblem(state: PlacementState, group: RequestGroup): Outcome<never> | undefined {
  const classes = Object.entries(group.resources);
  if (classes.length === 0) return invalid('a request group needs at least one resource');
  for (const [rc, amount] of classes) {
    if (!state.hasResourceClass(rc)) return invalid(`Invalid resource class in resources parameter: ${rc}`);
    if (!Number.isInteger(amount) || amount < 1)
      return invalid(`Requested amount of ${rc} must be an integer >= 1`);
  }
  const traits = [...(group.required ?? []).flat(), ...(group.forbidden ?? [])];
  const unknown = traits.filter((t) => !state.hasTrait(t));
  if (unknown.length > 0) return invalid(`No such trait(s): ${unknown.join(', ')}`);
  return undefined;
}

function roots(state: PlacementState, inTree: Uuid | undefined): ProviderView[] {
  if (inTree !== undefined) {
    const rp = state.provider(inTree);
    return rp ? [state.provider(rp.rootUuid)!] : [];
  }
  return [...state.providers()].filter((rp) => rp.parentUuid === null);
}

/** Providers of `root`'s tree that can give `amount` of `rc` and pass the aggregate filters. */
function givers(
  state: PlacementState,
  root: ProviderView,
  rc: string,
  amount: number,
  g: RequestGroup,
): ProviderView[] {
  const out: ProviderView[] = [];
  for (const uuid of state.subtree(root.uuid)) {
    const rp = state.provider(uuid)!;
    const inv = rp.inventories.get(rc);
    if (!inv || unitViolation(inv, amount) || (rp.usages.get(rc) ?? 0) + amount > capacity(inv)) continue;
    if (g.memberOf && !inAll(rp, g.memberOf) && !inAll(root, g.memberOf)) continue;
    if (g.forbiddenAggregates?.some((a) => rp.aggregates.has(a) || root.aggregates.has(a))) continue;
    if (g.forbidden?.some((t) => rp.traits.has(t))) continue;
    out.push(rp);
  }
  return out;
}

function inAll(rp: ProviderView, memberOf: ReadonlyArray<ReadonlyArray<Uuid>>): boolean {
  return memberOf.every((anyOf) => anyOf.some((a) => rp.aggregates.has(a)));
}

/** Combinations, one item per list, first list varying slowest; at most `max` of them. */
function* product<T>(lists: readonly (readonly T[])[], max: number): Generator<T[]> {
  const idx = lists.map(() => 0);
  for (let n = 0; n < max; n++) {
    yield idx.map((i, k) => lists[k]![i]!);
    let k = lists.length - 1;
    while (k >= 0 && ++idx[k]! === lists[k]!.length) idx[k--] = 0;
    if (k < 0) return;
  }
}

function traitsMet(combo: readonly ProviderView[], g: RequestGroup): boolean {
  if (!g.required || g.required.length === 0) return true;
  return g.required.every((anyOf) => anyOf.some((t) => combo.some((rp) => rp.traits.has(t))));
}

function toRequest(
  root: ProviderView,
  classes: readonly string[],
  combo: readonly ProviderView[],
  g: RequestGroup,
): AllocationRequest {
  const allocations = new Map<Uuid, Map<string, number>>();
  combo.forEach((rp, i) => {
    const rc = classes[i]!;
    if (!allocations.has(rp.uuid)) allocations.set(rp.uuid, new Map());
    allocations.get(rp.uuid)!.set(rc, g.resources[rc]!);
  });
  return { rootUuid: root.uuid, allocations, mappings: new Map([['', [...allocations.keys()]]]) };
}

function summaries(
  state: PlacementState,
  requests: readonly AllocationRequest[],
): Map<Uuid, ProviderSummary> {
  const out = new Map<Uuid, ProviderSummary>();
  for (const root of new Set(requests.map((r) => r.rootUuid))) {
    for (const uuid of state.subtree(root)) {
      const rp = state.provider(uuid)!;
      const resources = new Map<string, { capacity: number; used: number }>();
      for (const [rc, inv] of rp.inventories)
        resources.set(rc, { capacity: capacity(inv), used: rp.usages.get(rc) ?? 0 });
      out.set(uuid, {
        uuid,
        rootUuid: rp.rootUuid,
        parentUuid: rp.parentUuid,
        traits: [...rp.traits],
        resources,
      });
    }
  }
  return out;
}
