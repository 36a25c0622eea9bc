/**
 * Safety properties of capacity planning over random small fleets and flavor mixes.
 * fast-check prints the seed and path of a failing run; replay with `fc.assert(..., { seed, path })`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  capacityTable,
  type FlavorSpec,
  type FleetHost,
  type FleetSnapshot,
  fitsOnHost,
  fragmentation,
} from '../../../sim/capacity.ts';

const RUNS = { numRuns: 200 };
const RCS = ['VCPU', 'MEMORY_MB', 'DISK_GB'];
const TRAITS = ['SSD', 'GPU', 'AVX2'];

const hostArb = fc.record({
  cell: fc.constantFrom('c1', 'c2'),
  az: fc.constantFrom('az1', 'az2'),
  free: fc.record({ VCPU: fc.nat(64), MEMORY_MB: fc.nat(64), DISK_GB: fc.nat(64) }, { requiredKeys: [] }),
  traits: fc.subarray(TRAITS),
});

const flavorArb = fc
  .record({
    resources: fc.record({ VCPU: fc.nat(16), MEMORY_MB: fc.nat(16), DISK_GB: fc.nat(16) }),
    requiredTraits: fc.subarray(TRAITS, { maxLength: 1 }),
    forbiddenTraits: fc.subarray(TRAITS, { maxLength: 1 }),
  })
  .map((f) => ({
    ...f,
    resources: Object.values(f.resources).some((n) => n > 0) ? f.resources : { VCPU: 1 },
  }));

const fleetArb: fc.Arbitrary<FleetSnapshot> = fc
  .array(hostArb, { maxLength: 8 })
  .map((hs) => ({ hosts: hs.map((h, i): FleetHost => ({ name: `h${i}`, ...h })) }));

const flavorsArb: fc.Arbitrary<FlavorSpec[]> = fc
  .array(flavorArb, { minLength: 1, maxLength: 4 })
  .map((fs) => fs.map((f, i) => ({ name: `f${i}`, ...f })));

const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);

describe('capacity properties', () => {
  it('adding free capacity to a host never lowers any count', () => {
    fc.assert(
      fc.property(
        fleetArb,
        flavorsArb,
        fc.nat(7),
        fc.constantFrom(...RCS),
        fc.integer({ min: 1, max: 32 }),
        (fleet, fs, hi, rc, extra) => {
          fc.pre(fleet.hosts.length > 0);
          const i = hi % fleet.hosts.length;
          const bigger = structuredClone(fleet);
          const h = bigger.hosts[i]!;
          h.free[rc] = (h.free[rc] ?? 0) + extra;
          const before = capacityTable(fleet, fs).rows;
          const after = capacityTable(bigger, fs).rows;
          for (const [j, r] of after.entries()) expect(r.fits).toBeGreaterThanOrEqual(before[j]!.fits);
        },
      ),
      RUNS,
    );
  });

  it('a host where nothing fits adds all its free capacity to fragmentation and nothing to the table', () => {
    fc.assert(
      fc.property(
        fleetArb,
        flavorsArb,
        fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 4, maxLength: 4 }),
        (fleet, fs, parts) => {
          // Below every flavor's need in every class it needs: no flavor fits.
          const free: Record<string, number> = {};
          [...RCS, 'CUSTOM_UNUSED'].forEach((rc, k) => {
            const needs = fs.map((f) => f.resources[rc] ?? 0).filter((n) => n > 0);
            free[rc] = (needs.length > 0 ? Math.min(...needs) : 10) * parts[k]!;
          });
          const stranded: FleetHost = { name: 'stranded', cell: 'c1', az: 'az1', free, traits: [] };
          expect(fs.every((f) => fitsOnHost(stranded, f) === 0)).toBe(true);
          const withHost = { hosts: [...fleet.hosts, stranded] };
          const before = fragmentation(fleet, fs);
          const after = fragmentation(withHost, fs);
          expect(after.strandedHosts).toBe(before.strandedHosts + 1);
          for (const c of after.classes) {
            const prev = before.classes.find((x) => x.rc === c.rc);
            expect(c.stranded).toBeCloseTo((prev?.stranded ?? 0) + (free[c.rc] ?? 0), 9);
            expect(c.totalFree).toBeCloseTo((prev?.totalFree ?? 0) + (free[c.rc] ?? 0), 9);
          }
          const totals = (t: ReturnType<typeof capacityTable>) => t.totals.map((x) => x.fits);
          expect(totals(capacityTable(withHost, fs))).toEqual(totals(capacityTable(fleet, fs)));
        },
      ),
      RUNS,
    );
  });

  it('totals equal the sums per cell, per AZ and per row', () => {
    fc.assert(
      fc.property(fleetArb, flavorsArb, (fleet, fs) => {
        const t = capacityTable(fleet, fs);
        for (const { flavor, fits } of t.totals) {
          expect(sum(t.rows.filter((r) => r.flavor === flavor).map((r) => r.fits))).toBe(fits);
          expect(sum(t.byCell.filter((r) => r.flavor === flavor).map((r) => r.fits))).toBe(fits);
          expect(sum(t.byAz.filter((r) => r.flavor === flavor).map((r) => r.fits))).toBe(fits);
        }
      }),
      RUNS,
    );
  });

  it('each flavor is counted independently of the others in the mix', () => {
    fc.assert(
      fc.property(fleetArb, flavorsArb, (fleet, fs) => {
        const together = capacityTable(fleet, fs).rows;
        const alone = fs.flatMap((f) => capacityTable(fleet, [f]).rows);
        const key = (r: { flavor: string; cell: string; az: string }) => `${r.flavor}/${r.cell}/${r.az}`;
        expect(new Map(together.map((r) => [key(r), r.fits]))).toEqual(
          new Map(alone.map((r) => [key(r), r.fits])),
        );
      }),
      RUNS,
    );
  });

  it('the order of hosts and flavors does not change the output', () => {
    fc.assert(
      fc.property(fleetArb, flavorsArb, (fleet, fs) => {
        const reversed = { hosts: [...fleet.hosts].reverse() };
        const rfs = [...fs].reverse();
        expect(JSON.stringify(capacityTable(reversed, rfs))).toBe(JSON.stringify(capacityTable(fleet, fs)));
        expect(JSON.stringify(fragmentation(reversed, rfs))).toBe(JSON.stringify(fragmentation(fleet, fs)));
      }),
      RUNS,
    );
  });

  it('stranded capacity stays within free capacity', () => {
    fc.assert(
      fc.property(fleetArb, flavorsArb, (fleet, fs) => {
        for (const c of fragmentation(fleet, fs).classes) {
          expect(c.stranded).toBeGreaterThanOrEqual(0);
          expect(c.stranded).toBeLessThanOrEqual(c.totalFree);
          expect(c.fraction).toBeGreaterThanOrEqual(0);
          expect(c.fraction).toBeLessThanOrEqual(1);
        }
      }),
      RUNS,
    );
  });
});
