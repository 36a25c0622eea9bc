import { describe, expect, it } from 'vitest';
import type { Uuid } from '../../../core/model/ids.ts';
import {
  allocationCandidates,
  type Candidates,
  type RequestGroup,
} from '../../../core/placement/candidates.ts';
import { putAllocations, unwrap } from '../../../core/placement/operations.ts';
import { makeRng } from '../../../core/rng.ts';
import { makeConsumer, makeProvider, makeState, uuidFor } from '../../builders.ts';

const u = uuidFor;
const names = new Map<string, string>();
const nameOf = (uuid: Uuid) => names.get(uuid) ?? uuid;
for (const n of ['cn1', 'cn2', 'cn3', 'cn1_gpu0', 'cn1_gpu1', 'cn2_gpu0', 'cn1_numa0', 'cn1_numa1'])
  names.set(u(n), n);

/** Each candidate, in result order, as sorted 'provider:CLASS=n,…' parts: 'cn1:VCPU=2 | cn1_gpu0:VGPU=1'. */
function show(c: Candidates): string[] {
  return c.allocationRequests.map((r) =>
    [...r.allocations]
      .map(
        ([rp, m]) =>
          `${nameOf(rp)}:${[...m]
            .map(([rc, n]) => `${rc}=${n}`)
            .sort()
            .join(',')}`,
      )
      .sort()
      .join(' | '),
  );
}

/**
 * cn1: VCPU 8 (×2 = 16), MEMORY_MB 4096, AVX2, in agg1; two VGPU children (2 each, gpu1 VULKAN).
 * cn2: VCPU 4, MEMORY_MB 2048, in agg2; one VGPU child (1), COMPUTE_STATUS_DISABLED on the root.
 * cn3: VCPU 2, no memory.
 */
function fleet() {
  return makeState(
    makeProvider('cn1')
      .inventory('VCPU', 8, { allocationRatio: 2 })
      .inventory('MEMORY_MB', 4096, { stepSize: 512 })
      .trait('HW_CPU_X86_AVX2')
      .aggregate('agg1')
      .child(
        makeProvider('cn1_gpu0').inventory('VGPU', 2),
        makeProvider('cn1_gpu1').inventory('VGPU', 2).trait('HW_GPU_API_VULKAN'),
      ),
    makeProvider('cn2')
      .inventory('VCPU', 4)
      .inventory('MEMORY_MB', 2048)
      .trait('COMPUTE_STATUS_DISABLED')
      .aggregate('agg2')
      .child(makeProvider('cn2_gpu0').inventory('VGPU', 1)),
    makeProvider('cn3').inventory('VCPU', 2),
  );
}

const run = (g: RequestGroup, opts = {}) => unwrap(allocationCandidates(fleet(), g, opts));

