/**
 * GET /allocation_candidates' body written from the index's slots (candidatesBody →
 * candidateSlotsBody) must be, byte for byte, JSON.stringify of the object form that follows
 * Placement's handler (candidatesJson) of the reference scan's answer for the same state — at
 * every microversion the route serves (1.10–1.39: the list form, mappings 1.34, summaries with
 * requested classes only before 1.27, traits 1.17, parent/root 1.29). The index answers one
 * unnumbered group, so "" is the only mapping key and JSON.stringify keeps the text's key order.
 *
 * The per-provider text is kept in the index between requests (`derived`), so the properties
 * interleave random writes (usages, inventories, traits, moves, deletes with compaction) with
 * requests: a stale text would show as a difference. Then the benchmark's flat and nested fleets,
 * and the route itself through inject(). fast-check prints the seed of a failing run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { candidateSlotsBody } from '../../../../api/placement/candidates-slots-text.ts';
import { Microversion } from '../../../../api/placement/microversion.ts';
import { candidatesBody, candidatesJson } from '../../../../api/placement/routes/allocation-candidates.ts';
import { loadState, makeFleet } from '../../../../bench/placement/fleet.ts';
import { queryFor } from '../../../../bench/placement/queries.ts';
import { allocationCandidates, type CandidateRequest } from '../../../../core/placement/candidates.ts';
import { CandidateIndex, indexCandidateSlots } from '../../../../core/placement/index/index.ts';
import { PlacementState, unwrap, writeAllocations } from '../../../../core/placement/operations.ts';
import { applyOp, buildWorld, groupArb, opArb, worldArb } from '../../placement/index-helpers.ts';
import { C1, CHILD, harness, RP1, RP2 } from './helpers.ts';

const RUNS = { numRuns: 120 };
const EAGER_COMPACTION = { compactMinHoles: 2, compactHoleRatio: 0 };
const ALL_MINORS = Array.from({ length: 39 - 10 + 1 }, (_, i) => 10 + i);
/** Where the answer's shape changes (and the newest). */
const SHAPE_MINORS = [10, 12, 17, 26, 27, 29, 34, 39];

/** The object form of the reference scan's answer, as text; undefined when the scan refuses. */
function wantText(state: PlacementState, request: CandidateRequest, v: Microversion): string | undefined {
  const ref = allocationCandidates(state, request);
  return ref.ok ? JSON.stringify(candidatesJson(ref.value, request, v)) : undefined;
}

/** The slots body for `request`, or undefined when the index leaves it to the scan or refuses it. */
function slotsText(ix: CandidateIndex, request: CandidateRequest, v: Microversion): string | undefined {
  const found = indexCandidateSlots(ix, request);
  if (found === undefined || !found.ok) return undefined;
  return candidatesBody(found.value, request, v).toString('utf8');
}

describe('candidatesBody from the index slots', () => {
  it('is JSON.stringify(candidatesJson(scan)) at every microversion, while the state changes', () => {
    let compared = 0;
    fc.assert(
      fc.property(
        worldArb,
        fc.array(fc.tuple(opArb, groupArb, fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined })), {
          maxLength: 12,
        }),
        (world, steps) => {
          const state = new PlacementState();
          const ix = new CandidateIndex(state, EAGER_COMPACTION);
          buildWorld(state, world);
          for (const [op, group, limit] of steps) {
            applyOp(state, op);
            const request: CandidateRequest = {
              groups: [{ suffix: '', ...group }],
              nestedAware: true,
              ...(limit === undefined ? {} : { limit }),
            };
            const found = indexCandidateSlots(ix, request);
            const ref = allocationCandidates(state, request);
            if (found === undefined) continue;
            expect(found.ok).toBe(ref.ok);
            if (!found.ok || !ref.ok) continue;
            if (found.value.count > 0) compared++;
            for (const minor of ALL_MINORS) {
              const v = new Microversion(minor);
              expect(candidatesBody(found.value, request, v).toString('utf8'), `1.${minor}`).toBe(
                JSON.stringify(candidatesJson(ref.value, request, v)),
              );
            }
          }
          ix.close();
        },
      ),
      RUNS,
    );
    // The property must have compared real answers, not only empty ones.
    expect(compared).toBeGreaterThan(50);
  });

  for (const kind of ['flat', 'nested'] as const) {
    it(`is the object form's text on the benchmark's ${kind} fleet, before and after allocations`, () => {
      const fleet = makeFleet(300, kind === 'nested', 'slots-text');
      const state = loadState(fleet);
      const ix = new CandidateIndex(state);
      const q = queryFor(fleet.nested);
      for (const limit of [q.limit, 7]) {
        const request: CandidateRequest = { groups: [{ suffix: '', ...q.group }], limit, nestedAware: true };
        for (const minor of SHAPE_MINORS) {
          const v = new Microversion(minor);
          const got = slotsText(ix, request, v);
          expect(got, `1.${minor}`).toBeDefined();
          expect(got, `1.${minor}`).toBe(wantText(state, request, v));
        }
      }
      // New usages on the first providers: their kept text must follow.
      const request: CandidateRequest = {
        groups: [{ suffix: '', ...q.group }],
        limit: 20,
        nestedAware: true,
      };
      const before = slotsText(ix, request, new Microversion(39))!;
      const first = fleet.providers[0]!;
      const allocations = { [first.uuid]: { VCPU: 8, MEMORY_MB: 1024, DISK_GB: 10 } };
      unwrap(
        writeAllocations(state, [{ consumerUuid: C1 as never, projectId: 'p', userId: 'u', allocations }]),
      );
      const after = slotsText(ix, request, new Microversion(39))!;
      expect(after).not.toBe(before);
      expect(after).toBe(wantText(state, request, new Microversion(39)));
      ix.close();
    });
  }

  it('refuses microversions before 1.12 itself (candidatesBody takes the list form there)', () => {
    const state = new PlacementState();
    const ix = new CandidateIndex(state);
    const found = unwrap(indexCandidateSlots(ix, { groups: [{ suffix: '', resources: { VCPU: 1 } }] })!);
    expect(() => candidateSlotsBody(found, { groups: [] }, new Microversion(11))).toThrow(/1\.12/);
  });
});

