/**
 * Replacing a provider's traits and aggregates. Both check the provider (404) and its generation
 * (409 `placement.concurrent_update`) first, then the values, then replace the whole set and
 * bump the generation.
 * - traits must exist, standard or created custom ones (400 "No such trait(s)");
 * - aggregates are any UUIDs (Placement creates aggregate records on first use).
 * Before microversion 1.19 PUT aggregates carried no generation (pass undefined); Placement did
 * not bump the generation then, we always do, so a snapshot keyed by generation sees the change.
 */
import type { Uuid } from '../model/ids.ts';
import { invalid, type Outcome, ok } from './errors.ts';
import { currentProvider } from './guards.ts';
import type { PlacementState, ProviderView } from './state.ts';

export function setTraits(
  state: PlacementState,
  uuid: Uuid,
  expectedGeneration: number | undefined,
  traits: Iterable<string>,
): Outcome<ProviderView> {
  const found = currentProvider(state, uuid, expectedGeneration);
  if (found.refusal) return found.refusal;
  const next = new Set(traits);
  const missing = [...next].filter((t) => !state.hasTrait(t));
  if (missing.length > 0) return invalid(`No such trait(s): ${missing.join(', ')}`, { traits: missing });
  state.replaceTraits(uuid, next);
  return ok(found.rp);
}

export function setAggregates(
  state: PlacementState,
  uuid: Uuid,
  expectedGeneration: number | undefined,
  aggregates: Iterable<Uuid>,
): Outcome<ProviderView> {
  const found = currentProvider(state, uuid, expectedGeneration);
  if (found.refusal) return found.refusal;
  state.replaceAggregates(uuid, aggregates);
  return ok(found.rp);
}
