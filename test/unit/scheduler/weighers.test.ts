import { describe, expect, it } from 'vitest';
import { select } from '../../../core/scheduler/pipeline.ts';
import { normalise } from '../../../core/scheduler/score.ts';
import { makeHost, makeProfile, makeRequest, makeSnapshot } from '../../scheduler-builders.ts';
import { weights } from './helpers.ts';

describe('normalise (Nova: min → 0, max → 1, all equal → 0; here × 100, rounded)', () => {
  it.each([
    // (v - min) / (max - min) × 100: min 5, max 20 → 10 → 33.3 → 33, 15 → 66.7 → 67
    [
      [5, 5, 10, 10, 15, 20, 20, 15, 10, 5],
      [0, 0, 33, 33, 67, 100, 100, 67, 33, 0],
    ],
    [
      [7, 7, 7],
      [0, 0, 0],
    ],
    [
      [-3, 0, 1],
      [0, 75, 100],
    ], // range 4: 3/4 → 75
    [[], []],
  ])('%j → %j', (raw, want) => {
    expect([...normalise(Float64Array.from(raw))]).toEqual(want);
  });
});

describe('free-capacity weighers', () => {
  const snap = makeSnapshot([
    // free RAM: 32768 - 0 = 32768 | free VCPU: 16×2.0 - 4 = 28 | free disk 500 - 100 = 400
    makeHost('a').ram(32_768).vcpus(16, { allocationRatio: 2, used: 4 }).disk(500, { used: 100 }),
    // free RAM: 65536 - 49152 = 16384 | free VCPU: 8 - 0 = 8 | free disk 1000
    makeHost('b').ram(65_536, { used: 49_152 }).vcpus(8).disk(1000),
    // free RAM: 8192 - 0 = 8192 | free VCPU: 16 - 16 = 0 | free disk 1000 - 1000 = 0
    makeHost('c').ram(8192).vcpus(16, { used: 16 }).disk(1000, { used: 1000 }),
  ]);
  const req = makeRequest().build();
  it.each([
    // ram: min 8192, max 32768, range 24576: b = (16384 - 8192) / 24576 = 0.333 → 33
    { w: 'ram', want: { a: [32_768, 100], b: [16_384, 33], c: [8192, 0] } },
    // cpu: min 0, max 28: b = 8/28 = 0.286 → 29
    { w: 'cpu', want: { a: [28, 100], b: [8, 29], c: [0, 0] } },
    // disk: min 0, max 1000: a = 400/1000 → 40
    { w: 'disk', want: { a: [400, 40], b: [1000, 100], c: [0, 0] } },
  ])('$w', ({ w, want }) => {
    expect(weights(w, snap, req)).toEqual(want);
  });

  it('positive multiplier spreads (most free RAM wins), negative packs (least free wins)', () => {
    const hosts = [makeHost('roomy').ram(65_536), makeHost('half').ram(65_536, { used: 32_768 })];
    const s = makeSnapshot(hosts);
    const spread = select(s, req, makeProfile([], [{ name: 'ram', args: { multiplier: 1 } }]));
    const pack = select(s, req, makeProfile([], [{ name: 'ram', args: { multiplier: -1 } }]));
    expect(spread.ok && spread.selections[0]!.host).toBe('roomy');
    expect(pack.ok && pack.selections[0]!.host).toBe('half');
    // totals: spread roomy = 1 × 100, half = 1 × 0; pack roomy = -1 × 100 = -100, half = 0
    expect(pack.explain.placements[0]!.top.map((t) => [t.host, t.total])).toEqual([
      ['half', 0],
      ['roomy', -100],
    ]);
  });
});

describe('build-failure weigher', () => {
  it('raw weight is minus the failed builds; the default multiplier is 1e6', () => {
    // raw -0, -3, -1: min -3, max 0 → ok: 100, flaky: 0, once: (−1+3)/3 = 0.667 → 67
    const snap = makeSnapshot([
      makeHost('ok'),
      makeHost('flaky').failedBuilds(3),
      makeHost('once').failedBuilds(1),
    ]);
    expect(weights('build-failure', snap, makeRequest().build())).toEqual({
      ok: [-0, 100],
      flaky: [-3, 0],
      once: [-1, 67],
    });
    const r = select(snap, makeRequest().build(), makeProfile([], ['ram', 'build-failure']));
    expect(r.ok && r.explain.placements[0]!.top[0]!.parts.find((p) => p.stage === 'build-failure')).toEqual({
      stage: 'build-failure',
      score: 100,
      multiplier: 1_000_000,
      weighted: 100_000_000,
    });
  });
});

describe('metrics weigher', () => {
  const snap = makeSnapshot([
    makeHost('idle').metric('cpu.percent', 10).metric('io.wait', 1),
    makeHost('busy').metric('cpu.percent', 90).metric('io.wait', 5),
    makeHost('mute').metric('cpu.percent', 50),
  ]);
  const req = makeRequest().build();
  it('weighs Σ ratio × value; a missing metric weighs weightOfUnavailable', () => {
    const settings = { 'cpu.percent': -1, 'io.wait': -2 };
    // idle: -10 - 2 = -12; busy: -90 - 10 = -100; mute: missing io.wait → -10000
    // min -10000, max -12: busy = (−100 + 10000) / 9988 = 0.9912 → 99
    expect(weights('metrics', snap, req, { settings })).toEqual({
      idle: [-12, 100],
      busy: [-100, 99],
      mute: [-10_000, 0],
    });
    // with weightOfUnavailable 0, mute (0) is the best: min -100, max 0 → idle = 88/100 → 88
    expect(weights('metrics', snap, req, { settings, weightOfUnavailable: 0 })).toEqual({
      idle: [-12, 88],
      busy: [-100, 0],
      mute: [0, 100],
    });
  });
  it('is skipped without settings', () => {
    expect(weights('metrics', snap, req)).toBeNull();
  });
});

describe('soft server-group weighers', () => {
  const snap = makeSnapshot([makeHost('two').group('g', 2), makeHost('one').group('g', 1), makeHost('none')]);
  it('soft-affinity weighs members on the host; soft-anti-affinity minus that', () => {
    // affinity raw 2,1,0 → 100, 50, 0; anti raw -2,-1,0 → 0, 50, 100
    expect(weights('soft-affinity', snap, makeRequest().group('g', 'soft-affinity').build())).toEqual({
      two: [2, 100],
      one: [1, 50],
      none: [0, 0],
    });
    expect(
      weights('soft-anti-affinity', snap, makeRequest().group('g', 'soft-anti-affinity').build()),
    ).toEqual({
      two: [-2, 0],
      one: [-1, 50],
      none: [-0, 100],
    });
  });
  it('each is skipped for other policies', () => {
    expect(weights('soft-affinity', snap, makeRequest().group('g', 'anti-affinity').build())).toBeNull();
    expect(weights('soft-anti-affinity', snap, makeRequest().build())).toBeNull();
  });
});
