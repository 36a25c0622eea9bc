/**
 * Capacity planning over a fleet snapshot: pure functions, no I/O.
 *
 * `capacityTable` answers "how many more of flavor F fit right now?" per cell, per AZ and in
 * total, counting each flavor on its own (as if it were the only one launched next):
 *   fits(F) = Σ over hosts eligible for F of  floor( min over F's classes of free[rc] / need[rc] ).
 * A host is eligible when it has every required trait and none of the forbidden ones.
 *
 * `fragmentation` reports, per resource class, the free capacity that no flavor of the mix can
 * use: the free capacity of hosts on which not a single instance of any flavor fits.
 *
 * Negative free amounts (an over-committed host) count as 0. Quantities may be fractional
 * (allocation ratios): a tolerance of 1e-9 keeps 0.3 / 0.1 from flooring to 2.
 */
import { CellplaneError } from '../core/errors.ts';

export interface FleetHost {
  name: string;
  cell: string;
  az: string;
  /** Free amount per resource class (capacity × ratio − reserved − used). */
  free: Record<string, number>;
  traits: string[];
}

export interface FleetSnapshot {
  hosts: FleetHost[];
}

export interface FlavorSpec {
  name: string;
  resources: Record<string, number>;
  requiredTraits: string[];
  forbiddenTraits: string[];
}

export interface CapacityRow {
  flavor: string;
  cell: string;
  az: string;
  /** Instances of this flavor alone that would fit on this cell's hosts in this AZ. */
  fits: number;
}

export interface CapacityTable {
  /** One row per flavor × (cell, AZ) that has hosts; sorted by flavor, cell, AZ. */
  rows: CapacityRow[];
  /** Sums of `rows` per flavor and cell; sorted by flavor, cell. */
  byCell: { flavor: string; cell: string; fits: number }[];
  /** Sums of `rows` per flavor and AZ (an AZ may span cells); sorted by flavor, AZ. */
  byAz: { flavor: string; az: string; fits: number }[];
  /** Sum per flavor; sorted by flavor. */
  totals: { flavor: string; fits: number }[];
}

export interface FragmentationRow {
  rc: string;
  /** Free capacity on hosts where no flavor of the mix fits. */
  stranded: number;
  /** All free capacity of this class in the fleet. */
  totalFree: number;
  /** stranded / totalFree; 0 when nothing is free. */
  fraction: number;
}

export interface Fragmentation {
  /** Sorted by resource class. */
  classes: FragmentationRow[];
  /** Hosts on which no flavor fits, and all hosts. */
  strandedHosts: number;
  hosts: number;
}

const EPSILON = 1e-9;

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function validateFlavors(flavors: readonly FlavorSpec[]): void {
  const seen = new Set<string>();
  for (const f of flavors) {
    if (seen.has(f.name)) {
      throw new CellplaneError(
        'invalid',
        `flavor "${f.name}" is listed twice; give each flavor a unique name`,
      );
    }
    seen.add(f.name);
    const needs = Object.entries(f.resources);
    for (const [rc, need] of needs) {
      if (!Number.isFinite(need) || need < 0) {
        throw new CellplaneError(
          'invalid',
          `flavor "${f.name}" asks for ${need} ${rc}; amounts must be >= 0`,
        );
      }
    }
    if (!needs.some(([, need]) => need > 0)) {
      throw new CellplaneError(
        'invalid',
        `flavor "${f.name}" asks for no resources, so any number of it would fit; give it at least one resource class > 0`,
      );
    }
  }
}

function validateHosts(fleet: FleetSnapshot): void {
  for (const h of fleet.hosts) {
    for (const [rc, free] of Object.entries(h.free)) {
      if (!Number.isFinite(free)) {
        throw new CellplaneError(
          'invalid',
          `host "${h.name}" has a free ${rc} of ${free}; it must be a finite number`,
        );
      }
    }
  }
}

/** Whether the host's traits allow the flavor (required all present, forbidden all absent). */
export function eligible(host: FleetHost, flavor: FlavorSpec): boolean {
  const traits = new Set(host.traits);
  return (
    flavor.requiredTraits.every((t) => traits.has(t)) && !flavor.forbiddenTraits.some((t) => traits.has(t))
  );
}

