/**
 * The engine's write and read API in one import. Every write takes the PlacementState, checks
 * everything, and either changes the state and returns `{ ok: true, value }` or changes nothing
 * and returns `{ ok: false, error }` (see errors.ts for how errors map onto Placement's).
 */
export {
  type AllocationsInput,
  type ConsumerWrite,
  deleteAllocations,
  putAllocations,
  type WriteOptions,
  type WriteResult,
  writeAllocations,
} from './allocations.ts';
export {
  type AllocationRequest,
  allocationCandidates,
  type CandidateOptions,
  type Candidates,
  type ProviderSummary,
  type RequestGroup,
} from './candidates.ts';
export { type Outcome, PlacementCodes, placementCodeOf, unwrap } from './errors.ts';
export { type SetInventoriesResult, setInventories } from './inventories.ts';
export { setAggregates, setTraits } from './provider-traits.ts';
export {
  type CreateProvider,
  createProvider,
  deleteProvider,
  type UpdateProvider,
  updateProvider,
} from './providers.ts';
export {
  createResourceClass,
  deleteResourceClass,
  deleteTrait,
  ensureResourceClass,
  ensureTrait,
} from './registry.ts';
export { type ConsumerView, PlacementState, type ProviderView, type StateChange } from './state.ts';
export {
  projectUsages,
  providerAllocations,
  providerFree,
  providerUsages,
  type UsageFilter,
} from './usages.ts';
