import { describe, expect, it } from 'vitest';
import { matchesRequirement } from '../../../core/scheduler/stages/extra-specs-ops.ts';
import { makeAggregate, makeHost, makeRequest, makeSnapshot } from '../../scheduler-builders.ts';
import { verdicts } from './helpers.ts';

describe('resources filter', () => {
  const snap = makeSnapshot([
    // capacity = trunc((16 - 0) * 1) = 16, used 14 → 2 free
    makeHost('tight').vcpus(16, { used: 14 }),
    // capacity = trunc((16 - 2) * 4.0) = 56, used 54 → 2 free
    makeHost('ratio').vcpus(16, { reserved: 2, allocationRatio: 4, used: 54 }),
    // capacity = trunc((10 - 0) * 0.29) = 2 (2.9 truncated), used 1 → 1 free
    makeHost('trunc').vcpus(10, { allocationRatio: 0.29, used: 1 }),
    // max_unit 1: one instance may take at most 1 VCPU here
    makeHost('maxunit').vcpus(16, { maxUnit: 1 }),
    // step 4: amounts must be multiples of 4
    makeHost('step').vcpus(16, { stepSize: 4 }),
    makeHost('gpu').resource('VGPU', 4, { used: 3 }),
    makeHost('nodisk').without('DISK_GB'),
  ]);
  it.each([
    // [request vcpus, extra, expected per host]
    {
      ask: makeRequest().vcpus(2),
      want: { tight: 'ok', ratio: 'ok', trunc: 'insufficient VCPU', maxunit: 'VCPU above max_unit' },
    },
    {
      ask: makeRequest().vcpus(3),
      want: {
        tight: 'insufficient VCPU',
        ratio: 'insufficient VCPU',
        step: 'VCPU not a multiple of step_size',
      },
    },
    { ask: makeRequest().vcpus(4), want: { step: 'ok', trunc: 'insufficient VCPU' } },
    { ask: makeRequest().vcpus(1).resource('VGPU', 1), want: { gpu: 'ok', tight: 'insufficient VGPU' } },
    { ask: makeRequest().vcpus(1).resource('VGPU', 2), want: { gpu: 'insufficient VGPU' } },
    { ask: makeRequest().vcpus(1), want: { nodisk: 'insufficient DISK_GB', trunc: 'ok', maxunit: 'ok' } },
    { ask: makeRequest().vcpus(1).resource('CUSTOM_NOPE', 1), want: { gpu: 'insufficient CUSTOM_NOPE' } },
  ])('$want', ({ ask, want }) => {
    expect(verdicts('resources', snap, ask.build())).toMatchObject(want);
  });

  it('sees claims assumed earlier in the cycle, and their release', () => {
    const s = makeSnapshot([makeHost('h').vcpus(4)]);
    const req = makeRequest().vcpus(3).build();
    expect(verdicts('resources', s, req)).toEqual({ h: 'ok' });
    s.assume(0, { resources: [{ rc: 'VCPU', amount: 2 }] }); // 4 - 2 = 2 free < 3
    expect(verdicts('resources', s, req)).toEqual({ h: 'insufficient VCPU' });
    s.forget(0, { resources: [{ rc: 'VCPU', amount: 2 }] });
    expect(verdicts('resources', s, req)).toEqual({ h: 'ok' });
  });
});

describe('compute filter', () => {
  it('rejects disabled services and down hosts', () => {
    const snap = makeSnapshot([makeHost('up'), makeHost('off').disabled(), makeHost('dead').down()]);
    expect(verdicts('compute', snap, makeRequest().build())).toEqual({
      up: 'ok',
      off: 'service disabled',
      dead: 'host down',
    });
  });
});

describe('traits filter', () => {
  const snap = makeSnapshot([
    makeHost('avx').trait('HW_CPU_X86_AVX2'),
    makeHost('both').trait('HW_CPU_X86_AVX2', 'CUSTOM_GOLD'),
    makeHost('none'),
  ]);
  it.each([
    { ask: makeRequest(), want: { avx: 'skipped', both: 'skipped', none: 'skipped' } },
    {
      ask: makeRequest().trait('HW_CPU_X86_AVX2'),
      want: { avx: 'ok', both: 'ok', none: 'missing required trait HW_CPU_X86_AVX2' },
    },
    {
      ask: makeRequest().trait('HW_CPU_X86_AVX2').forbid('CUSTOM_GOLD'),
      want: {
        avx: 'ok',
        both: 'has forbidden trait CUSTOM_GOLD',
        none: 'missing required trait HW_CPU_X86_AVX2',
      },
    },
    // a forbidden trait no host has rejects nothing
    { ask: makeRequest().forbid('CUSTOM_NOBODY'), want: { avx: 'ok', both: 'ok', none: 'ok' } },
    // a required trait no host has rejects everyone up front
    {
      ask: makeRequest().trait('CUSTOM_NOBODY'),
      want: {
        avx: 'missing required trait CUSTOM_NOBODY',
        both: 'missing required trait CUSTOM_NOBODY',
        none: 'missing required trait CUSTOM_NOBODY',
      },
    },
  ])('$ask.fields', ({ ask, want }) => {
    expect(verdicts('traits', snap, ask.build())).toEqual(want);
  });
});

