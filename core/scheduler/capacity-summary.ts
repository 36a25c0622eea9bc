/**
 * A shard's capacity in a few numbers, for the cell router (cells/router.ts): per resource class
 * the free capacity summed over the hosts that are up, and the largest free amount on any one of
 * them (a flavor needing more than `largest` fits nowhere in the shard); the same per
 * availability zone; and the traits some host that is up has (a request requiring a trait no host
 * has fits nowhere). Free = capacity - used - assumed, never below 0. Pure.
 */
import { HostState, type Snapshot } from './snapshot.ts';

export interface ZoneCapacity {
  readonly hosts: number;
  readonly free: Readonly<Record<string, number>>;
  readonly largest: Readonly<Record<string, number>>;
  /** Traits of at least one host that is up, sorted (absent in reports of older shards: unknown). */
  readonly traits?: readonly string[];
}

export interface CapacitySummary extends ZoneCapacity {
  /** Hosts in the snapshot, up or not. */
  readonly total: number;
  readonly zones: Readonly<Record<string, ZoneCapacity>>;
}

export function summarizeCapacity(s: Snapshot): CapacitySummary {
  const { cols } = s;
  const all = { hosts: 0, free: {} as Record<string, number>, largest: {} as Record<string, number> };
  const zones = new Map<string, typeof all>();
  for (let h = 0; h < s.size; h++) {
    if (cols.state[h] !== HostState.up) continue;
    const zoneName = cols.zoneNames[cols.zone[h]!] ?? '';
    let z = zones.get(zoneName);
    if (!z) {
      z = { hosts: 0, free: {}, largest: {} };
      zones.set(zoneName, z);
    }
    all.hosts++;
    z.hosts++;
    for (const [rc, c] of cols.resources) {
      const free = Math.max(0, c.capacity[h]! - c.used[h]! - c.claimed[h]!);
      for (const t of [all, z]) {
        t.free[rc] = (t.free[rc] ?? 0) + free;
        if (free > (t.largest[rc] ?? 0)) t.largest[rc] = free;
      }
    }
  }
  const traits = traitsByZone(s);
  const withTraits = (zone: string | undefined, z: typeof all): ZoneCapacity => ({
    ...z,
    traits: [...(traits.get(zone) ?? [])].sort(),
  });
  return {
    ...withTraits(undefined, all),
    total: s.size,
    zones: Object.fromEntries(
      [...zones].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, z]) => [name, withTraits(name, z)]),
    ),
  };
}

/** Zone name (undefined: every zone) → traits some up host there has. */
function traitsByZone(s: Snapshot): Map<string | undefined, Set<string>> {
  const { cols } = s;
  const out = new Map<string | undefined, Set<string>>([[undefined, new Set()]]);
  const zoneCount = cols.zoneNames.length;
  for (let t = 0; t < cols.traitNames.length; t++) {
    const name = cols.traitNames[t]!;
    const seen = new Set<number>();
    for (let h = 0; h < s.size && seen.size < zoneCount; h++) {
      if (cols.state[h] !== HostState.up || !s.hasTrait(h, t)) continue;
      const z = cols.zone[h]!;
      if (seen.has(z)) continue;
      seen.add(z);
      const zoneName = cols.zoneNames[z] ?? '';
      let set = out.get(zoneName);
      if (!set) {
        set = new Set();
        out.set(zoneName, set);
      }
      set.add(name);
      out.get(undefined)!.add(name);
    }
  }
  return out;
}
