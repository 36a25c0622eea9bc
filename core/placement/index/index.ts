/** The columnar candidate index: `new CandidateIndex(state)`, then `indexCandidates(ix, group, opts)`. */
export { CandidateIndex, type CandidateIndexOptions } from './candidate-index.ts';
export { covers, indexCandidates } from './query.ts';
