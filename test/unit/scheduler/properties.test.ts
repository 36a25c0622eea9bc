/**
 * Safety properties of the scheduler pipeline over random small fleets and requests. fast-check
 * prints the seed and path of a failing run; replay with `fc.assert(..., { seed, path })`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { select } from '../../../core/scheduler/pipeline.ts';
import { buildProfile, DEFAULT_PROFILE_SPEC, type Profile } from '../../../core/scheduler/profile.ts';
import type { GroupPolicy, RequestSpec } from '../../../core/scheduler/request.ts';
import type { Snapshot } from '../../../core/scheduler/snapshot.ts';
import {
  type HostBuilder,
  makeAggregate,
  makeHost,
  makeRequest,
  makeSnapshot,
} from '../../scheduler-builders.ts';

const RUNS = { numRuns: 200 };
type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
const TRAITS = ['HW_CPU_X86_AVX2', 'CUSTOM_GOLD', 'CUSTOM_SLOW'];
const AGGREGATES = [makeAggregate('az-a').az('a'), makeAggregate('az-b').az('b').meta('disk', 'ssd')];

const hostArb = fc.record({
  vcpus: fc.integer({ min: 1, max: 16 }),
  ratio: fc.constantFrom(1, 2, 4),
  usedPart: fc.integer({ min: 0, max: 100 }),
  ramGb: fc.integer({ min: 1, max: 8 }),
  traits: fc.subarray(TRAITS),
  agg: fc.constantFrom(null, 'az-a', 'az-b'),
  state: fc.constantFrom('up', 'up', 'up', 'disabled', 'down'),
  group: fc.integer({ min: 0, max: 2 }),
  failed: fc.integer({ min: 0, max: 3 }),
});

function host(i: number, h: ValueOf<typeof hostArb>): HostBuilder {
  const cap = h.vcpus * h.ratio;
  let b = makeHost(`h${i}`)
    .vcpus(h.vcpus, { allocationRatio: h.ratio, used: Math.floor((cap * h.usedPart) / 100) })
    .ram(h.ramGb * 1024)
    .trait(...h.traits)
    .failedBuilds(h.failed);
  if (h.agg) b = b.aggregate(h.agg);
  if (h.state === 'disabled') b = b.disabled();
  if (h.state === 'down') b = b.down();
  if (h.group > 0) b = b.group('g', h.group);
  return b;
}

const requestArb = fc.record({
  id: fc.string({ minLength: 1, maxLength: 8 }),
  vcpus: fc.integer({ min: 1, max: 8 }),
  ramMb: fc.constantFrom(256, 1024, 2048),
  instances: fc.integer({ min: 1, max: 4 }),
  trait: fc.constantFrom(null, ...TRAITS),
  forbid: fc.constantFrom(null, 'CUSTOM_SLOW'),
  az: fc.constantFrom(null, 'a', 'b', 'nova'),
  ssd: fc.boolean(),
  policy: fc.constantFrom<GroupPolicy | null>(
    null,
    'affinity',
    'anti-affinity',
    'soft-affinity',
    'soft-anti-affinity',
  ),
  max: fc.integer({ min: 1, max: 2 }),
});

function request(r: ValueOf<typeof requestArb>): RequestSpec {
  let b = makeRequest(r.id).vcpus(r.vcpus).ram(r.ramMb).disk(0).instances(r.instances);
  if (r.trait) b = b.trait(r.trait);
  if (r.forbid && r.forbid !== r.trait) b = b.forbid(r.forbid);
  if (r.az) b = b.az(r.az);
  if (r.ssd) b = b.aggregateSpec('disk', 'ssd');
  if (r.policy) b = b.group('g', r.policy, r.policy === 'anti-affinity' ? r.max : 1);
  return b.build();
}

const caseArb = fc.record({
  hosts: fc.array(hostArb, { minLength: 1, maxLength: 12 }),
  req: requestArb,
  limit: fc.constantFrom<Profile['limit']>('log2', 'all', 1, 3),
});

function setup(c: ValueOf<typeof caseArb>) {
  const snapshot = makeSnapshot(
    c.hosts.map((h, i) => host(i, h)),
    AGGREGATES,
  );
  const profile = buildProfile({ ...DEFAULT_PROFILE_SPEC, limit: c.limit });
  return { snapshot, profile, req: request(c.req) };
}

/** Every filter of the profile passes host h right now (the `only` sets included). */
function passesAll(snapshot: Snapshot, req: RequestSpec, profile: Profile, h: number): string[] {
  const failures: string[] = [];
  for (const f of profile.filters) {
    const p = f.prepare({ snapshot, request: req });
    if (!p) continue;
    if (p.only && !p.only.hosts.includes(h)) failures.push(`${f.name}: ${p.only.status.reason}`);
    const s = p.test(h);
    if (s.code !== 'success') failures.push(`${f.name}: ${s.reason}`);
  }
  return failures;
}

describe('scheduler safety properties', () => {
  it('a selected host passes every filter, given the placements before it in its batch', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { snapshot, profile, req } = setup(c);
        const r = select(snapshot, req, profile);
        if (!r.ok) return;
        const claim = { resources: req.resources, groupId: req.group?.id ?? null };
        for (const s of r.selections) {
          expect(passesAll(snapshot, req, profile, s.index)).toEqual([]);
          snapshot.assume(s.index, claim);
        }
      }),
      RUNS,
    );
  });

  it('assume never lets a batch overcommit a host, nor break anti-affinity', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { snapshot, profile, req } = setup(c);
        const r = select(snapshot, req, profile, { keepAssumptions: true });
        for (const rc of ['VCPU', 'MEMORY_MB', 'DISK_GB']) {
          for (let h = 0; h < snapshot.size; h++) expect(snapshot.free(rc, h)).toBeGreaterThanOrEqual(0);
        }
        if (r.ok && req.group?.policy === 'anti-affinity') {
          for (let h = 0; h < snapshot.size; h++) {
            const before = c.hosts[h]!.group;
            expect(snapshot.groupCount('g', h) - before).toBeLessThanOrEqual(
              Math.max(0, req.group.maxServerPerHost - before),
            );
          }
        }
        if (!r.ok)
          for (let h = 0; h < snapshot.size; h++) expect(snapshot.groupCount('g', h)).toBe(c.hosts[h]!.group);
      }),
      RUNS,
    );
  });

  it('every stage score is an integer in 0..100 and totals are Σ multiplier × score', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { snapshot, profile, req } = setup(c);
        const r = select(snapshot, req, profile);
        for (const p of r.explain.placements) {
          for (const t of p.top) {
            let sum = 0;
            for (const part of t.parts) {
              expect(Number.isInteger(part.score) && part.score >= 0 && part.score <= 100).toBe(true);
              expect(part.weighted).toBe(part.multiplier * part.score);
              sum += part.weighted;
            }
            expect(t.total).toBeCloseTo(sum, 6);
          }
        }
      }),
      RUNS,
    );
  });

  it('replays exactly: the same request on the same snapshot selects the same hosts', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { snapshot, profile, req } = setup(c);
        expect(select(snapshot, req, profile)).toEqual(select(snapshot, req, profile));
      }),
      { numRuns: 100 },
    );
  });
});
