/**
 * Where hosts go: turns profiles (with their spread over cells) and per-cell overrides into the
 * per-cell host groups of a Scenario. Pure; shared by the parser and applyOverrides.
 */

import type { CellOverride, CellSpec, HostGroup, HostProfile, ProfileSpread } from './scenario-types.ts';

/** Deals `count` evenly over `n` slots; the first `count % n` slots get one more. */
export function dealEvenly(count: number, n: number): number[] {
  if (n <= 0) return [];
  const base = Math.floor(count / n);
  const extra = count % n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * Scales integer `weights` to integers summing to exactly `total`, by largest remainder
 * (Hamilton); ties go to the earlier slot. Zero weights stay zero.
 */
export function scaleToTotal(weights: readonly number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (w * total) / sum);
  const out = exact.map((x) => Math.floor(x));
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact
    .map((x, i) => ({ i, frac: x - Math.floor(x) }))
    .filter(({ i }) => weights[i]! > 0)
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let k = 0; left > 0 && k < order.length; k++, left--) out[order[k]!.i]!++;
  return out;
}

/** Hosts of one profile by cell name, before per-cell overrides. */
export function spreadCounts(spread: ProfileSpread, cellNames: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  if (spread.kind === 'map') {
    for (const [cell, n] of Object.entries(spread.counts)) if (cellNames.includes(cell)) out.set(cell, n);
    return out;
  }
  const targets = (spread.cells ?? cellNames).filter((c) => cellNames.includes(c));
  const counts =
    spread.kind === 'even' ? dealEvenly(spread.count, targets.length) : targets.map(() => spread.count);
  targets.forEach((c, i) => {
    out.set(c, counts[i]!);
  });
  return out;
}

/** The cells with their host groups: spread, then per-cell overrides (count, ratios, zone). */
export function resolveCells(
  cellNames: readonly string[],
  profiles: Readonly<Record<string, HostProfile>>,
  overrides: Readonly<Record<string, CellOverride>>,
  countsOverride?: ReadonlyMap<string, ReadonlyMap<string, number>>,
): CellSpec[] {
  const byProfile = new Map<string, Map<string, number>>();
  for (const p of Object.values(profiles)) {
    const counts = countsOverride?.get(p.name) ?? spreadCounts(p.spread, cellNames);
    const m = new Map(counts);
    if (countsOverride === undefined) {
      for (const [cell, o] of Object.entries(overrides)) {
        const c = o.profiles[p.name]?.count;
        if (c !== undefined && c !== null) m.set(cell, c);
      }
    }
    byProfile.set(p.name, m);
  }
  return cellNames.map((cell) => {
    const o = overrides[cell];
    const hostGroups: HostGroup[] = [];
    for (const p of Object.values(profiles)) {
      const count = byProfile.get(p.name)?.get(cell) ?? 0;
      if (count <= 0) continue;
      const ratios = o?.profiles[p.name]?.allocationRatios ?? {};
      hostGroups.push({
        profile: p.name,
        count,
        availabilityZones: o?.availabilityZone ? [o.availabilityZone] : p.availabilityZones,
        allocationRatios: { ...p.allocationRatios, ...ratios },
      });
    }
    return {
      name: cell,
      hostGroups,
      totalHosts: hostGroups.reduce((a, g) => a + g.count, 0),
      spawnFailureRate: o?.spawnFailureRate ?? null,
    };
  });
}

/** Hosts by profile then cell, read back from resolved cells. */
export function countsOf(cells: readonly CellSpec[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const c of cells) {
    for (const g of c.hostGroups) {
      const m = out.get(g.profile) ?? new Map<string, number>();
      out.set(g.profile, m);
      m.set(c.name, g.count);
    }
  }
  return out;
}
