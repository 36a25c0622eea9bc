import { describe, expect, it } from 'vitest';
import { hasCode } from '../../../core/errors.ts';
import { HostState } from '../../../core/scheduler/snapshot.ts';
import { fromHosts } from '../../../core/scheduler/snapshot-build.ts';
import { makeAggregate, makeHost, makeSnapshot } from '../../scheduler-builders.ts';

const throwsInvalid = (fn: () => unknown, msg: RegExp) => {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(hasCode(caught, 'invalid')).toBe(true);
  expect((caught as Error).message).toMatch(msg);
};

describe('snapshot columns', () => {
  const snap = makeSnapshot(
    [
      makeHost('a')
        .vcpus(32, { reserved: 4, allocationRatio: 16, used: 10 })
        .trait('CUSTOM_A')
        .aggregate('z1'),
      makeHost('b').disabled().trait('CUSTOM_A').aggregate('z1'),
      makeHost('c').down().failedBuilds(2).metric('cpu.percent', 40).group('g', 3),
      makeHost('d').trait('CUSTOM_A').aggregate('z1'),
    ],
    [makeAggregate('z1').az('east').meta('tier', 'gold,silver')],
    { generation: 7 },
  );
  it('computes capacity as trunc((total - reserved) × ratio) and free after usage', () => {
    // (32 - 4) × 16 = 448; free = 448 - 10 = 438
    expect(snap.column('VCPU')!.capacity[0]).toBe(448);
    expect(snap.free('VCPU', 0)).toBe(438);
    expect(snap.free('VGPU', 0)).toBe(0);
  });
  it('keeps state, traits, zones, aggregates, metrics, failures and groups per host', () => {
    expect([...snap.cols.state]).toEqual([HostState.up, HostState.disabled, HostState.down, HostState.up]);
    const t = snap.traitId('CUSTOM_A');
    expect([0, 1, 2, 3].map((h) => snap.hasTrait(h, t))).toEqual([true, true, false, true]);
    expect(snap.traitId('CUSTOM_NONE')).toBe(-1);
    expect([...snap.cols.zone].map((z) => snap.cols.zoneNames[z])).toEqual(['east', 'east', 'nova', 'east']);
    expect(snap.cols.aggregateMetadata[0]!.get('tier')).toEqual(['gold', 'silver']);
    expect(snap.cols.failedBuilds[2]).toBe(2);
    expect(Number.isNaN(snap.cols.metrics.get('cpu.percent')![0]!)).toBe(true);
    expect(snap.cols.metrics.get('cpu.percent')![2]).toBe(40);
    expect(snap.groupHosts('g')).toEqual([2]);
    expect(snap.generation).toBe(7);
  });
  it('gives hosts with identical static attributes the same class', () => {
    // a and d: up, CUSTOM_A, z1 → one class; b differs by state; c by everything
    expect(snap.classOf(0)).toBe(snap.classOf(3));
    expect(new Set([0, 1, 2].map((h) => snap.classOf(h))).size).toBe(3);
    expect(snap.cols.classCount).toBe(3);
  });
});

describe('assume / forget', () => {
  it('books resources and group membership, and undoes exactly one assume', () => {
    const snap = makeSnapshot([makeHost('a').vcpus(8)]);
    const claim = { resources: [{ rc: 'VCPU', amount: 3 }], groupId: 'g' };
    snap.assume(0, claim);
    snap.assume(0, claim);
    expect(snap.free('VCPU', 0)).toBe(2); // 8 - 3 - 3
    expect(snap.groupCount('g', 0)).toBe(2);
    snap.forget(0, claim);
    expect(snap.free('VCPU', 0)).toBe(5);
    expect(snap.groupHosts('g')).toEqual([0]);
    snap.forget(0, claim);
    expect(snap.groupHosts('g')).toEqual([]);
    throwsInvalid(() => snap.forget(0, claim), /was not assumed/);
    expect(snap.free('VCPU', 0)).toBe(8); // a refused forget changes nothing
  });
  it('refuses unknown hosts and classes', () => {
    const snap = makeSnapshot([makeHost('a')]);
    throwsInvalid(() => snap.assume(1, { resources: [] }), /outside 0..0/);
    throwsInvalid(
      () => snap.assume(0, { resources: [{ rc: 'VGPU', amount: 1 }] }),
      /no host of this snapshot has VGPU/,
    );
  });
});

describe('fromHosts validation', () => {
  it.each([
    { hosts: [makeHost('a'), makeHost('a')], msg: /duplicate host name a/ },
    { hosts: [makeHost('a').node('n'), makeHost('b').node('n')], msg: /duplicate node name n/ },
    { hosts: [makeHost('a').aggregate('nope')], msg: /unknown aggregate nope/ },
    {
      hosts: [makeHost('a').vcpus(4, { reserved: 5 })],
      msg: /host a VCPU: the reserved value is greater than total/,
    },
    { hosts: [makeHost('a').vcpus(4, { used: -1 })], msg: /used must be an integer/ },
    { hosts: [makeHost('a').failedBuilds(-1)], msg: /failedBuilds/ },
    { hosts: [makeHost('a').metric('m', Number.NaN)], msg: /metric m must be finite/ },
    { hosts: [makeHost('a').aggregate('z1', 'z2')], msg: /several availability zones/ },
  ])('$msg', ({ hosts, msg }) => {
    const aggs = [makeAggregate('z1').az('one').build(), makeAggregate('z2').az('two').build()];
    throwsInvalid(
      () =>
        fromHosts(
          hosts.map((h) => h.build()),
          aggs,
        ),
      msg,
    );
  });
});
