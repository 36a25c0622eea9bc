/** What every Placement route plugin gets: the service, the clock for headers, the candidate search. */

import type { CandidateRequest } from '../../core/placement/candidates.ts';
import type { Outcome } from '../../core/placement/errors.ts';
import type { CandidateSlots } from '../../core/placement/index/index.ts';
import type { Candidates, PlacementState } from '../../core/placement/operations.ts';
import type { BodyPool } from './body-pool.ts';
import type { PlacementBackend } from './service.ts';

/**
 * The allocation-candidate search: the reference scan's `Candidates`, or the columnar index's
 * `CandidateSlots` (the same answer, written to JSON without building its objects).
 */
export type CandidateSearch = (
  state: PlacementState,
  req: CandidateRequest,
) => Outcome<Candidates | CandidateSlots>;

export interface RouteContext {
  readonly service: PlacementBackend;
  readonly now: () => Date;
  readonly candidates: CandidateSearch;
  /** Response buffers of GET /allocation_candidates, reused. */
  readonly bodies: BodyPool;
  /** Uuids of providers created without one; injected for tests. */
  readonly newUuid: () => string;
}

export interface RouteOptions {
  readonly ctx: RouteContext;
}
