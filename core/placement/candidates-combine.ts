/**
 * Folding the groups' picks within one anchor tree into allocation requests (Placement 8.0's
 * `_merge_candidates`): every combination of one pick per group, in group order (first group
 * varying slowest), kept when
 * 1. group_policy=isolate: the suffixed groups' providers are pairwise distinct (the unnumbered
 *    group may share providers with any of them);
 * 2. every same_subtree set: among the providers mapped to its suffixes, one is an ancestor (or
 *    self) of all the others;
 * 3. after summing the amounts of every group per provider and class: used + sum <= capacity and
 *    sum <= max_unit (Placement's final check; a sum of amounts that each respect min_unit and
 *    step_size respects them too).
 * Identical results (same allocations and mappings, e.g. one sharing provider reached from two
 * anchors) are returned once.
 */
import type { Uuid } from '../model/ids.ts';
import { capacity } from '../model/inventory.ts';
import { MAX_COMBINATIONS_PER_TREE, type Pick, product } from './candidates-groups.ts';
import type { GroupPolicy } from './candidates-request.ts';
import type { PlacementState, ProviderView } from './state.ts';

export interface AllocationRequest {
  /** The root of the tree that anchors the request (sharing providers may lie outside it). */
  readonly rootUuid: Uuid;
  /** Amount per class per provider (a provider giving two classes appears once). */
  readonly allocations: ReadonlyMap<Uuid, ReadonlyMap<string, number>>;
  /** Request group suffix ('' for the unnumbered group) → providers that satisfied it (1.34). */
  readonly mappings: ReadonlyMap<string, readonly Uuid[]>;
}

export interface CombineRules {
  readonly state: PlacementState;
  readonly groupPolicy: GroupPolicy;
  readonly sameSubtree: ReadonlyArray<ReadonlyArray<string>>;
}

/** Allocation requests of one anchor, in enumeration order; calls `emit` until it returns false. */
export function combineAnchor(
  rules: CombineRules,
  anchor: ProviderView,
  picksPerGroup: readonly (readonly Pick[])[],
  emit: (req: AllocationRequest) => boolean,
): void {
  const numbered = picksPerGroup.filter((p) => p[0]?.single).length;
  for (const combo of product(picksPerGroup, MAX_COMBINATIONS_PER_TREE)) {
    if (rules.groupPolicy === 'isolate' && !isolated(combo, numbered)) continue;
    if (!rules.sameSubtree.every((set) => sameSubtree(rules.state, combo, set))) continue;
    const allocations = consolidate(combo);
    if (!fits(rules.state, allocations)) continue;
    const mappings = new Map(combo.map((p) => [p.suffix, p.providers] as const));
    if (!emit({ rootUuid: anchor.uuid, allocations, mappings })) return;
  }
}

function isolated(combo: readonly Pick[], numbered: number): boolean {
  const used = new Set(combo.filter((p) => p.single).map((p) => p.providers[0]));
  return used.size === numbered;
}

function sameSubtree(state: PlacementState, combo: readonly Pick[], suffixes: readonly string[]): boolean {
  const rps = new Set(combo.filter((p) => suffixes.includes(p.suffix)).flatMap((p) => p.providers));
  if (rps.size <= 1) return true;
  const candidates = [...rps];
  return candidates.some((top) => candidates.every((rp) => isAncestorOrSelf(state, top, rp)));
}

function isAncestorOrSelf(state: PlacementState, top: Uuid, rp: Uuid): boolean {
  for (let cur: Uuid | null = rp; cur !== null; cur = state.provider(cur)?.parentUuid ?? null)
    if (cur === top) return true;
  return false;
}

function consolidate(combo: readonly Pick[]): Map<Uuid, Map<string, number>> {
  const out = new Map<Uuid, Map<string, number>>();
  for (const pick of combo)
    for (const { rp, rc, amount } of pick.parts) {
      if (!out.has(rp.uuid)) out.set(rp.uuid, new Map());
      const byClass = out.get(rp.uuid)!;
      byClass.set(rc, (byClass.get(rc) ?? 0) + amount);
    }
  return out;
}

function fits(state: PlacementState, allocations: ReadonlyMap<Uuid, ReadonlyMap<string, number>>): boolean {
  for (const [uuid, byClass] of allocations) {
    const rp = state.provider(uuid)!;
    for (const [rc, sum] of byClass) {
      const inv = rp.inventories.get(rc)!;
      if ((rp.usages.get(rc) ?? 0) + sum > capacity(inv) || sum > inv.maxUnit) return false;
    }
  }
  return true;
}

/** A canonical string of a request's allocations and mappings (not its anchor), for dedupe. */
export function requestKey(req: AllocationRequest): string {
  const allocs = [...req.allocations]
    .map(
      ([rp, m]) =>
        `${rp}{${[...m]
          .map(([rc, n]) => `${rc}=${n}`)
          .sort()
          .join(',')}}`,
    )
    .sort()
    .join(';');
  const maps = [...req.mappings]
    .map(([s, rps]) => `${s}[${[...rps].sort().join(',')}]`)
    .sort()
    .join(';');
  return `${allocs}|${maps}`;
}
