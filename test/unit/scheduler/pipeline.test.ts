import { describe, expect, it } from 'vitest';
import { hasCode } from '../../../core/errors.ts';
import { select } from '../../../core/scheduler/pipeline.ts';
import { buildProfile } from '../../../core/scheduler/profile.ts';
import { defineStage, type Filter, StageRegistry } from '../../../core/scheduler/stage.ts';
import { BUILTIN_STAGES } from '../../../core/scheduler/stages/index.ts';
import {
  defaultProfile,
  makeHost,
  makeHosts,
  makeProfile,
  makeRequest,
  makeSnapshot,
} from '../../scheduler-builders.ts';

const hostsOf = (r: ReturnType<typeof select>) => (r.ok ? r.selections.map((s) => s.host) : []);

describe('select: determinism and the seeded shuffle', () => {
  const snap = makeSnapshot(makeHosts(200));
  const profile = defaultProfile();

  it('same request id, same snapshot → the same hosts, alternates and explanation', () => {
    const req = makeRequest('req-7').instances(3).build();
    const a = select(snap, req, profile);
    const b = select(snap, req, profile);
    expect(a).toEqual(b);
    expect(hostsOf(a)).toHaveLength(3);
  });

  it('different request ids spread over many hosts (identical hosts: the shuffle decides)', () => {
    const chosen = new Set<string>();
    for (let i = 0; i < 50; i++)
      chosen.add(hostsOf(select(snap, makeRequest(`req-${i}`).build(), profile))[0]!);
    // 50 draws among 200 equal hosts: collisions happen, but far more than a handful are distinct
    expect(chosen.size).toBeGreaterThan(30);
  });

  it('leaves the snapshot as found unless asked to keep assumptions', () => {
    const req = makeRequest('keep').vcpus(4).instances(2).build();
    const r = select(snap, req, profile);
    expect(r.ok && r.assumed).toEqual([]);
    for (let h = 0; h < snap.size; h++) expect(snap.free('VCPU', h)).toBe(16);
    const kept = select(snap, req, profile, { keepAssumptions: true });
    if (!kept.ok) throw new Error('expected a selection');
    expect(kept.assumed.map((a) => a.index)).toEqual(kept.selections.map((s) => s.index));
    for (const s of kept.selections) expect(snap.free('VCPU', s.index)).toBeLessThan(16);
    for (const a of kept.assumed) snap.forget(a.index, a.claim);
    for (let h = 0; h < snap.size; h++) expect(snap.free('VCPU', h)).toBe(16);
  });
});

describe('select: limit (Nomad-style) and the class cache', () => {
  it("'log2' stops after max(2, ceil(log2 n)) feasible hosts — never below 1 + alternates", () => {
    const snap = makeSnapshot(makeHosts(1000));
    const r = select(snap, makeRequest().build(), makeProfile(['resources'], ['ram'], { limit: 'log2' }));
    // ceil(log2 1000) = 10 ≥ 1 + 2 alternates
    expect(r.explain.placements[0]).toMatchObject({
      candidates: 1000,
      evaluated: 10,
      feasible: 10,
      limit: 10,
      stoppedEarly: true,
    });
    const few = select(
      makeSnapshot(makeHosts(4)),
      makeRequest().build(),
      makeProfile([], [], { limit: 'log2', alternates: 3 }),
    );
    // max(2, log2 4 = 2) = 2 < 1 + 3 alternates → 4
    expect(few.explain.placements[0]).toMatchObject({ evaluated: 4, limit: 4, stoppedEarly: false });
  });

  it('a configured count and "all"', () => {
    const snap = makeSnapshot(makeHosts(100));
    const count = select(snap, makeRequest().build(), makeProfile([], [], { limit: 25 }));
    expect(count.explain.placements[0]).toMatchObject({ evaluated: 25, stoppedEarly: true });
    const all = select(snap, makeRequest().build(), makeProfile([], [], { limit: 'all' }));
    expect(all.explain.placements[0]).toMatchObject({ evaluated: 100, stoppedEarly: false });
  });

  it('class-cacheable filters run once per host class, then hit the cache', () => {
    // 60 hosts in 3 classes: 20 disabled, 20 with AVX2, 20 plain
    const hosts = makeHosts(60, (b, i) =>
      i % 3 === 0 ? b.disabled() : i % 3 === 1 ? b.trait('HW_CPU_X86_AVX2') : b,
    );
    const snap = makeSnapshot(hosts);
    const r = select(
      snap,
      makeRequest().trait('HW_CPU_X86_AVX2').build(),
      makeProfile(['compute', 'traits', 'resources']),
    );
    expect(r.explain.classCache).toEqual({ misses: 3, hits: 57 });
    expect(r.explain.rejected).toEqual({
      compute: { 'service disabled': 20 },
      traits: { 'missing required trait HW_CPU_X86_AVX2': 20 },
    });
    expect(r.explain.feasible).toBe(20);
  });
});

