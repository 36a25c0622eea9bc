import { describe, expect, it } from 'vitest';
import { hasCode } from '../../../core/errors.ts';
import {
  buildProfile,
  DEFAULT_PROFILE_SPEC,
  feasibleLimit,
  type ProfileSpec,
} from '../../../core/scheduler/profile.ts';
import { BUILTIN_STAGES } from '../../../core/scheduler/stages/index.ts';

describe('profiles', () => {
  it('the default profile builds every built-in stage, with Nova multipliers', () => {
    const p = buildProfile(DEFAULT_PROFILE_SPEC);
    expect([...p.filters, ...p.weighers].map((s) => s.name).sort()).toEqual(
      BUILTIN_STAGES.map((f) => f.name).sort(),
    );
    expect(p.weighers.map((w) => [w.name, w.multiplier])).toEqual([
      ['ram', 1],
      ['cpu', 1],
      ['disk', 1],
      ['build-failure', 1_000_000],
      ['metrics', 1],
      ['soft-affinity', 1],
      ['soft-anti-affinity', 1],
    ]);
    expect(p).toMatchObject({ limit: 'log2', alternates: 2 });
  });

  it.each([
    { spec: { filters: ['nope'] }, msg: /unknown stage 'nope' \(known: affinity, / },
    { spec: { filters: ['ram'] }, msg: /stage 'ram' is a weigher, not a filter/ },
    { spec: { weighers: ['ram', 'ram'] }, msg: /'ram' is listed twice/ },
    {
      spec: { weighers: [{ name: 'ram', args: { multipler: 2 } }] },
      msg: /stage ram: unknown argument 'multipler'/,
    },
    {
      spec: { weighers: [{ name: 'ram', args: { multiplier: 'big' } }] },
      msg: /multiplier must be a finite number/,
    },
    { spec: { filters: [{ name: 'compute', args: { x: 1 } }] }, msg: /unknown argument 'x' \(known: none\)/ },
    {
      spec: { weighers: [{ name: 'metrics', args: { settings: { cpu: 'x' } } }] },
      msg: /ratio of cpu must be finite/,
    },
    { spec: { limit: 0 }, msg: /limit: must be 'log2', 'all' or an integer >= 1/ },
    { spec: { alternates: 17 }, msg: /alternates: must be an integer in 0..16/ },
  ] as { spec: Partial<ProfileSpec>; msg: RegExp }[])('rejects $msg', ({ spec, msg }) => {
    let caught: unknown;
    try {
      buildProfile({ name: 'p', filters: [], weighers: [], ...spec });
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'invalid')).toBe(true);
    expect((caught as Error).message).toMatch(msg);
  });

  it.each([
    // [limit, candidates, alternates, expected]
    ['log2', 1, 0, 2], // max(2, ceil(log2 1) = 0) = 2
    ['log2', 10_000, 2, 14], // ceil(log2 10000) = ceil(13.29) = 14
    ['log2', 16, 5, 6], // log2 16 = 4 < 1 + 5
    [64, 10_000, 2, 64],
    [1, 100, 2, 3], // never fewer than 1 + alternates
    ['all', 5, 0, Number.POSITIVE_INFINITY],
  ] as const)('feasibleLimit(%s, %i hosts, %i alternates) = %s', (limit, n, alt, want) => {
    expect(feasibleLimit(limit, n, alt)).toBe(want);
  });
});
