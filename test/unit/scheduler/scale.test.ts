/**
 * Sanity at shard scale, no timing assertions: 10,000 hosts build into a snapshot with few
 * classes, and default-profile requests run against it.
 */
import { describe, expect, it } from 'vitest';
import { select } from '../../../core/scheduler/pipeline.ts';
import {
  defaultProfile,
  makeAggregate,
  makeHosts,
  makeRequest,
  makeSnapshot,
} from '../../scheduler-builders.ts';

describe('10,000 hosts', () => {
  const N = 10_000;
  const hosts = makeHosts(N, (b, i) => {
    let h = b.vcpus(64, { allocationRatio: 4, used: i % 200 }).ram(262_144, { used: (i % 97) * 1024 });
    if (i % 10 === 0) h = h.trait('HW_CPU_X86_AVX2');
    if (i % 50 === 0) h = h.disabled();
    return h.aggregate(i % 2 === 0 ? 'east' : 'west');
  });
  const snap = makeSnapshot(hosts, [makeAggregate('east').az('east'), makeAggregate('west').az('west')]);

  it('builds a snapshot whose classes collapse identical hosts', () => {
    expect(snap.size).toBe(N);
    // classes: zone (2) × AVX2 or not × disabled or not, where present: far fewer than hosts
    expect(snap.cols.classCount).toBeLessThanOrEqual(8);
  });

  it('runs requests with the limit stopping early', () => {
    const r = select(
      snap,
      makeRequest('big').vcpus(8).ram(8192).trait('HW_CPU_X86_AVX2').az('east').instances(10).build(),
      defaultProfile(),
    );
    if (!r.ok) throw new Error(r.message);
    expect(r.selections).toHaveLength(10);
    for (const s of r.selections) expect(s.index % 10).toBe(0);
    // ceil(log2 10000) = 14 feasible hosts per instance, found well before a full scan
    for (const p of r.explain.placements) expect(p).toMatchObject({ feasible: 14, stoppedEarly: true });
    expect(r.explain.classCache.misses).toBeLessThanOrEqual(8);
  });
});
