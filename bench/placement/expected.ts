/**
 * A bench fleet's query and the answer the in-process index gives it (microversion 1.39): what
 * an HTTP measurement of cellplane's API checks its first answer against.
 */
import { Microversion } from '../../api/placement/microversion.ts';
import { candidatesJson } from '../../api/placement/routes/allocation-candidates.ts';
import type { CandidateRequest } from '../../core/placement/candidates.ts';
import { CandidateIndex, indexCandidates } from '../../core/placement/index/index.ts';
import { unwrap } from '../../core/placement/operations.ts';
import { type Fleet, loadState, makeFleet } from './fleet.ts';
import { type BenchQuery, queryFor } from './queries.ts';

export interface Expected {
  readonly fleet: Fleet;
  readonly q: BenchQuery;
  readonly request: CandidateRequest;
  readonly index: CandidateIndex;
  readonly want: ReturnType<typeof candidatesJson>;
}

export function expectedAnswer(roots: number, nested: boolean, seed: string): Expected {
  const fleet = makeFleet(roots, nested, seed);
  const q = queryFor(fleet.nested);
  const request: CandidateRequest = {
    groups: [{ suffix: '', ...q.group }],
    limit: q.limit,
    nestedAware: true,
  };
  const index = new CandidateIndex(loadState(fleet));
  const want = candidatesJson(unwrap(indexCandidates(index, request)), request, new Microversion(39));
  return { fleet, q, request, index, want };
}
