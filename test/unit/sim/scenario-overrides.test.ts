/**
 * applyOverrides: --hosts scales to an exact total, --cells re-spreads keeping each profile's
 * total, --seed/--duration replace run values; the result is re-checked and frozen.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyOverrides, type Scenario, ScenarioError } from '../../../sim/scenario.ts';
import { scaleToTotal } from '../../../sim/scenario-layout.ts';
import { BASE, edit, parse } from './scenario-fixture.ts';

const byCell = (s: Scenario) =>
  Object.fromEntries(
    s.fleet.cells.map((c) => [c.name, Object.fromEntries(c.hostGroups.map((g) => [g.profile, g.count]))]),
  );
const profileTotals = (s: Scenario) => {
  const out: Record<string, number> = {};
  for (const c of s.fleet.cells)
    for (const g of c.hostGroups) out[g.profile] = (out[g.profile] ?? 0) + g.count;
  return out;
};

const GENERATED = edit('cells: [c1, c2]', 'cells: { count: 4, name_prefix: z }').replace(
  'count_per_cell: { c2: 2 }',
  'count_per_cell: { z2: 2 }',
);

describe('applyOverrides', () => {
  const base = parse(BASE); // c1: gen 5; c2: gen 5, bm 2

  it('--hosts scales every group to exactly N by largest remainder', () => {
    // weights 5, 5, 2 of 12 → 24: 10, 10, 4 exactly.
    expect(byCell(applyOverrides(base, { hosts: 24 }))).toEqual({ c1: { gen: 10 }, c2: { gen: 10, bm: 4 } });
    // → 7: 2.916, 2.916, 1.166 → floors 2, 2, 1 (5); the two largest remainders get +1: 3, 3, 1.
    expect(byCell(applyOverrides(base, { hosts: 7 }))).toEqual({ c1: { gen: 3 }, c2: { gen: 3, bm: 1 } });
  });

  it('--hosts keeps at least one host of every profile while N allows', () => {
    // 5, 5, 2 of 12 → 2: 0.83, 0.83, 0.33 → 1, 1, 0; bm would vanish, so it takes one from gen.
    expect(byCell(applyOverrides(base, { hosts: 2 }))).toEqual({ c1: {}, c2: { gen: 1, bm: 1 } });
    // With 1 host there is no room for both: the bare-metal flavor can no longer fit anywhere.
    expect(() => applyOverrides(base, { hosts: 1 })).toThrow(/flavor "metal": needs CUSTOM_BAREMETAL_GOLD/);
  });

  it('--cells with listed cells: keeps the first names, adds cell<k>, all-cells profiles re-dealt', () => {
    const s = applyOverrides(base, { cells: 3 });
    // gen (count 10 over all cells) → 4, 3, 3; bm (pinned to c2) stays in c2.
    expect(byCell(s)).toEqual({ c1: { gen: 4 }, c2: { gen: 3, bm: 2 }, cell3: { gen: 3 } });
    expect(s.fleet.totalHosts).toBe(12);
  });

  it('--cells fewer: hosts of a pinned profile move to its surviving cells or to all cells', () => {
    const s = applyOverrides(base, { cells: 1 });
    expect(byCell(s)).toEqual({ c1: { gen: 10, bm: 2 } });
  });

  it('--cells with generated names regenerates them', () => {
    const g = parse(GENERATED);
    expect(g.fleet.cells.map((c) => c.name)).toEqual(['z1', 'z2', 'z3', 'z4']);
    const s = applyOverrides(g, { cells: 2 });
    expect(byCell(s)).toEqual({ z1: { gen: 5 }, z2: { gen: 5, bm: 2 } });
  });

  it('--seed and --duration replace run values; default ends follow the duration', () => {
    const s = applyOverrides(base, { seed: 99, durationMs: 1_200_000 });
    expect(s.run.seed).toBe(99);
    expect(s.run.durationMs).toBe(1_200_000);
    expect(s.workload.arrivals[0]!.endMs).toBe(1_200_000);
    expect(base.run.seed).toBe(5);
    expect(Object.isFrozen(s.fleet.cells)).toBe(true);
  });

  it('re-checks: a fault beyond a shortened duration is an error naming the flags', () => {
    const err = (() => {
      try {
        applyOverrides(base, { durationMs: 60_000 });
      } catch (e) {
        return e as ScenarioError;
      }
    })();
    expect(err).toBeInstanceOf(ScenarioError);
    expect(err!.message.split('\n')[0]).toBe('test.yaml: after --duration 1m: 1 problem:');
    expect(err!.message).toContain('test.yaml: faults[0].at: 2m is not within the run (duration 1m)');
  });

  it('re-checks: a fault naming a cell that --cells removes', () => {
    const t = edit('    count: 1\n', '    count: 1\n    cell: c2\n');
    expect(() => applyOverrides(parse(t), { cells: 1 })).toThrow(
      /faults\[0\].cell: names a cell that --cells 1 leaves out/,
    );
  });

  it('rejects bad flag values', () => {
    expect(() => applyOverrides(base, { hosts: 0 })).toThrow(/--hosts: must be an integer in 1\.\./);
    expect(() => applyOverrides(base, { cells: 1.5 })).toThrow(/--cells/);
  });

  it('safety: --hosts N gives exactly N hosts, each profile near its share and never emptied', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5_000 }), fc.integer({ min: 1, max: 8 }), (hosts, cells) => {
        const s = applyOverrides(base, { cells, hosts });
        expect(s.fleet.totalHosts).toBe(hosts);
        const t = profileTotals(s);
        const groups = s.fleet.cells.length;
        expect(Math.abs((t.gen ?? 0) - (hosts * 10) / 12)).toBeLessThanOrEqual(groups);
        expect(t.bm).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 200 },
    );
  });

  it('safety: --cells keeps every profile total', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), (cells) => {
        expect(profileTotals(applyOverrides(base, { cells }))).toEqual({ gen: 10, bm: 2 });
      }),
      { numRuns: 40 },
    );
  });

  it('safety: scaleToTotal sums to the total and keeps zero weights at zero', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1_000), { minLength: 1, maxLength: 30 }), fc.nat(100_000), (ws, total) => {
        const out = scaleToTotal(ws, total);
        const sum = ws.reduce((a, b) => a + b, 0);
        expect(out.reduce((a, b) => a + b, 0)).toBe(sum === 0 ? 0 : total);
        ws.forEach((w, i) => {
          if (w === 0) expect(out[i]).toBe(0);
          else expect(Math.abs(out[i]! - (w * total) / sum)).toBeLessThan(1);
        });
      }),
    );
  });
});
