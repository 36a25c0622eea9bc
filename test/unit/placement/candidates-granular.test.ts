import { describe, expect, it } from 'vitest';
import {
  allocationCandidates,
  type CandidateRequest,
  MAX_COMBINATIONS_PER_TREE,
  type SuffixedGroup,
} from '../../../core/placement/candidates.ts';
import { putAllocations, unwrap } from '../../../core/placement/operations.ts';
import { makeConsumer, makeProvider, makeState, uuidFor as u } from '../../builders.ts';
import { nameAll, showAll, summaryNames } from './candidates-fixtures.ts';

/**
 * cn1: DISK_GB 100, AVX2, in agg1 (the root gives no VCPU)
 *   cn1_numa0: VCPU 4, MEMORY_MB 2048, HW_NUMA_ROOT
 *     cn1_pf0: SRIOV_NET_VF 4, CUSTOM_PHYSNET_A
 *   cn1_numa1: VCPU 4, MEMORY_MB 2048, HW_NUMA_ROOT
 *     cn1_pf1: SRIOV_NET_VF 2, CUSTOM_PHYSNET_B, in aggB
 * cn2: VCPU 4, MEMORY_MB 2048, DISK_GB 50, COMPUTE_STATUS_DISABLED
 *   cn2_pf0: SRIOV_NET_VF 8, CUSTOM_PHYSNET_A
 */
function fleet() {
  return makeState(
    makeProvider('cn1')
      .inventory('DISK_GB', 100)
      .trait('HW_CPU_X86_AVX2')
      .aggregate('agg1')
      .child(
        makeProvider('cn1_numa0')
          .inventory('VCPU', 4)
          .inventory('MEMORY_MB', 2048)
          .trait('HW_NUMA_ROOT')
          .child(makeProvider('cn1_pf0').inventory('SRIOV_NET_VF', 4).trait('CUSTOM_PHYSNET_A')),
        makeProvider('cn1_numa1')
          .inventory('VCPU', 4)
          .inventory('MEMORY_MB', 2048)
          .trait('HW_NUMA_ROOT')
          .child(
            makeProvider('cn1_pf1').inventory('SRIOV_NET_VF', 2).trait('CUSTOM_PHYSNET_B').aggregate('aggB'),
          ),
      ),
    makeProvider('cn2')
      .inventory('VCPU', 4)
      .inventory('MEMORY_MB', 2048)
      .inventory('DISK_GB', 50)
      .trait('COMPUTE_STATUS_DISABLED')
      .child(makeProvider('cn2_pf0').inventory('SRIOV_NET_VF', 8).trait('CUSTOM_PHYSNET_A')),
  );
}
nameAll('cn1', 'cn1_numa0', 'cn1_numa1', 'cn1_pf0', 'cn1_pf1', 'cn2', 'cn2_pf0');

const g = (
  suffix: string,
  resources: Record<string, number>,
  more: Partial<SuffixedGroup> = {},
): SuffixedGroup => ({
  suffix,
  resources,
  ...more,
});
const VF = 'SRIOV_NET_VF';
const run = (req: CandidateRequest, state = fleet()) => unwrap(allocationCandidates(state, req));

