/**
 * Per request group, per anchor tree: the ways the group can be satisfied ("picks"). Mirrors
 * Placement 8.0's two research paths (objects/research_context.py, allocation_candidate.py):
 *
 * - a suffixed group (use_same_provider) is satisfied by ONE provider that has every requested
 *   class with room for the amount (used + amount <= capacity, min_unit <= amount <= max_unit,
 *   amount % step_size == 0), has every any-of set of `required`, no `forbidden` trait, is itself
 *   in an aggregate of every `memberOf` set and in none of `forbiddenAggregates` (membership is
 *   the provider's own: a child does not inherit its root's aggregates here);
 * - the unnumbered group may take each class from a different provider of the anchor's tree (or
 *   a sharing provider): a provider gives class C as above for C alone and must not have a
 *   forbidden trait; `memberOf`: the provider or the anchor root must be in every set; neither
 *   may be in a forbidden aggregate; `required` is met by the union of the traits of the
 *   providers actually picked (one per class, every combination).
 *
 * Sharing (MISC_SHARES_VIA_AGGREGATE): a sharing provider S is associated with every tree that has
 * a provider in one of S's aggregates, and can then serve groups anchored in that tree. A sharing
 * provider from outside the tree must itself meet the unnumbered group's `memberOf`; when the
 * unnumbered group has `inTree`, sharing providers of other trees are not used for it.
 *
 * Placement quirks reproduced (checked on a real Placement 8.0, see candidates-*.test.ts):
 * - a resourceless group with neither `required` nor `memberOf` matches no provider at all;
 * - `inTree` on a resourceless group is ignored (only an unknown uuid empties the result).
 */
import type { Uuid } from '../model/ids.ts';
import { capacity, unitViolation } from '../model/inventory.ts';
import type { SuffixedGroup } from './candidates-request.ts';
import type { PlacementState, ProviderView } from './state.ts';

export const SHARING_TRAIT = 'MISC_SHARES_VIA_AGGREGATE';
/** Combinations visited per anchor tree, per product (unnumbered classes, then groups). */
export const MAX_COMBINATIONS_PER_TREE = 10_000;

/** One amount of one class taken from one provider. */
export interface Part {
  readonly rp: ProviderView;
  readonly rc: string;
  readonly amount: number;
}

/** One way to satisfy one group within one anchor tree. */
export interface Pick {
  readonly suffix: string;
  /** True for suffixed groups: `providers` then has exactly one entry. */
  readonly single: boolean;
  readonly parts: readonly Part[];
  /** The providers that satisfied the group (the `mappings` entry), distinct. */
  readonly providers: readonly Uuid[];
}

/** What every group search shares: the state and the sharing associations, computed once. */
export interface SearchContext {
  readonly state: PlacementState;
  /** Anchor root → sharing providers of OTHER trees associated with it, in creation order. */
  readonly sharedInto: ReadonlyMap<Uuid, readonly ProviderView[]>;
}

export function makeSearchContext(state: PlacementState): SearchContext {
  const sharing = [...state.providers()].filter(
    (rp) => rp.traits.has(SHARING_TRAIT) && rp.aggregates.size > 0,
  );
  const sharedInto = new Map<Uuid, ProviderView[]>();
  if (sharing.length === 0) return { state, sharedInto };
  const rootsByAggregate = new Map<Uuid, Set<Uuid>>();
  for (const rp of state.providers())
    for (const a of rp.aggregates) {
      if (!rootsByAggregate.has(a)) rootsByAggregate.set(a, new Set());
      rootsByAggregate.get(a)!.add(rp.rootUuid);
    }
  for (const sp of sharing) {
    const anchors = new Set<Uuid>();
    for (const a of sp.aggregates) for (const root of rootsByAggregate.get(a) ?? []) anchors.add(root);
    anchors.delete(sp.rootUuid);
    for (const root of anchors) {
      if (!sharedInto.has(root)) sharedInto.set(root, []);
      sharedInto.get(root)!.push(sp);
    }
  }
  return { state, sharedInto };
}

/** The providers of `anchor`'s tree (pre-order), then the sharing providers associated with it. */
export function anchorPool(ctx: SearchContext, anchor: ProviderView): ProviderView[] {
  const tree = ctx.state.subtree(anchor.uuid).map((u) => ctx.state.provider(u)!);
  return [...tree, ...(ctx.sharedInto.get(anchor.uuid) ?? [])];
}