describe('allocation candidates: the unnumbered group', () => {
  it.each<[string, RequestGroup, string[]]>([
    ['VCPU 2 fits everywhere', { resources: { VCPU: 2 } }, ['cn1:VCPU=2', 'cn2:VCPU=2', 'cn3:VCPU=2']],
    ['VCPU 4: cn3 has only 2', { resources: { VCPU: 4 } }, ['cn1:VCPU=4', 'cn2:VCPU=4']],
    ['VCPU 16 = 8 × 2 on cn1', { resources: { VCPU: 16 } }, ['cn1:VCPU=16']],
    ['MEMORY_MB 1000 breaks step 512 on cn1', { resources: { MEMORY_MB: 1000 } }, ['cn2:MEMORY_MB=1000']],
    [
      'two classes from one root',
      { resources: { VCPU: 1, MEMORY_MB: 1024 } },
      ['cn1:MEMORY_MB=1024,VCPU=1', 'cn2:MEMORY_MB=1024,VCPU=1'],
    ],
    [
      'VGPU from either child of cn1, or from the child of cn2',
      { resources: { VCPU: 1, VGPU: 1 } },
      ['cn1:VCPU=1 | cn1_gpu0:VGPU=1', 'cn1:VCPU=1 | cn1_gpu1:VGPU=1', 'cn2:VCPU=1 | cn2_gpu0:VGPU=1'],
    ],
    ['VGPU 2: not from cn2_gpu0 (1)', { resources: { VGPU: 2 } }, ['cn1_gpu0:VGPU=2', 'cn1_gpu1:VGPU=2']],
    [
      'required AVX2 on the VCPU giver',
      { resources: { VCPU: 1 }, required: [['HW_CPU_X86_AVX2']] },
      ['cn1:VCPU=1'],
    ],
    [
      'required VULKAN: only via cn1_gpu1, the union of the candidate counts',
      { resources: { VCPU: 1, VGPU: 1 }, required: [['HW_GPU_API_VULKAN'], ['HW_CPU_X86_AVX2']] },
      ['cn1:VCPU=1 | cn1_gpu1:VGPU=1'],
    ],
    [
      'required any-of (in:)',
      { resources: { VCPU: 1 }, required: [['HW_CPU_X86_AVX2', 'COMPUTE_STATUS_DISABLED']] },
      ['cn1:VCPU=1', 'cn2:VCPU=1'],
    ],
    [
      'a trait on a provider outside the candidate does not count (root AVX2, VGPU only)',
      { resources: { VGPU: 1 }, required: [['HW_CPU_X86_AVX2']] },
      [],
    ],
    [
      'forbidden trait',
      { resources: { VCPU: 1 }, forbidden: ['COMPUTE_STATUS_DISABLED'] },
      ['cn1:VCPU=1', 'cn3:VCPU=1'],
    ],
    ['member_of agg1', { resources: { VCPU: 1 }, memberOf: [[u('agg1')]] }, ['cn1:VCPU=1']],
    [
      'member_of via the root: the VGPU children inherit agg1',
      { resources: { VGPU: 1 }, memberOf: [[u('agg1')]] },
      ['cn1_gpu0:VGPU=1', 'cn1_gpu1:VGPU=1'],
    ],
    [
      'member_of in:agg1,agg2',
      { resources: { VCPU: 1 }, memberOf: [[u('agg1'), u('agg2')]] },
      ['cn1:VCPU=1', 'cn2:VCPU=1'],
    ],
    ['member_of agg1 AND agg2', { resources: { VCPU: 1 }, memberOf: [[u('agg1')], [u('agg2')]] }, []],
    ['member_of !agg1', { resources: { VGPU: 1 }, forbiddenAggregates: [u('agg1')] }, ['cn2_gpu0:VGPU=1']],
    ['in_tree cn1 via a child', { resources: { VCPU: 1 }, inTree: u('cn1_gpu1') }, ['cn1:VCPU=1']],
    ['in_tree unknown', { resources: { VCPU: 1 }, inTree: u('nope') }, []],
  ])('%s', (_what, group, expected) => {
    expect(show(run(group))).toEqual(expected);
  });

  it('counts usage: a full provider drops out', () => {
    const state = fleet();
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn2', { VCPU: 3 }).write(null)));
    // cn2: 4 - 3 = 1 left
    expect(show(unwrap(allocationCandidates(state, { resources: { VCPU: 2 } })))).toEqual([
      'cn1:VCPU=2',
      'cn3:VCPU=2',
    ]);
  });

  it('summarises every provider of each remaining tree, after the limit', () => {
    const c = run({ resources: { VCPU: 1 } }, { limit: 1 });
    expect(show(c)).toEqual(['cn1:VCPU=1']);
    expect([...c.providerSummaries.keys()].map(nameOf).sort()).toEqual(['cn1', 'cn1_gpu0', 'cn1_gpu1']);
    const cn1 = c.providerSummaries.get(u('cn1'))!;
    expect(cn1).toMatchObject({ rootUuid: u('cn1'), parentUuid: null, traits: ['HW_CPU_X86_AVX2'] });
    expect(cn1.resources).toEqual(
      new Map([
        ['VCPU', { capacity: 16, used: 0 }],
        ['MEMORY_MB', { capacity: 4096, used: 0 }],
      ]),
    );
    expect(c.allocationRequests[0]!.mappings).toEqual(new Map([['', [u('cn1')]]]));
  });

  it('shuffles with a seeded rng before the limit, reproducibly', () => {
    const a = show(run({ resources: { VCPU: 1 } }, { rng: makeRng('req-1'), limit: 2 }));
    const b = show(run({ resources: { VCPU: 1 } }, { rng: makeRng('req-1'), limit: 2 }));
    expect(a).toEqual(b);
    expect(a).toHaveLength(2);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++)
      seen.add(show(run({ resources: { VCPU: 1 } }, { rng: makeRng(i), limit: 1 }))[0]!);
    expect(seen.size).toBeGreaterThan(1);
  });

  it.each<[string, RequestGroup, RegExp]>([
    ['no resources', { resources: {} }, /at least one resource/],
    ['an unknown class', { resources: { CUSTOM_NOPE: 1 } }, /Invalid resource class/],
    ['a zero amount', { resources: { VCPU: 0 } }, /integer >= 1/],
    ['an unknown trait', { resources: { VCPU: 1 }, required: [['CUSTOM_NOPE']] }, /No such trait/],
  ])('refuses %s', (_what, group, message) => {
    const out = allocationCandidates(fleet(), group);
    expect(!out.ok && out.error.code).toBe('invalid');
    expect(!out.ok && out.error.message).toMatch(message);
  });
});
