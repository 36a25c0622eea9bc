/** Checks shared by the provider-level writes: the provider exists, its generation is current. */
import type { Uuid } from '../model/ids.ts';
import { concurrentUpdate, notFound, type Outcome } from './errors.ts';
import type { PlacementState, ProviderView } from './state.ts';

/**
 * The provider, or the refusal to return: 404 when it does not exist, 409
 * `placement.concurrent_update` when `expectedGeneration` is given and is not its generation.
 * `expectedGeneration` undefined means "unchecked" (old microversions, internal callers).
 */
export function currentProvider(
  state: PlacementState,
  uuid: Uuid,
  expectedGeneration: number | undefined,
): { rp: ProviderView; refusal?: undefined } | { rp?: undefined; refusal: Outcome<never> } {
  const rp = state.provider(uuid);
  if (!rp) return { refusal: notFound(`No resource provider with uuid ${uuid} found`, { uuid }) };
  if (expectedGeneration !== undefined && expectedGeneration !== rp.generation) {
    return {
      refusal: concurrentUpdate('resource provider generation conflict', {
        uuid,
        expected: rp.generation,
        got: expectedGeneration,
      }),
    };
  }
  return { rp };
}