describe('GET /allocation_candidates', () => {
  it('answers the object form of the scan at every microversion from 1.10 (nested tree, usages)', async () => {
    const h = await harness();
    try {
      const ok = async (method: string, url: string, body: unknown, version = '1.39') => {
        const r = await h.call(method, url, { body, version });
        expect(r.status, `${method} ${url}: ${r.body}`).toBeLessThan(300);
      };
      for (const [uuid, name] of [
        [RP1, 'cn1'],
        [RP2, 'cn2'],
      ])
        await ok('POST', '/resource_providers', { uuid, name });
      await ok('POST', '/resource_providers', { uuid: CHILD, name: 'cn1_gpu', parent_provider_uuid: RP1 });
      const inv = (total: number) => ({ total, allocation_ratio: 1.5 });
      for (const rp of [RP1, RP2])
        await ok('PUT', `/resource_providers/${rp}/inventories`, {
          resource_provider_generation: 0,
          inventories: { VCPU: inv(8), MEMORY_MB: inv(4096), DISK_GB: inv(100) },
        });
      await ok('PUT', `/resource_providers/${CHILD}/inventories`, {
        resource_provider_generation: 0,
        inventories: { VGPU: { total: 4 } },
      });
      await ok('PUT', `/resource_providers/${RP2}/traits`, {
        resource_provider_generation: 1,
        traits: ['HW_CPU_X86_AVX2'],
      });
      await ok('PUT', `/allocations/${C1}`, {
        allocations: { [RP1]: { resources: { VCPU: 2 } }, [CHILD]: { resources: { VGPU: 1 } } },
        project_id: 'p',
        user_id: 'u',
        consumer_generation: null,
        consumer_type: 'INSTANCE',
      });
      const queries: { resources: Record<string, number>; limit?: number }[] = [
        { resources: { VCPU: 1, MEMORY_MB: 512 } },
        { resources: { VCPU: 1, VGPU: 1 } },
        { resources: { VCPU: 1, DISK_GB: 10 }, limit: 1 },
      ];
      for (const query of queries) {
        const res = Object.entries(query.resources)
          .map(([rc, n]) => `${rc}:${n}`)
          .join(',');
        const url = `/allocation_candidates?resources=${res}${query.limit ? `&limit=${query.limit}` : ''}`;
        for (const minor of SHAPE_MINORS) {
          if (query.limit && minor < 16) continue; // limit is a 1.16 parameter
          const v = new Microversion(minor);
          const r = await h.call('GET', url, { version: `1.${minor}` });
          expect(r.status, r.body).toBe(200);
          const request: CandidateRequest = {
            groups: [{ suffix: '', resources: query.resources }],
            nestedAware: v.atLeast(29),
            ...(query.limit ? { limit: query.limit } : {}),
          };
          const want = await h.service.read((s) => wantText(s, request, v));
          expect(r.body, `1.${minor} ${url}`).toBe(want);
        }
      }
    } finally {
      await h.close();
    }
  });
});