/** Every way `group` can be satisfied within `anchor`'s tree; [] when it cannot. */
export function groupPicks(
  ctx: SearchContext,
  group: SuffixedGroup,
  anchor: ProviderView,
  pool: readonly ProviderView[],
): Pick[] {
  let treeRoot: Uuid | undefined;
  if (group.inTree !== undefined) {
    const rp = ctx.state.provider(group.inTree);
    if (!rp) return [];
    treeRoot = rp.rootUuid;
  }
  if (group.suffix !== '') return singlePicks(group, pool, treeRoot);
  if (treeRoot !== undefined && treeRoot !== anchor.uuid) return [];
  const givers = treeRoot === undefined ? pool : pool.filter((rp) => rp.rootUuid === anchor.uuid);
  return multiPicks(group, anchor, givers);
}

function hasRoom(rp: ProviderView, rc: string, amount: number): boolean {
  const inv = rp.inventories.get(rc);
  return !!inv && !unitViolation(inv, amount) && (rp.usages.get(rc) ?? 0) + amount <= capacity(inv);
}

const inEvery = (rp: ProviderView, memberOf: ReadonlyArray<ReadonlyArray<Uuid>>) =>
  memberOf.every((anyOf) => anyOf.some((a) => rp.aggregates.has(a)));
const inAny = (rp: ProviderView, aggs: readonly Uuid[]) => aggs.some((a) => rp.aggregates.has(a));
const meetsRequired = (traits: (t: string) => boolean, required: ReadonlyArray<ReadonlyArray<string>>) =>
  required.every((anyOf) => anyOf.some(traits));

function singlePicks(
  group: SuffixedGroup,
  pool: readonly ProviderView[],
  treeRoot: Uuid | undefined,
): Pick[] {
  const classes = Object.entries(group.resources);
  const resourceless = classes.length === 0;
  // Placement filters resourceless groups only through required/member_of matches (quirk).
  if (resourceless && !group.required?.length && !group.memberOf?.length) return [];
  const out: Pick[] = [];
  for (const rp of pool) {
    if (!resourceless && treeRoot !== undefined && rp.rootUuid !== treeRoot) continue;
    if (!classes.every(([rc, n]) => hasRoom(rp, rc, n))) continue;
    if (!meetsRequired((t) => rp.traits.has(t), group.required ?? [])) continue;
    if (group.forbidden?.some((t) => rp.traits.has(t))) continue;
    if (group.memberOf && !inEvery(rp, group.memberOf)) continue;
    if (group.forbiddenAggregates && inAny(rp, group.forbiddenAggregates)) continue;
    const parts = classes.map(([rc, amount]) => ({ rp, rc, amount }));
    out.push({ suffix: group.suffix, single: true, parts, providers: [rp.uuid] });
  }
  return out;
}

function multiPicks(group: SuffixedGroup, anchor: ProviderView, pool: readonly ProviderView[]): Pick[] {
  const classes = Object.entries(group.resources);
  const perClass = classes.map(([rc, amount]) =>
    pool.filter((rp) => hasRoom(rp, rc, amount) && giverAllowed(group, anchor, rp)),
  );
  if (perClass.some((g) => g.length === 0)) return [];
  const out: Pick[] = [];
  for (const combo of product(perClass, MAX_COMBINATIONS_PER_TREE)) {
    const traitsMet = meetsRequired((t) => combo.some((rp) => rp.traits.has(t)), group.required ?? []);
    if (!traitsMet) continue;
    const parts = combo.map((rp, i) => ({ rp, rc: classes[i]![0], amount: classes[i]![1] }));
    out.push({ suffix: '', single: false, parts, providers: [...new Set(combo.map((rp) => rp.uuid))] });
  }
  return out;
}

/** Aggregate and forbidden-trait rules for one provider giving to the unnumbered group. */
function giverAllowed(group: SuffixedGroup, anchor: ProviderView, rp: ProviderView): boolean {
  if (group.forbidden?.some((t) => rp.traits.has(t))) return false;
  const shared = rp.rootUuid !== anchor.uuid;
  if (group.memberOf) {
    const ok = shared
      ? inEvery(rp, group.memberOf)
      : inEvery(rp, group.memberOf) || inEvery(anchor, group.memberOf);
    if (!ok) return false;
  }
  const bad = group.forbiddenAggregates;
  return !(bad && (inAny(rp, bad) || inAny(anchor, bad)));
}

/** Combinations, one item per list, first list varying slowest; at most `max` of them. */
export function* product<T>(lists: readonly (readonly T[])[], max: number): Generator<T[]> {
  if (lists.some((l) => l.length === 0)) return;
  const idx = lists.map(() => 0);
  for (let n = 0; n < max; n++) {
    yield idx.map((i, k) => lists[k]![i]!);
    let k = lists.length - 1;
    while (k >= 0 && ++idx[k]! === lists[k]!.length) idx[k--] = 0;
    if (k < 0) return;
  }
}