describe('allocation candidates: granular groups (each suffixed group on ONE provider)', () => {
  it.each<[string, CandidateRequest, string[]]>([
    [
      'resources1=VCPU:2: any single provider with 2 VCPU free',
      { groups: [g('1', { VCPU: 2 })] },
      ['cn1_numa0:VCPU=2 [1:cn1_numa0]', 'cn1_numa1:VCPU=2 [1:cn1_numa1]', 'cn2:VCPU=2 [1:cn2]'],
    ],
    [
      'VCPU and MEMORY_MB of one group come from the same provider',
      { groups: [g('1', { VCPU: 1, MEMORY_MB: 2048 })] },
      [
        'cn1_numa0:MEMORY_MB=2048,VCPU=1 [1:cn1_numa0]',
        'cn1_numa1:MEMORY_MB=2048,VCPU=1 [1:cn1_numa1]',
        'cn2:MEMORY_MB=2048,VCPU=1 [1:cn2]',
      ],
    ],
    [
      'no single provider has VCPU and DISK_GB in cn1 (the unnumbered group could span them)',
      { groups: [g('1', { VCPU: 1, DISK_GB: 1 })] },
      ['cn2:DISK_GB=1,VCPU=1 [1:cn2]'],
    ],
    [
      'isolate: two 4-VCPU groups need two NUMA nodes; cn2 has one provider (4 + 4 > 4)',
      {
        groups: [g('1', { VCPU: 4 }), g('2', { VCPU: 4 })],
        groupPolicy: 'isolate',
      },
      [
        'cn1_numa0:VCPU=4 | cn1_numa1:VCPU=4 [1:cn1_numa0 2:cn1_numa1]',
        'cn1_numa0:VCPU=4 | cn1_numa1:VCPU=4 [1:cn1_numa1 2:cn1_numa0]',
      ],
    ],
    [
      'policy none: two 2-VCPU groups may share a provider, summed 2 + 2 = 4 <= 4',
      { groups: [g('1', { VCPU: 2 }), g('2', { VCPU: 2 })], groupPolicy: 'none' },
      [
        'cn1_numa0:VCPU=2 | cn1_numa1:VCPU=2 [1:cn1_numa0 2:cn1_numa1]',
        'cn1_numa0:VCPU=2 | cn1_numa1:VCPU=2 [1:cn1_numa1 2:cn1_numa0]',
        'cn1_numa0:VCPU=4 [1:cn1_numa0 2:cn1_numa0]',
        'cn1_numa1:VCPU=4 [1:cn1_numa1 2:cn1_numa1]',
        'cn2:VCPU=4 [1:cn2 2:cn2]',
      ],
    ],
    [
      'isolate: the same request without the shared-provider ones',
      { groups: [g('1', { VCPU: 2 }), g('2', { VCPU: 2 })], groupPolicy: 'isolate' },
      [
        'cn1_numa0:VCPU=2 | cn1_numa1:VCPU=2 [1:cn1_numa0 2:cn1_numa1]',
        'cn1_numa0:VCPU=2 | cn1_numa1:VCPU=2 [1:cn1_numa1 2:cn1_numa0]',
      ],
    ],
    [
      'unnumbered + numbered summed on one provider: 3 + 2 = 5 > 4 is dropped, 3 / 2 on two nodes fits',
      { groups: [g('', { VCPU: 3 }), g('1', { VCPU: 2 })], groupPolicy: 'none' },
      [
        'cn1_numa0:VCPU=2 | cn1_numa1:VCPU=3 [1:cn1_numa0 _:cn1_numa1]',
        'cn1_numa0:VCPU=3 | cn1_numa1:VCPU=2 [1:cn1_numa1 _:cn1_numa0]',
      ],
    ],
    [
      'isolate does not constrain the unnumbered group: it may share cn2 with group 1',
      { groups: [g('', { DISK_GB: 10 }), g('1', { VCPU: 1 })], groupPolicy: 'isolate' },
      [
        'cn1:DISK_GB=10 | cn1_numa0:VCPU=1 [1:cn1_numa0 _:cn1]',
        'cn1:DISK_GB=10 | cn1_numa1:VCPU=1 [1:cn1_numa1 _:cn1]',
        'cn2:DISK_GB=10,VCPU=1 [1:cn2 _:cn2]',
      ],
    ],
    [
      'required1 any-of (in:PHYSNET_A,PHYSNET_B)',
      { groups: [g('1', { [VF]: 2 }, { required: [['CUSTOM_PHYSNET_A', 'CUSTOM_PHYSNET_B']] })] },
      [
        'cn1_pf0:SRIOV_NET_VF=2 [1:cn1_pf0]',
        'cn1_pf1:SRIOV_NET_VF=2 [1:cn1_pf1]',
        'cn2_pf0:SRIOV_NET_VF=2 [1:cn2_pf0]',
      ],
    ],
    [
      'required1=!CUSTOM_PHYSNET_A',
      { groups: [g('1', { [VF]: 1 }, { forbidden: ['CUSTOM_PHYSNET_A'] })] },
      ['cn1_pf1:SRIOV_NET_VF=1 [1:cn1_pf1]'],
    ],
    [
      'required1 needs the trait on the provider itself: AVX2 is on cn1, VCPU on the NUMA nodes',
      { groups: [g('1', { VCPU: 1 }, { required: [['HW_CPU_X86_AVX2']] })] },
      [],
    ],
    [
      'member_of1=aggB: only pf1 is itself in aggB',
      { groups: [g('1', { [VF]: 1 }, { memberOf: [[u('aggB')]] })] },
      ['cn1_pf1:SRIOV_NET_VF=1 [1:cn1_pf1]'],
    ],
    [
      // Checked on Placement 8.0: a numbered group's member_of is the provider's own membership.
      'member_of1=agg1: the PFs do not inherit their root aggregate in a numbered group',
      { groups: [g('1', { [VF]: 1 }, { memberOf: [[u('agg1')]] })] },
      [],
    ],
    [
      'member_of1=!aggB',
      { groups: [g('1', { [VF]: 1 }, { forbiddenAggregates: [u('aggB')] })] },
      ['cn1_pf0:SRIOV_NET_VF=1 [1:cn1_pf0]', 'cn2_pf0:SRIOV_NET_VF=1 [1:cn2_pf0]'],
    ],
    [
      'in_tree1=cn2_pf0: any provider of cn2 tree',
      { groups: [g('1', { [VF]: 1 }, { inTree: u('cn2_pf0') })] },
      ['cn2_pf0:SRIOV_NET_VF=1 [1:cn2_pf0]'],
    ],
    [
      'in_tree per group: group 1 in cn1, group 2 in cn2 -> no tree has both',
      {
        groups: [g('1', { VCPU: 1 }, { inTree: u('cn1') }), g('2', { [VF]: 1 }, { inTree: u('cn2') })],
        groupPolicy: 'none',
      },
      [],
    ],
    [
      'same_subtree=1,2: the VF comes from under the NUMA node giving the VCPU (cn2 is the root of both)',
      {
        groups: [g('1', { VCPU: 1 }), g('2', { [VF]: 1 })],
        groupPolicy: 'isolate',
        sameSubtree: [['1', '2']],
      },
      [
        'cn1_numa0:VCPU=1 | cn1_pf0:SRIOV_NET_VF=1 [1:cn1_numa0 2:cn1_pf0]',
        'cn1_numa1:VCPU=1 | cn1_pf1:SRIOV_NET_VF=1 [1:cn1_numa1 2:cn1_pf1]',
        'cn2:VCPU=1 | cn2_pf0:SRIOV_NET_VF=1 [1:cn2 2:cn2_pf0]',
      ],
    ],
    [
      'resourceless group _NUMA (1.36): maps the NUMA node above the VF, allocates nothing there',
      {
        groups: [g('_NET', { [VF]: 1 }), g('_NUMA', {}, { required: [['HW_NUMA_ROOT']] })],
        groupPolicy: 'isolate',
        sameSubtree: [['_NET', '_NUMA']],
      },
      [
        'cn1_pf0:SRIOV_NET_VF=1 [_NET:cn1_pf0 _NUMA:cn1_numa0]',
        'cn1_pf1:SRIOV_NET_VF=1 [_NET:cn1_pf1 _NUMA:cn1_numa1]',
      ],
    ],
    [
      // Checked on Placement 8.0: in_tree of a resourceless group is not applied.
      'in_tree on a resourceless group is ignored (in_tree_NUMA=cn2 still maps cn1 NUMA nodes)',
      {
        groups: [g('_NET', { [VF]: 1 }), g('_NUMA', {}, { required: [['HW_NUMA_ROOT']], inTree: u('cn2') })],
        groupPolicy: 'isolate',
        sameSubtree: [['_NET', '_NUMA']],
      },
      [
        'cn1_pf0:SRIOV_NET_VF=1 [_NET:cn1_pf0 _NUMA:cn1_numa0]',
        'cn1_pf1:SRIOV_NET_VF=1 [_NET:cn1_pf1 _NUMA:cn1_numa1]',
      ],
    ],
    [
      // Checked on Placement 8.0: only required/member_of select providers for a resourceless group.
      'a resourceless group with only a forbidden trait matches nothing',
      {
        groups: [g('1', { [VF]: 1 }), g('2', {}, { forbidden: ['CUSTOM_PHYSNET_B'] })],
        groupPolicy: 'none',
        sameSubtree: [['1', '2']],
      },
      [],
    ],
    [
      'root_required=!COMPUTE_STATUS_DISABLED drops the cn2 tree',
      { groups: [g('1', { VCPU: 1 })], rootForbidden: ['COMPUTE_STATUS_DISABLED'] },
      ['cn1_numa0:VCPU=1 [1:cn1_numa0]', 'cn1_numa1:VCPU=1 [1:cn1_numa1]'],
    ],
    [
      'root_required=HW_CPU_X86_AVX2: the root has it though it gives nothing',
      { groups: [g('', { [VF]: 3 })], rootRequired: ['HW_CPU_X86_AVX2'] },
      ['cn1_pf0:SRIOV_NET_VF=3 [_:cn1_pf0]'],
    ],
    [
      'pre-1.29 (nestedAware false): a candidate may not use two providers of one tree',
      { groups: [g('', { VCPU: 1, DISK_GB: 1 })], nestedAware: false },
      ['cn2:DISK_GB=1,VCPU=1 [_:cn2]'],
    ],
  ])('%s', (_what, req, expected) => {
    expect(showAll(run(req))).toEqual(expected);
  });

  it('checks the summed amount against max_unit too (2 + 2 > max_unit 3)', () => {
    const state = makeState(makeProvider('cn1').inventory('VCPU', 16, { maxUnit: 3 }));
    const req: CandidateRequest = { groups: [g('1', { VCPU: 2 }), g('2', { VCPU: 2 })], groupPolicy: 'none' };
    expect(run(req, state).allocationRequests).toEqual([]);
    const ok: CandidateRequest = { groups: [g('1', { VCPU: 2 }), g('2', { VCPU: 1 })], groupPolicy: 'none' };
    expect(showAll(run(ok, state))).toEqual(['cn1:VCPU=3 [1:cn1 2:cn1]']);
  });

  it('counts existing usage in the summed check: numa0 has 4 - 3 = 1 left', () => {
    const state = fleet();
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1_numa0', { VCPU: 3 }).write(null)));
    const req: CandidateRequest = { groups: [g('1', { VCPU: 1 }), g('2', { VCPU: 1 })], groupPolicy: 'none' };
    // numa0+numa0 would be 3 + 2 > 4; cn2+cn2 and numa1+numa1 fit
    expect(showAll(run(req, state))).toEqual([
      'cn1_numa0:VCPU=1 | cn1_numa1:VCPU=1 [1:cn1_numa0 2:cn1_numa1]',
      'cn1_numa0:VCPU=1 | cn1_numa1:VCPU=1 [1:cn1_numa1 2:cn1_numa0]',
      'cn1_numa1:VCPU=2 [1:cn1_numa1 2:cn1_numa1]',
      'cn2:VCPU=2 [1:cn2 2:cn2]',
    ]);
  });

  it('enumerates in documented order: anchors by creation, first group varying slowest', () => {
    const req: CandidateRequest = {
      groups: [g('1', { VCPU: 1 }), g('2', { [VF]: 1 })],
      groupPolicy: 'isolate',
    };
    const order = run(req).allocationRequests.map((r) =>
      [...r.mappings.values()].flat().map((x) => x.slice(0, 8)),
    );
    const n = (name: string) => u(name).slice(0, 8);
    expect(order).toEqual([
      [n('cn1_numa0'), n('cn1_pf0')],
      [n('cn1_numa0'), n('cn1_pf1')],
      [n('cn1_numa1'), n('cn1_pf0')],
      [n('cn1_numa1'), n('cn1_pf1')],
      [n('cn2'), n('cn2_pf0')],
    ]);
  });

  it('limit keeps the first candidates and summarises only their trees, every provider of them', () => {
    const c = run({ groups: [g('1', { VCPU: 1 }), g('2', { [VF]: 1 })], groupPolicy: 'isolate', limit: 2 });
    expect(c.allocationRequests).toHaveLength(2);
    expect(summaryNames(c)).toEqual(['cn1', 'cn1_numa0', 'cn1_numa1', 'cn1_pf0', 'cn1_pf1']);
    expect(c.providerSummaries.get(u('cn1_pf1'))).toMatchObject({
      parentUuid: u('cn1_numa1'),
      rootUuid: u('cn1'),
      traits: ['CUSTOM_PHYSNET_B'],
    });
    // cn1 gives nothing here but is summarised, with its DISK_GB
    expect(c.providerSummaries.get(u('cn1'))?.resources.get('DISK_GB')).toEqual({ capacity: 100, used: 0 });
  });

  it('pre-1.29 summaries name only providers allocated from', () => {
    const c = run({ groups: [g('', { VCPU: 1 })], nestedAware: false });
    expect(summaryNames(c)).toEqual(['cn1_numa0', 'cn1_numa1', 'cn2']);
  });

  it(`bounds the combinations per tree at MAX_COMBINATIONS_PER_TREE (${MAX_COMBINATIONS_PER_TREE})`, () => {
    // 12 children, 5 groups with policy none: 12^5 = 248,832 combinations, all valid
    const kids = Array.from({ length: 12 }, (_, i) => makeProvider(`big_${i}`).inventory('VCPU', 100));
    const state = makeState(makeProvider('big').child(...kids));
    const groups = ['1', '2', '3', '4', '5'].map((s) => g(s, { VCPU: 1 }));
    const c = run({ groups, groupPolicy: 'none' }, state);
    expect(c.allocationRequests.length).toBe(MAX_COMBINATIONS_PER_TREE);
  });
});