describe('availability-zone filter', () => {
  const snap = makeSnapshot(
    [makeHost('a1').aggregate('agg-a'), makeHost('b1').aggregate('agg-b', 'plain'), makeHost('bare')],
    [makeAggregate('agg-a').az('az-a'), makeAggregate('agg-b').az('az-b'), makeAggregate('plain')],
  );
  it.each([
    {
      az: 'az-a',
      want: {
        a1: 'ok',
        b1: 'not in the requested availability zone',
        bare: 'not in the requested availability zone',
      },
    },
    // hosts in no zoned aggregate are in the default zone 'nova'
    {
      az: 'nova',
      want: {
        a1: 'not in the requested availability zone',
        b1: 'not in the requested availability zone',
        bare: 'ok',
      },
    },
    {
      az: 'az-x',
      want: {
        a1: 'not in the requested availability zone',
        b1: 'not in the requested availability zone',
        bare: 'not in the requested availability zone',
      },
    },
  ])('zone $az', ({ az, want }) => {
    expect(verdicts('availability-zone', snap, makeRequest().az(az).build())).toEqual(want);
  });
  it('is skipped without a requested zone', () => {
    expect(verdicts('availability-zone', snap, makeRequest().build()).a1).toBe('skipped');
  });
});

describe('aggregate-extra-specs filter', () => {
  const snap = makeSnapshot(
    [makeHost('fast').aggregate('ssd', 'big'), makeHost('slow').aggregate('hdd'), makeHost('lone')],
    [
      makeAggregate('ssd').meta('disk', 'ssd').meta('tier', 'gold, silver'),
      makeAggregate('big').meta('cores', '64'),
      makeAggregate('hdd').meta('disk', 'hdd').meta('cores', '8'),
    ],
  );
  it.each([
    {
      key: 'disk',
      req: 'ssd',
      want: {
        fast: 'ok',
        slow: 'aggregate metadata disk does not match',
        lone: 'no aggregate metadata disk',
      },
    },
    // comma-separated metadata values are tried one by one
    { key: 'tier', req: 'silver', want: { fast: 'ok', slow: 'no aggregate metadata tier' } },
    // '=' is numeric >=: 64 >= 16 passes, 8 >= 16 fails
    { key: 'cores', req: '= 16', want: { fast: 'ok', slow: 'aggregate metadata cores does not match' } },
    {
      key: 'disk',
      req: '<or> hdd <or> nvme',
      want: { fast: 'aggregate metadata disk does not match', slow: 'ok' },
    },
    { key: 'disk', req: 's!= ssd', want: { fast: 'aggregate metadata disk does not match', slow: 'ok' } },
  ])('$key=$req', ({ key, req, want }) => {
    expect(
      verdicts('aggregate-extra-specs', snap, makeRequest().aggregateSpec(key, req).build()),
    ).toMatchObject(want);
  });
});

describe('tenant-isolation filter (AggregateMultiTenancyIsolation)', () => {
  const snap = makeSnapshot(
    [
      makeHost('p1only').aggregate('iso1'),
      makeHost('shared').aggregate('iso1', 'iso23'),
      makeHost('open').aggregate('plain'),
      makeHost('lone'),
    ],
    [
      makeAggregate('iso1').meta('filter_tenant_id', 'p1'),
      // any key starting with filter_tenant_id counts; values may be comma-separated
      makeAggregate('iso23').meta('filter_tenant_id_2', 'p2, p3'),
      makeAggregate('plain').meta('ssd', 'true'),
    ],
  );
  const other = 'isolated for other projects (filter_tenant_id)';
  it.each([
    { project: 'p1', want: { p1only: 'ok', shared: 'ok', open: 'ok', lone: 'ok' } },
    { project: 'p3', want: { p1only: other, shared: 'ok', open: 'ok', lone: 'ok' } },
    { project: 'p9', want: { p1only: other, shared: other, open: 'ok', lone: 'ok' } },
  ])('project $project', ({ project, want }) => {
    expect(verdicts('tenant-isolation', snap, makeRequest().project(project).build())).toMatchObject(want);
  });

  it('a request without a project stays off every isolated host', () => {
    expect(verdicts('tenant-isolation', snap, makeRequest().build())).toMatchObject({
      p1only: other,
      shared: other,
      open: 'ok',
    });
  });
});

