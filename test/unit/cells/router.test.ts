/**
 * The cell router (cells/router.ts) and the capacity summary it reads (core/scheduler/
 * capacity-summary.ts): a cell fits a flavor when some host has every class it asks free (VGPU
 * and other `resources:` classes too, nested providers included) and every required trait.
 */
import { describe, expect, it } from 'vitest';
import type { CapacityReport } from '../../../actors/scheduler-shard-messages.ts';
import type { CellRecord } from '../../../cells/mapping.ts';
import { CellRouter, demandOf, type RouteHint } from '../../../cells/router.ts';
import { summarizeCapacity } from '../../../core/scheduler/capacity-summary.ts';
import { makeAggregate, makeHost, makeSnapshot } from '../../scheduler-builders.ts';

const NOW = 1_000_000;
const cell = (name: string) => ({ uuid: `u-${name}`, name }) as CellRecord;

function report(name: string, zone: Partial<CapacityReport>): CapacityReport {
  return {
    cell: name,
    shard: 0,
    atMs: NOW,
    total: 1,
    hosts: 1,
    free: {},
    largest: {},
    zones: {},
    ...zone,
  };
}

const tiny: RouteHint = { vcpus: 1, ramMb: 512, diskGb: 1, availabilityZone: null };
const vgpu: RouteHint = { ...tiny, extraSpecs: { 'resources:VGPU': '1' } };
const granular: RouteHint = {
  ...tiny,
  extraSpecs: { 'resources1:VGPU': '1', 'trait1:CUSTOM_GPU_A10': 'required', group_policy: 'none' },
};
const avx: RouteHint = { ...tiny, extraSpecs: { 'trait:HW_CPU_X86_AVX2': 'required' } };

function router(...reports: CapacityReport[]): CellRouter {
  let n = 0;
  const r = new CellRouter({ now: () => NOW, random: () => (n++ * 0.37) % 1 });
  for (const x of reports) r.update(x);
  return r;
}

describe('cell router', () => {
  const plain = {
    free: { VCPU: 64, MEMORY_MB: 65536, DISK_GB: 1000 },
    largest: { VCPU: 16, MEMORY_MB: 16384, DISK_GB: 250 },
  };
  const withGpu = {
    free: { ...plain.free, VGPU: 8 },
    largest: { ...plain.largest, VGPU: 4 },
    traits: ['CUSTOM_GPU_A10'],
  };

  it('demand: the flavor amounts, resources: overrides and extra classes, required traits', () => {
    expect(
      demandOf({
        ...tiny,
        diskGb: 20,
        extraSpecs: {
          'resources:DISK_GB': '0',
          'resources:VGPU': '2',
          'trait:CUSTOM_GPU_A10': 'required',
          'trait:HW_CPU_X86_AVX512F': 'forbidden',
        },
      }),
    ).toEqual({
      amounts: [
        ['VCPU', 1],
        ['MEMORY_MB', 512],
        ['VGPU', 2],
      ],
      traits: ['CUSTOM_GPU_A10'],
    });
  });

  it('a vGPU flavor goes only to the cell whose hosts have VGPU free; a plain one to either', () => {
    const r = router(report('c1', { ...plain, traits: [] }), report('c2', withGpu));
    const cells = [cell('c1'), cell('c2')];
    expect(r.headroom('c1', vgpu)).toBe(0);
    expect(r.headroom('c2', vgpu)).toBe(65536);
    for (let i = 0; i < 20; i++) expect(r.choose(cells, vgpu).name).toBe('c2');
    for (let i = 0; i < 20; i++) expect(r.choose(cells, granular).name).toBe('c2');
    expect(new Set(Array.from({ length: 20 }, () => r.choose(cells, tiny).name))).toEqual(
      new Set(['c1', 'c2']),
    );
  });

  it('a required trait no host of a cell has keeps the boot out of it; a report without traits (an older shard) does not', () => {
    const r = router(
      report('c1', { ...plain, traits: ['HW_CPU_X86_AVX2'] }),
      report('c2', { ...plain, traits: [] }),
      report('c3', plain),
    );
    expect([r.headroom('c1', avx), r.headroom('c2', avx), r.headroom('c3', avx)]).toEqual([65536, 0, 65536]);
  });

  it('summary: every class of the hosts that are up, and their traits per zone', () => {
    const snap = makeSnapshot(
      [
        makeHost('a')
          .vcpus(16, { used: 4 })
          .resource('VGPU', 4, { used: 1 })
          .trait('CUSTOM_GPU')
          .aggregate('edge'),
        makeHost('b').vcpus(8).trait('HW_CPU_X86_AVX2'),
        makeHost('c').vcpus(32).trait('CUSTOM_DOWN').down(),
      ],
      [makeAggregate('edge').az('edge1')],
    );
    const s = summarizeCapacity(snap);
    // free VCPU: (16 - 4) + 8 = 20; the largest on one host 12; VGPU 4 - 1 = 3 on a
    expect([s.free.VCPU, s.largest.VCPU, s.free.VGPU, s.largest.VGPU]).toEqual([20, 12, 3, 3]);
    expect(s.traits).toEqual(['CUSTOM_GPU', 'HW_CPU_X86_AVX2']);
    expect(s.zones.edge1?.traits).toEqual(['CUSTOM_GPU']);
    expect(s.zones.nova?.traits).toEqual(['HW_CPU_X86_AVX2']);
  });
});
