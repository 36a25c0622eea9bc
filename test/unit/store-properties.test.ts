/**
 * Safety properties of the in-memory Store, checked over random commit histories
 * (fast-check prints the seed and the shrunk history of any failure; pass it as `seed`
 * in the PropertyRun to replay).
 */
import { describe, it } from 'vitest';
import { MemoryStore } from '../../core/adapters/memory/store.ts';
import {
  assertAllOrNothing,
  assertEqualsModel,
  assertGenerationsIncrease,
} from '../contract/store-properties.ts';

const make = async () => new MemoryStore();
const RUN = { numRuns: 300, maxCommits: 25 };

describe('Store safety properties (memory)', () => {
  it('safety: after any sequence of commits the store equals the reference model', () =>
    assertEqualsModel(make, RUN));

  it('safety: generations strictly increase per key while it exists', () =>
    assertGenerationsIncrease(make, RUN));

  it('safety: a commit applies all of its ops or none of them', () => assertAllOrNothing(make, RUN));
});