describe('allocation candidates: request validation (Placement 1.36+ messages)', () => {
  it.each<[string, CandidateRequest, RegExp, string]>([
    [
      'two suffixed groups without group_policy',
      { groups: [g('1', { VCPU: 1 }), g('2', { VCPU: 1 })] },
      /"group_policy" parameter is required/,
      'placement.undefined_code',
    ],
    [
      'a resourceless group outside same_subtree',
      { groups: [g('1', { VCPU: 1 }), g('2', {}, { required: [['HW_NUMA_ROOT']] })], groupPolicy: 'none' },
      /Resourceless suffixed group request should be specified in `same_subtree`.*'2'/,
      'placement.query.bad_value',
    ],
    [
      'a resourceless unnumbered group',
      { groups: [g('', {}, { required: [['HW_NUMA_ROOT']] }), g('1', { VCPU: 1 })] },
      /bad group\(s\) - \[''\]/,
      'placement.query.bad_value',
    ],
    [
      'same_subtree naming a missing group',
      { groups: [g('1', { VCPU: 1 })], sameSubtree: [['1', '9']] },
      /Real suffixes should be specified in `same_subtree`: \['9'\]/,
      'placement.query.bad_value',
    ],
    [
      'same_subtree with the unnumbered group',
      { groups: [g('', { VCPU: 1 }), g('1', { VCPU: 1 })], sameSubtree: [['', '1']] },
      /Empty string \(unsuffixed group\)/,
      'placement.query.bad_value',
    ],
    [
      'only resourceless groups',
      { groups: [g('1', {}, { required: [['HW_NUMA_ROOT']] })], sameSubtree: [['1']] },
      /at least one resources or resources\[\$S\]/,
      'placement.query.missing_value',
    ],
    [
      'a required any-of set that is all forbidden',
      { groups: [g('1', { VCPU: 1 }, { required: [['HW_NUMA_ROOT']], forbidden: ['HW_NUMA_ROOT'] })] },
      /Conflicting required and forbidden traits.*required1: \(HW_NUMA_ROOT\)/,
      'placement.undefined_code',
    ],
    [
      'root_required=A,!A',
      { groups: [g('', { VCPU: 1 })], rootRequired: ['HW_NUMA_ROOT'], rootForbidden: ['HW_NUMA_ROOT'] },
      /Conflicting .* root_required: HW_NUMA_ROOT/,
      'placement.query.bad_value',
    ],
    [
      'an unknown root_required trait',
      { groups: [g('', { VCPU: 1 })], rootRequired: ['CUSTOM_NOPE'] },
      /No such trait\(s\): CUSTOM_NOPE/,
      'placement.undefined_code',
    ],
    [
      'an unknown class in a numbered group',
      { groups: [g('7', { CUSTOM_NOPE: 1 })] },
      /Invalid resource class in resources parameter: No such resource class CUSTOM_NOPE/,
      'placement.undefined_code',
    ],
    [
      'the same suffix twice',
      { groups: [g('1', { VCPU: 1 }), g('1', { VCPU: 1 })], groupPolicy: 'none' },
      /Duplicate request group suffix/,
      'placement.query.bad_value',
    ],
    [
      'a bad suffix',
      { groups: [g('a b', { VCPU: 1 })] },
      /Invalid group suffix/,
      'placement.query.bad_value',
    ],
    ['limit 0', { groups: [g('', { VCPU: 1 })], limit: 0 }, /limit/, 'placement.undefined_code'],
  ])('refuses %s', (_what, req, message, placementCode) => {
    const out = allocationCandidates(fleet(), req);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.error.code).toBe('invalid');
    expect(out.error.message).toMatch(message);
    expect(out.error.details?.placementCode).toBe(placementCode);
  });

  it('an unknown in_tree uuid yields no candidates, not an error', () => {
    expect(run({ groups: [g('1', { VCPU: 1 }, { inTree: u('nope') })] }).allocationRequests).toEqual([]);
  });
});