describe('select: batches', () => {
  it('anti-affinity holds across the instances of one batch, alternates included', () => {
    const snap = makeSnapshot(makeHosts(5));
    const req = makeRequest('aa').group('g', 'anti-affinity').instances(5).build();
    const r = select(snap, req, defaultProfile());
    if (!r.ok) throw new Error(r.message);
    expect(new Set(hostsOf(r)).size).toBe(5);
    for (const s of r.selections) for (const a of s.alternates) expect(hostsOf(r)).not.toContain(a.host);
    // a 6th instance has nowhere to go: all or nothing
    const six = select(
      snap,
      makeRequest('aa').group('g', 'anti-affinity').instances(6).build(),
      defaultProfile(),
    );
    expect(six.ok).toBe(false);
    for (let h = 0; h < snap.size; h++) expect(snap.groupCount('g', h)).toBe(0);
  });

  it('max_server_per_host 2 lets two share a host', () => {
    const snap = makeSnapshot(makeHosts(2));
    const r = select(
      snap,
      makeRequest().group('g', 'anti-affinity', 2).instances(4).build(),
      defaultProfile(),
    );
    const counts = hostsOf(r).reduce((m, h) => m.set(h, (m.get(h) ?? 0) + 1), new Map<string, number>());
    expect([...counts.values()]).toEqual([2, 2]);
  });

  it('affinity: the first instance picks, the rest follow', () => {
    const snap = makeSnapshot(makeHosts(50));
    const r = select(snap, makeRequest().group('g', 'affinity').instances(4).build(), defaultProfile());
    expect(new Set(hostsOf(r)).size).toBe(1);
  });

  it('assume makes later instances see earlier claims: 3 × 6 VCPU over two 10-VCPU hosts does not fit', () => {
    // each host fits one 6-VCPU instance (10 - 6 = 4 < 6), so the third has nowhere to go
    const snap = makeSnapshot([makeHost('a').vcpus(10), makeHost('b').vcpus(10)]);
    const two = select(snap, makeRequest().vcpus(6).instances(2).build(), defaultProfile());
    expect(hostsOf(two).sort()).toEqual(['a', 'b']);
    const three = select(snap, makeRequest().vcpus(6).instances(3).build(), defaultProfile());
    expect(three.ok).toBe(false);
    // counts sum over instances: #2 rejects the host #1 took (1), #3 rejects both (2) → 3
    expect(three.ok || three.explain.rejected).toEqual({ resources: { 'insufficient VCPU': 3 } });
  });

  it('soft-anti-affinity spreads while it can, then doubles up', () => {
    const snap = makeSnapshot(makeHosts(3));
    const r = select(
      snap,
      makeRequest().group('g', 'soft-anti-affinity').instances(5).build(),
      defaultProfile(),
    );
    const counts = [
      ...hostsOf(r)
        .reduce((m, h) => m.set(h, (m.get(h) ?? 0) + 1), new Map<string, number>())
        .values(),
    ];
    expect(counts.sort()).toEqual([1, 2, 2]);
  });

  it('soft-affinity finds the group host even when the limit samples only a few hosts', () => {
    const hosts = makeHosts(1000, (b, i) => (i === 777 ? b.group('g', 1) : b));
    const snap = makeSnapshot(hosts);
    const profile = buildProfile({
      name: 'soft',
      filters: ['resources'],
      weighers: [{ name: 'soft-affinity', args: { multiplier: 10 } }, 'ram'],
      limit: 'log2',
    });
    for (let i = 0; i < 5; i++) {
      expect(
        hostsOf(select(snap, makeRequest(`s${i}`).group('g', 'soft-affinity').build(), profile)),
      ).toEqual(['h777']);
    }
  });
});

