/**
 * Provider summaries (Placement 8.0's `_build_provider_summaries` + `_merge_candidates` +
 * `limit_results`): every provider of every tree that holds a provider allocated from in a
 * returned candidate — including providers with no inventory — with capacity and used of each
 * class it has inventory of, its traits, parent and root. Sharing providers bring their own tree;
 * an anchor tree that gives nothing (all from a sharing provider) is not summarised, nor is a
 * provider that only satisfied a resourceless group.
 *
 * Before microversion 1.29 (`nestedAware: false`) Placement summarises only the providers
 * allocated from in any surviving candidate (before the limit) whose tree is used by a returned
 * one. Which fields to show per microversion (traits 1.17, all classes 1.27, parent/root 1.29) is
 * the API layer's choice.
 */
import type { Uuid } from '../model/ids.ts';
import { capacity } from '../model/inventory.ts';
import type { AllocationRequest } from './candidates-combine.ts';
import type { PlacementState } from './state.ts';

export interface ProviderSummary {
  readonly uuid: Uuid;
  readonly rootUuid: Uuid;
  readonly parentUuid: Uuid | null;
  readonly traits: readonly string[];
  readonly resources: ReadonlyMap<string, { readonly capacity: number; readonly used: number }>;
}

/**
 * Summaries for `kept`, in tree pre-order per tree (trees in order of first use). `allFound`, when
 * given, selects the pre-1.29 rule (allocated providers of `allFound` within the trees of `kept`).
 */
export function providerSummaries(
  state: PlacementState,
  kept: readonly AllocationRequest[],
  allFound?: readonly AllocationRequest[],
): Map<Uuid, ProviderSummary> {
  const roots = new Set<Uuid>();
  for (const r of kept) for (const uuid of r.allocations.keys()) roots.add(state.provider(uuid)!.rootUuid);
  const allocated = allFound && new Set(allFound.flatMap((r) => [...r.allocations.keys()]));
  const out = new Map<Uuid, ProviderSummary>();
  for (const root of roots)
    for (const uuid of state.subtree(root))
      if (!allocated || allocated.has(uuid)) out.set(uuid, summary(state, uuid));
  return out;
}

function summary(state: PlacementState, uuid: Uuid): ProviderSummary {
  const rp = state.provider(uuid)!;
  const resources = new Map<string, { capacity: number; used: number }>();
  for (const [rc, inv] of rp.inventories)
    resources.set(rc, { capacity: capacity(inv), used: rp.usages.get(rc) ?? 0 });
  return { uuid, rootUuid: rp.rootUuid, parentUuid: rp.parentUuid, traits: [...rp.traits], resources };
}