describe('isolated-aggregates filter (trait:X=required on the aggregate)', () => {
  const snap = makeSnapshot(
    [
      makeHost('gpu').trait('CUSTOM_GPU').aggregate('gpus'),
      makeHost('plain').trait('CUSTOM_GPU').aggregate('misc'),
      makeHost('lone'),
    ],
    [makeAggregate('gpus').meta('trait:CUSTOM_GPU', 'required'), makeAggregate('misc').meta('x', '1')],
  );
  it.each([
    // a request requiring the trait may use the isolated host (nothing left to check: the stage is
    // skipped); one that does not is kept off it
    { ask: makeRequest().trait('CUSTOM_GPU'), want: { gpu: 'skipped', plain: 'skipped', lone: 'skipped' } },
    {
      ask: makeRequest(),
      want: { gpu: 'isolated aggregate requires trait CUSTOM_GPU', plain: 'ok', lone: 'ok' },
    },
  ])('$want', ({ ask, want }) => {
    expect(verdicts('isolated-aggregates', snap, ask.build())).toMatchObject(want);
  });
});

describe('extra-spec requirement operators (Nova extra_specs_ops)', () => {
  it.each([
    ['ssd', 'ssd', true],
    ['ssd', 'hdd', false],
    ['64', '= 16', true], // 64 >= 16
    ['8', '= 16', false],
    ['16', '== 16.0', true],
    ['16', '!= 16', false],
    ['10', '<= 9', false],
    ['x', '>= 1', false], // not a number: no match (Nova would raise)
    ['abc', 's< abd', true],
    ['abc', 's>= abd', false],
    ['avx avx2', '<in> avx2', true],
    ['avx avx2', '<all-in> avx avx2', true],
    ['avx', '<all-in> avx avx2', false],
    ['b', '<or> a <or> b', true],
    ['c', '<or> a <or> b', false],
    ['<foo>', '<foo>', true], // an unknown operator is a plain string
    ['x', '= ', false],
  ] as const)('%s matches %s → %s', (value, req, want) => {
    expect(matchesRequirement(value, req)).toBe(want);
  });
});

describe('server group filters', () => {
  const snap = makeSnapshot([makeHost('g2').group('g', 2), makeHost('g1').group('g', 1), makeHost('free')]);
  it('affinity: only hosts of the group once it has members', () => {
    expect(verdicts('affinity', snap, makeRequest().group('g', 'affinity').build())).toEqual({
      g2: 'ok',
      g1: 'ok',
      free: 'not a host of the affinity group',
    });
    // an empty group may start anywhere
    expect(verdicts('affinity', snap, makeRequest().group('new', 'affinity').build()).free).toBe('skipped');
  });
  it.each([
    // count < max_server_per_host passes
    {
      max: 1,
      want: {
        g2: 'max_server_per_host of the anti-affinity group reached',
        g1: 'max_server_per_host of the anti-affinity group reached',
        free: 'ok',
      },
    },
    { max: 2, want: { g2: 'max_server_per_host of the anti-affinity group reached', g1: 'ok', free: 'ok' } },
    { max: 3, want: { g2: 'ok', g1: 'ok', free: 'ok' } },
  ])('anti-affinity with max_server_per_host $max', ({ max, want }) => {
    expect(verdicts('anti-affinity', snap, makeRequest().group('g', 'anti-affinity', max).build())).toEqual(
      want,
    );
  });
  it('hard filters ignore soft policies', () => {
    const req = makeRequest().group('g', 'soft-anti-affinity').build();
    expect(verdicts('anti-affinity', snap, req).g2).toBe('skipped');
    expect(verdicts('affinity', snap, req).g2).toBe('skipped');
  });
});

describe('ignore-hosts and force-hosts filters', () => {
  const snap = makeSnapshot([
    makeHost('a').node('a-n'),
    makeHost('b').node('b-n'),
    makeHost('c').node('c-n'),
  ]);
  it.each([
    {
      f: 'ignore-hosts',
      ask: makeRequest().ignore('a', 'zz'),
      want: { a: 'in ignore_hosts', b: 'ok', c: 'ok' },
    },
    {
      f: 'force-hosts',
      ask: makeRequest().force('b'),
      want: { a: 'not in force_hosts/force_nodes', b: 'ok', c: 'not in force_hosts/force_nodes' },
    },
    {
      f: 'force-hosts',
      ask: makeRequest().forceNode('c-n'),
      want: { a: 'not in force_hosts/force_nodes', b: 'not in force_hosts/force_nodes', c: 'ok' },
    },
    // both lists: a host must be in both
    {
      f: 'force-hosts',
      ask: makeRequest().force('a', 'b').forceNode('b-n', 'c-n'),
      want: { a: 'not in force_hosts/force_nodes', b: 'ok', c: 'not in force_hosts/force_nodes' },
    },
    { f: 'force-hosts', ask: makeRequest(), want: { a: 'skipped', b: 'skipped', c: 'skipped' } },
  ])('$f', ({ f, ask, want }) => {
    expect(verdicts(f, snap, ask.build())).toEqual(want);
  });
});
