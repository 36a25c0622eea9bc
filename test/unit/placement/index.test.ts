/**
 * CandidateIndex maintenance cases the random properties reach rarely: slot arrays growing past
 * their first allocation, compaction after many deletes, sharing providers (answered by the
 * reference scan), root_required/root_forbidden, and close().
 */
import { describe, expect, it } from 'vitest';
import { allocationCandidates, type RequestGroup } from '../../../core/placement/candidates.ts';
import { CandidateIndex, covers, indexCandidates } from '../../../core/placement/index/index.ts';
import { deleteProvider, PlacementState, setTraits, unwrap } from '../../../core/placement/operations.ts';
import { makeProvider, makeState, uuidFor } from '../../builders.ts';
import { expectSame, shape } from './index-helpers.ts';

const VCPU2: RequestGroup = { resources: { VCPU: 2 } };

function hosts(n: number): PlacementState {
  const state = new PlacementState();
  for (let i = 0; i < n; i++)
    makeProvider(`cn${i}`)
      .inventory('VCPU', 1 + (i % 4))
      .addTo(state);
  return state;
}

describe('CandidateIndex maintenance', () => {
  it('grows past its first 1,024 slots while following creates (3,000 hosts, 3 in 4 have VCPU >= 2)', () => {
    const state = hosts(10);
    const ix = new CandidateIndex(state);
    for (let i = 10; i < 3000; i++)
      makeProvider(`cn${i}`)
        .inventory('VCPU', 1 + (i % 4))
        .addTo(state);
    const got = unwrap(indexCandidates(ix, VCPU2));
    expect(got.allocationRequests).toHaveLength(2250);
    expectSame(indexCandidates(ix, VCPU2), allocationCandidates(state, VCPU2));
    expect(ix.rebuilds).toBe(1);
  });

  it('compacts once holes pass the threshold, keeping creation order', () => {
    const state = hosts(40);
    const ix = new CandidateIndex(state, { compactMinHoles: 10, compactHoleRatio: 0 });
    for (let i = 0; i < 10; i++) unwrap(deleteProvider(state, uuidFor(`cn${i * 2}`)));
    expect(ix.rebuilds).toBe(1); // 10 holes: not past 10 yet
    unwrap(deleteProvider(state, uuidFor('cn39')));
    expect(ix.rebuilds).toBe(2);
    expect(ix.slotCount).toBe(29);
    makeProvider('late').inventory('VCPU', 8).addTo(state);
    expectSame(indexCandidates(ix, VCPU2), allocationCandidates(state, VCPU2));
  });

  it('hands requests with sharing providers to the reference scan', () => {
    const state = makeState(
      makeProvider('cn1').inventory('VCPU', 4).aggregate('agg1'),
      makeProvider('nfs').inventory('DISK_GB', 100).trait('MISC_SHARES_VIA_AGGREGATE').aggregate('agg1'),
    );
    const ix = new CandidateIndex(state);
    const g: RequestGroup = { resources: { VCPU: 1, DISK_GB: 10 } };
    expect(covers(ix, { groups: [{ ...g, suffix: '' }] })).toBe(false);
    const got = unwrap(indexCandidates(ix, g));
    expect(got.allocationRequests).toHaveLength(1); // cn1 VCPU + nfs DISK_GB
    expectSame(indexCandidates(ix, g), allocationCandidates(state, g));
  });

  it('applies root_required and root_forbidden to the anchor root only', () => {
    const state = makeState(
      makeProvider('cn1').inventory('VCPU', 4).trait('HW_CPU_X86_AVX2'),
      makeProvider('cn2').child(makeProvider('cn2_numa').inventory('VCPU', 4).trait('HW_CPU_X86_AVX2')),
      makeProvider('cn3').inventory('VCPU', 4).trait('COMPUTE_STATUS_DISABLED'),
    );
    const ix = new CandidateIndex(state);
    for (const req of [
      { groups: [{ ...VCPU2, suffix: '' }], rootRequired: ['HW_CPU_X86_AVX2'] }, // cn1 only
      { groups: [{ ...VCPU2, suffix: '' }], rootForbidden: ['COMPUTE_STATUS_DISABLED'] }, // cn1, cn2
    ]) {
      expect(covers(ix, req)).toBe(true);
      expectSame(indexCandidates(ix, req), allocationCandidates(state, req));
    }
  });

  it('stops following the state after close()', () => {
    const state = makeState(makeProvider('cn1').inventory('VCPU', 4));
    const ix = new CandidateIndex(state);
    ix.close();
    unwrap(setTraits(state, uuidFor('cn1'), undefined, ['HW_CPU_X86_AVX2']));
    const g: RequestGroup = { resources: { VCPU: 1 }, required: [['HW_CPU_X86_AVX2']] };
    expect(shape(unwrap(indexCandidates(ix, g))).requests).toEqual([]);
    expect(unwrap(allocationCandidates(state, g)).allocationRequests).toHaveLength(1);
  });
});
