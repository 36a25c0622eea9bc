/**
 * candidatesText writes GET /allocation_candidates' answer straight to JSON: for every
 * microversion from 1.12 it must be the JSON value of candidatesJson(…), the object form that
 * follows Placement's handler, byte for byte once both go through JS objects (which reorder
 * integer-like keys; the text keeps insertion order, as Placement does). Random worlds (nested
 * trees, traits, usages, fractional capacities) and requests of one or two groups; fast-check
 * prints the seed of a failing run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { candidatesText } from '../../../../api/placement/candidates-text.ts';
import { Microversion } from '../../../../api/placement/microversion.ts';
import { candidatesJson } from '../../../../api/placement/routes/allocation-candidates.ts';
import { makeInventory } from '../../../../core/model/inventory.ts';
import { allocationCandidates, type CandidateRequest } from '../../../../core/placement/candidates.ts';
import { PlacementState } from '../../../../core/placement/operations.ts';
import { buildWorld, groupArb, RPS, worldArb } from '../../placement/index-helpers.ts';

const RUNS = { numRuns: 150 };
const MINORS = Array.from({ length: 39 - 12 + 1 }, (_, i) => 12 + i);

const requestArb: fc.Arbitrary<CandidateRequest> = fc
  .tuple(groupArb, fc.option(groupArb, { nil: undefined }), fc.option(fc.integer({ min: 1, max: 5 })))
  .map(([g, g1, limit]) => ({
    groups: g1
      ? [
          { suffix: '', ...g },
          { suffix: '1', ...g1 },
        ]
      : [{ suffix: '', ...g }],
    ...(g1 ? { groupPolicy: 'none' as const } : {}),
    ...(limit === null ? {} : { limit }),
  }));

describe('candidatesText', () => {
  it('equals JSON.stringify(candidatesJson) at every microversion from 1.12', () => {
    let answered = 0;
    fc.assert(
      fc.property(worldArb, requestArb, (world, request) => {
        const state = new PlacementState();
        buildWorld(state, world);
        const out = allocationCandidates(state, request);
        if (!out.ok) return;
        if (out.value.allocationRequests.length > 0) answered++;
        for (const minor of MINORS) {
          const v = new Microversion(minor);
          const text = candidatesText(out.value, request, v);
          expect(JSON.stringify(JSON.parse(text)), `1.${minor}`).toBe(
            JSON.stringify(candidatesJson(out.value, request, v)),
          );
          if (request.groups.length === 1)
            expect(text).toBe(JSON.stringify(candidatesJson(out.value, request, v)));
        }
      }),
      RUNS,
    );
    // The property must have compared real answers, not only empty ones.
    expect(answered).toBeGreaterThan(10);
  });

  it('keeps the mappings in group order ("" before "1"), as Placement prints them', () => {
    const state = new PlacementState();
    buildWorld(state, [
      [{ parent: undefined, inv: { VCPU: makeInventory({ total: 4 }) }, traits: [], aggs: [] }],
      [],
    ]);
    const request: CandidateRequest = {
      groups: [
        { suffix: '', resources: { VCPU: 1 } },
        { suffix: '1', resources: { VCPU: 1 } },
      ],
      groupPolicy: 'none',
    };
    const out = allocationCandidates(state, request);
    if (!out.ok) throw out.error;
    const text = candidatesText(out.value, request, new Microversion(34));
    expect(text).toContain(`"mappings":{"":["${RPS[0]}"],"1":["${RPS[0]}"]}`);
  });

  it('refuses microversions before 1.12 (the list form stays with candidatesJson)', () => {
    const empty = { allocationRequests: [], providerSummaries: new Map() };
    expect(() => candidatesText(empty, { groups: [] }, new Microversion(11))).toThrow(/1\.12/);
  });
});
