/**
 * GET /allocation_candidates' search: the columnar index (core/placement/index) where it
 * covers the request, answering slots (no object per candidate), the reference scan otherwise —
 * both give identical answers (the index is property-tested against the scan). One index per
 * PlacementState, built on the first query and kept current by the state's change events; the
 * service replaces its state on a reload, and the old state's index goes with it (WeakMap).
 */
import { allocationCandidates } from '../../core/placement/candidates.ts';
import { CandidateIndex, indexCandidateSlots } from '../../core/placement/index/index.ts';
import type { PlacementState } from '../../core/placement/state.ts';
import type { CandidateSearch } from './context.ts';

export function indexedCandidateSearch(): CandidateSearch {
  const indexes = new WeakMap<PlacementState, CandidateIndex>();
  return (state, req) => {
    let ix = indexes.get(state);
    if (!ix) {
      ix = new CandidateIndex(state);
      indexes.set(state, ix);
    }
    return indexCandidateSlots(ix, req) ?? allocationCandidates(state, req);
  };
}
