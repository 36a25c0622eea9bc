/**
 * capacityTable and fragmentation on a fleet small enough to count by hand.
 */
import { describe, expect, it } from 'vitest';
import {
  capacityTable,
  type FlavorSpec,
  type FleetSnapshot,
  fitsOnHost,
  fragmentation,
} from '../../../sim/capacity.ts';

// Three hosts in two cells and two AZs (az1 spans both cells).
const fleet: FleetSnapshot = {
  hosts: [
    { name: 'h1', cell: 'c1', az: 'az1', free: { VCPU: 8, MEMORY_MB: 16384, DISK_GB: 100 }, traits: ['SSD'] },
    { name: 'h2', cell: 'c1', az: 'az2', free: { VCPU: 3, MEMORY_MB: 32768, DISK_GB: 500 }, traits: [] },
    {
      name: 'h3',
      cell: 'c2',
      az: 'az1',
      free: { VCPU: 16, MEMORY_MB: 4096, DISK_GB: 40 },
      traits: ['SSD', 'GPU'],
    },
  ],
};

// Listed out of order on purpose: output is sorted by name.
const flavors: FlavorSpec[] = [
  {
    name: 'ssd.large',
    resources: { VCPU: 4, MEMORY_MB: 8192, DISK_GB: 50 },
    requiredTraits: ['SSD'],
    forbiddenTraits: [],
  },
  {
    name: 'small',
    resources: { VCPU: 2, MEMORY_MB: 4096, DISK_GB: 20 },
    requiredTraits: [],
    forbiddenTraits: ['GPU'],
  },
];

describe('capacityTable', () => {
  it('counts each flavor alone, per cell and AZ (hand-computed)', () => {
    // small:     h1 min(8/2, 16384/4096, 100/20) = min(4, 4, 5) = 4
    //            h2 min(3/2, 32768/4096, 500/20) = min(1, 8, 25) = 1
    //            h3 has the forbidden trait GPU       = 0
    // ssd.large: h1 min(8/4, 16384/8192, 100/50) = 2
    //            h2 lacks the required trait SSD      = 0
    //            h3 min(16/4, 4096/8192, 40/50) = min(4, 0, 0) = 0
    const t = capacityTable(fleet, flavors);
    expect(t.rows).toEqual([
      { flavor: 'small', cell: 'c1', az: 'az1', fits: 4 },
      { flavor: 'small', cell: 'c1', az: 'az2', fits: 1 },
      { flavor: 'small', cell: 'c2', az: 'az1', fits: 0 },
      { flavor: 'ssd.large', cell: 'c1', az: 'az1', fits: 2 },
      { flavor: 'ssd.large', cell: 'c1', az: 'az2', fits: 0 },
      { flavor: 'ssd.large', cell: 'c2', az: 'az1', fits: 0 },
    ]);
    expect(t.byCell).toEqual([
      { flavor: 'small', cell: 'c1', fits: 5 },
      { flavor: 'small', cell: 'c2', fits: 0 },
      { flavor: 'ssd.large', cell: 'c1', fits: 2 },
      { flavor: 'ssd.large', cell: 'c2', fits: 0 },
    ]);
    expect(t.byAz).toEqual([
      { flavor: 'small', az: 'az1', fits: 4 },
      { flavor: 'small', az: 'az2', fits: 1 },
      { flavor: 'ssd.large', az: 'az1', fits: 2 },
      { flavor: 'ssd.large', az: 'az2', fits: 0 },
    ]);
    expect(t.totals).toEqual([
      { flavor: 'small', fits: 5 },
      { flavor: 'ssd.large', fits: 2 },
    ]);
  });

  it('treats a missing or negative free amount as none', () => {
    const f = flavors[1]!; // small
    expect(
      fitsOnHost({ name: 'x', cell: 'c', az: 'a', free: { VCPU: 8, MEMORY_MB: 8192 }, traits: [] }, f),
    ).toBe(0);
    expect(
      fitsOnHost(
        { name: 'x', cell: 'c', az: 'a', free: { VCPU: -4, MEMORY_MB: 8192, DISK_GB: 40 }, traits: [] },
        f,
      ),
    ).toBe(0);
  });

  it('does not lose an instance to floating point (0.3 / 0.1 is 3)', () => {
    const f: FlavorSpec = {
      name: 'tenth',
      resources: { VCPU: 0.1 },
      requiredTraits: [],
      forbiddenTraits: [],
    };
    expect(fitsOnHost({ name: 'x', cell: 'c', az: 'a', free: { VCPU: 0.1 + 0.2 }, traits: [] }, f)).toBe(3);
  });

  it.each([
    ['a duplicate flavor name', [flavors[0]!, flavors[0]!], /flavor "ssd.large" is listed twice/],
    [
      'a flavor that asks for nothing',
      [{ name: 'empty', resources: { VCPU: 0 }, requiredTraits: [], forbiddenTraits: [] }],
      /flavor "empty" asks for no resources/,
    ],
    [
      'a negative amount',
      [{ name: 'neg', resources: { VCPU: -1 }, requiredTraits: [], forbiddenTraits: [] }],
      /flavor "neg" asks for -1 VCPU; amounts must be >= 0/,
    ],
  ])('rejects %s with a clear message', (_what, bad, message) => {
    expect(() => capacityTable(fleet, bad)).toThrow(message);
    expect(() => fragmentation(fleet, bad)).toThrow(message);
  });

  it('rejects a host with a non-finite free amount', () => {
    const bad = { hosts: [{ name: 'hx', cell: 'c', az: 'a', free: { VCPU: Number.NaN }, traits: [] }] };
    expect(() => capacityTable(bad, flavors)).toThrow(/host "hx" has a free VCPU of NaN/);
  });
});

describe('fragmentation', () => {
  it('counts the free capacity of hosts where no flavor fits (hand-computed)', () => {
    // Only h3 fits nothing (see above). Stranded = h3's free; total = h1 + h2 + h3.
    const f = fragmentation(fleet, flavors);
    expect(f.strandedHosts).toBe(1);
    expect(f.hosts).toBe(3);
    expect(f.classes).toEqual([
      { rc: 'DISK_GB', stranded: 40, totalFree: 640, fraction: 40 / 640 }, // 100 + 500 + 40
      { rc: 'MEMORY_MB', stranded: 4096, totalFree: 53248, fraction: 4096 / 53248 }, // 16384 + 32768 + 4096
      { rc: 'VCPU', stranded: 16, totalFree: 27, fraction: 16 / 27 }, // 8 + 3 + 16
    ]);
  });

  it('strands everything when the flavor mix is empty, and reports 0 for a class with nothing free', () => {
    const f = fragmentation(
      { hosts: [{ name: 'h', cell: 'c', az: 'a', free: { VCPU: 4, PCI: 0 }, traits: [] }] },
      [],
    );
    expect(f.classes).toEqual([
      { rc: 'PCI', stranded: 0, totalFree: 0, fraction: 0 },
      { rc: 'VCPU', stranded: 4, totalFree: 4, fraction: 1 },
    ]);
  });
});