/** How many instances of `flavor` alone fit on `host` now. */
export function fitsOnHost(host: FleetHost, flavor: FlavorSpec): number {
  if (!eligible(host, flavor)) return 0;
  let fits = Number.POSITIVE_INFINITY;
  for (const [rc, need] of Object.entries(flavor.resources)) {
    if (need <= 0) continue;
    const free = Math.max(0, host.free[rc] ?? 0);
    fits = Math.min(fits, Math.floor(free / need + EPSILON));
  }
  return fits === Number.POSITIVE_INFINITY ? 0 : fits;
}

function sumBy<K extends string>(rows: CapacityRow[], key: (r: CapacityRow) => K): Map<K, number> {
  const m = new Map<K, number>();
  for (const r of rows) m.set(key(r), (m.get(key(r)) ?? 0) + r.fits);
  return m;
}

export function capacityTable(fleet: FleetSnapshot, flavors: readonly FlavorSpec[]): CapacityTable {
  validateFlavors(flavors);
  validateHosts(fleet);
  const places = new Map<string, { cell: string; az: string; hosts: FleetHost[] }>();
  for (const h of fleet.hosts) {
    const key = JSON.stringify([h.cell, h.az]);
    let p = places.get(key);
    if (!p) {
      p = { cell: h.cell, az: h.az, hosts: [] };
      places.set(key, p);
    }
    p.hosts.push(h);
  }
  const placeList = [...places.values()].sort((a, b) => cmp(a.cell, b.cell) || cmp(a.az, b.az));
  const sortedFlavors = [...flavors].sort((a, b) => cmp(a.name, b.name));

  const rows: CapacityRow[] = [];
  for (const f of sortedFlavors) {
    for (const p of placeList) {
      const fits = p.hosts.reduce((n, h) => n + fitsOnHost(h, f), 0);
      rows.push({ flavor: f.name, cell: p.cell, az: p.az, fits });
    }
  }
  const sep = '\u0000';
  const byCell = [...sumBy(rows, (r) => `${r.flavor}${sep}${r.cell}`)].map(([k, fits]) => {
    const [flavor = '', cell = ''] = k.split(sep);
    return { flavor, cell, fits };
  });
  const byAz = [...sumBy(rows, (r) => `${r.flavor}${sep}${r.az}`)]
    .map(([k, fits]) => {
      const [flavor = '', az = ''] = k.split(sep);
      return { flavor, az, fits };
    })
    .sort((a, b) => cmp(a.flavor, b.flavor) || cmp(a.az, b.az));
  const totals = sortedFlavors.map((f) => ({
    flavor: f.name,
    fits: rows.filter((r) => r.flavor === f.name).reduce((n, r) => n + r.fits, 0),
  }));
  return { rows, byCell, byAz, totals };
}

export function fragmentation(fleet: FleetSnapshot, flavors: readonly FlavorSpec[]): Fragmentation {
  validateFlavors(flavors);
  validateHosts(fleet);
  const stranded = new Map<string, number>();
  const totalFree = new Map<string, number>();
  let strandedHosts = 0;
  for (const h of fleet.hosts) {
    const nothingFits = flavors.every((f) => fitsOnHost(h, f) === 0);
    if (nothingFits) strandedHosts++;
    for (const [rc, raw] of Object.entries(h.free)) {
      const free = Math.max(0, raw);
      totalFree.set(rc, (totalFree.get(rc) ?? 0) + free);
      if (nothingFits) stranded.set(rc, (stranded.get(rc) ?? 0) + free);
      else if (!stranded.has(rc)) stranded.set(rc, 0);
    }
  }
  const classes = [...totalFree.keys()].sort(cmp).map((rc) => {
    const total = totalFree.get(rc) ?? 0;
    const s = stranded.get(rc) ?? 0;
    return { rc, stranded: s, totalFree: total, fraction: total > 0 ? s / total : 0 };
  });
  return { classes, strandedHosts, hosts: fleet.hosts.length };
}
