/**
 * Differential properties: the columnar CandidateIndex answers exactly what the reference scan
 * (`allocationCandidates`) answers — same candidates in the same order, same provider summaries —
 * for random worlds (nested trees of any depth, VGPU/VCPU/MEMORY_MB/DISK_GB inventories, traits,
 * aggregates, usages) and random unnumbered groups, while the index follows random writes
 * through `state.subscribe` (including deletes with compaction and re-parenting).
 * fast-check prints the seed and path of a failing run; replay with `{ seed, path }`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocationCandidates } from '../../../core/placement/candidates.ts';
import { CandidateIndex, indexCandidates } from '../../../core/placement/index/index.ts';
import { PlacementState } from '../../../core/placement/operations.ts';
import { makeRng } from '../../../core/rng.ts';
import {
  applyOp,
  buildWorld,
  expectSame,
  groupArb,
  opArb,
  rootsOf,
  shape,
  worldArb,
} from './index-helpers.ts';

const RUNS = { numRuns: 200 };
/** Rebuild after every second delete, so compaction runs inside the properties. */
const EAGER_COMPACTION = { compactMinHoles: 2, compactHoleRatio: 0 };

describe('CandidateIndex agrees with the reference scan', () => {
  it('without a limit: the same candidates in the same order, the same summaries', () => {
    fc.assert(
      fc.property(worldArb, fc.array(groupArb, { minLength: 1, maxLength: 4 }), (world, groups) => {
        const state = new PlacementState();
        buildWorld(state, world);
        const ix = new CandidateIndex(state);
        for (const g of groups) {
          expectSame(indexCandidates(ix, g), allocationCandidates(state, g));
        }
      }),
      RUNS,
    );
  });

  it('after random writes applied incrementally: equal to the reference and to a fresh index', () => {
    fc.assert(
      fc.property(worldArb, fc.array(fc.tuple(opArb, groupArb), { maxLength: 30 }), (world, steps) => {
        const state = new PlacementState();
        const ix = new CandidateIndex(state, EAGER_COMPACTION);
        buildWorld(state, world);
        for (const [op, g] of steps) {
          applyOp(state, op);
          expectSame(indexCandidates(ix, g), allocationCandidates(state, g));
        }
        const fresh = new CandidateIndex(state);
        for (const [, g] of steps) {
          expectSame(indexCandidates(ix, g), indexCandidates(fresh, g));
        }
        ix.close();
        fresh.close();
      }),
      RUNS,
    );
  });

  it('with a limit: the first `limit` candidates of the unlimited answer, summaries of their trees only', () => {
    fc.assert(
      fc.property(worldArb, groupArb, fc.integer({ min: 1, max: 5 }), (world, g, limit) => {
        const state = new PlacementState();
        buildWorld(state, world);
        const ix = new CandidateIndex(state);
        const allOutcome = allocationCandidates(state, g);
        const gotOutcome = indexCandidates(ix, g, { limit });
        expect(gotOutcome.ok).toBe(allOutcome.ok);
        if (!allOutcome.ok || !gotOutcome.ok) return;
        const all = allOutcome.value;
        const got = gotOutcome.value;
        const want = shape(all).requests.slice(0, limit);
        expect(shape(got).requests).toEqual(want);
        expect(got.allocationRequests).toHaveLength(Math.min(limit, all.allocationRequests.length));
        const inKeptTrees = [...got.providerSummaries.values()].every((s) =>
          rootsOf(got).includes(s.rootUuid),
        );
        expect(inKeptTrees).toBe(true);
        for (const [uuid, s] of got.providerSummaries) expect(s).toEqual(all.providerSummaries.get(uuid));
      }),
      RUNS,
    );
  });

  it('with an rng: the same shuffle of the same full list, then the same cut', () => {
    fc.assert(
      fc.property(
        worldArb,
        groupArb,
        fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
        fc.integer(),
        (world, g, limit, seed) => {
          const state = new PlacementState();
          buildWorld(state, world);
          const ix = new CandidateIndex(state);
          const ref = allocationCandidates(state, g, { limit, rng: makeRng(seed) });
          expectSame(indexCandidates(ix, g, { limit, rng: makeRng(seed) }), ref);
        },
      ),
      RUNS,
    );
  });
});
