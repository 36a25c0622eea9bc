/**
 * The columnar candidate index: `new CandidateIndex(state)`, then `indexCandidates(ix, group, opts)`
 * (the reference's `Candidates`) or `indexCandidateSlots(ix, request)` (the same answer as slots,
 * for writing it out without building objects).
 */
export { CandidateIndex, type CandidateIndexOptions } from './candidate-index.ts';
export { covers, indexCandidateSlots, indexCandidates, slotsToCandidates } from './query.ts';
export { CandidateSlots } from './slots.ts';
