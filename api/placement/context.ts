/** What every Placement route plugin gets: the service, the clock for headers, the candidate search. */

import type { CandidateRequest } from '../../core/placement/candidates.ts';
import type { Outcome } from '../../core/placement/errors.ts';
import type { Candidates, PlacementState } from '../../core/placement/operations.ts';
import type { PlacementService } from './service.ts';

/** The allocation-candidate search: the engine's reference scan by default, the index later. */
export type CandidateSearch = (state: PlacementState, req: CandidateRequest) => Outcome<Candidates>;

export interface RouteContext {
  readonly service: PlacementService;
  readonly now: () => Date;
  readonly candidates: CandidateSearch;
}

export interface RouteOptions {
  readonly ctx: RouteContext;
}