describe('select: results and explanations', () => {
  it('returns the selected host plus up to `alternates` next-best hosts', () => {
    const snap = makeSnapshot(makeHosts(10, (b, i) => b.ram(1024 * (i + 1))));
    const r = select(snap, makeRequest().build(), makeProfile(['resources'], ['ram'], { alternates: 3 }));
    if (!r.ok) throw new Error(r.message);
    // spread by free RAM: h9 (10 GiB) first, then h8, h7, h6
    expect([r.selections[0]!.host, ...r.selections[0]!.alternates.map((a) => a.host)]).toEqual([
      'h9',
      'h8',
      'h7',
      'h6',
    ]);
    expect(r.explain.placements[0]!.top[0]).toEqual({
      host: 'h9',
      total: 100,
      parts: [{ stage: 'ram', score: 100, multiplier: 1, weighted: 100 }],
    });
  });

  it('noValidHost explains every rejection and says whether a retry can help', () => {
    const snap = makeSnapshot([
      makeHost('off').disabled(),
      makeHost('small').vcpus(2),
      makeHost('x').trait('CUSTOM_X'),
    ]);
    const r = select(snap, makeRequest('nv').vcpus(4).forbid('CUSTOM_X').build(), defaultProfile());
    if (r.ok) throw new Error('expected noValidHost');
    expect(r.explain.rejected).toEqual({
      compute: { 'service disabled': 1 },
      traits: { 'has forbidden trait CUSTOM_X': 1 },
      resources: { 'insufficient VCPU': 1 },
    });
    expect(r.retryable).toBe(true); // insufficient VCPU may clear up
    expect(r.message).toMatch(/^No valid host was found for instance 1 of 1: /);
    const hopeless = select(snap, makeRequest().vcpus(1).trait('CUSTOM_NOBODY').build(), defaultProfile());
    expect(!hopeless.ok && hopeless.retryable).toBe(false);
    expect(hopeless.explain.rejected).toEqual({ traits: { 'missing required trait CUSTOM_NOBODY': 3 } });
  });

  it('counts hosts outside force_hosts against force-hosts without evaluating them', () => {
    const snap = makeSnapshot(makeHosts(100));
    const r = select(snap, makeRequest().force('h42').build(), defaultProfile());
    expect(hostsOf(r)).toEqual(['h42']);
    expect(r.explain.evaluated).toBe(1);
    expect(r.explain.rejected['force-hosts']).toEqual({ 'not in force_hosts/force_nodes': 99 });
    expect(r.explain.skipped).toContain('traits');
  });

  it('a stage that throws fails the request with internal and leaves no assumption behind', () => {
    const boom = defineStage({
      name: 'boom',
      kind: 'filter',
      doc: 'throws on h3',
      parseArgs: () => ({}),
      create: (): Filter => ({
        kind: 'filter',
        name: 'boom',
        classCacheable: false,
        cost: 1,
        prepare: () => ({
          test: (h) => {
            if (h === 3) throw new Error('kaboom');
            return { code: 'success', reason: '', stage: '' };
          },
        }),
      }),
    });
    const registry = new StageRegistry([...BUILTIN_STAGES, boom]);
    const profile = buildProfile({ name: 'b', filters: ['boom'], weighers: [], limit: 'all' }, registry);
    const snap = makeSnapshot(makeHosts(5));
    let caught: unknown;
    try {
      select(snap, makeRequest().instances(1).build(), profile);
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'internal')).toBe(true);
    for (let h = 0; h < 5; h++) expect(snap.free('VCPU', h)).toBe(16);
  });
});
