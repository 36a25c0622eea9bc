/**
 * The example scenarios parse and mean what their comments say; defaults and units are filled in;
 * the result is frozen; the summary names the numbers a person checks first.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario, type Scenario, scenarioSummary } from '../../../sim/scenario.ts';
import { flavorDemand } from '../../../sim/scenario-fit.ts';
import { BASE, parse } from './scenario-fixture.ts';

const DIR = join(import.meta.dirname, '../../../sim/scenarios');
const load = (name: string): Scenario => {
  const file = join(DIR, name);
  return parseScenario(readFileSync(file, 'utf8'), { file });
};

describe('example scenarios', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));

  it('every example is documented in SCENARIOS.md, and every documented one exists', () => {
    const doc = readFileSync(join(DIR, '..', 'SCENARIOS.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `([\w-]+\.yaml)` \|/gm)].map((m) => m[1]!);
    expect(files.sort()).toEqual(documented.sort());
    expect(files.length).toBeGreaterThanOrEqual(7);
  });

  it.each(files)('%s parses and summarises', (f) => {
    const s = load(f);
    expect(Object.isFrozen(s.fleet.cells[0]!.hostGroups)).toBe(true);
    expect(scenarioSummary(s)).toMatch(new RegExp(`^Scenario ${s.name}: `));
  });

  it('boot-storm-50k: 50,000 hosts in 10 cells have room for its 200,000-server storm', () => {
    const s = load('boot-storm-50k.yaml');
    expect(s.fleet.totalHosts).toBe(50_000);
    expect(s.fleet.cells.map((c) => c.totalHosts)).toEqual(Array(10).fill(5_000));
    const storm = s.workload.arrivals.find((a) => a.kind === 'burst');
    expect(storm?.kind === 'burst' && storm.count).toBeGreaterThanOrEqual(200_000);
    // Fleet-wide VCPU and RAM capacity against the storm's mean demand per server.
    let vcpu = 0;
    let ramMb = 0;
    for (const c of s.fleet.cells) {
      for (const g of c.hostGroups) {
        const p = s.fleet.profiles[g.profile]!;
        vcpu += g.count * Math.trunc((p.vcpus - p.reserved.vcpus) * g.allocationRatios.vcpu);
        ramMb += g.count * Math.trunc((p.ramMb - p.reserved.ramMb) * g.allocationRatios.ram);
      }
    }
    const mix = storm!.mix ?? s.workload.mix;
    const total = Object.values(mix).reduce((a, b) => a + b, 0);
    const mean = (rc: string) =>
      Object.entries(mix).reduce(
        (a, [f, w]) => a + (w / total) * (flavorDemand(s.workload.flavors[f]!).resources[rc] ?? 0),
        0,
      );
    expect(vcpu).toBeGreaterThan(200_000 * mean('VCPU') * 10);
    expect(ramMb).toBeGreaterThan(200_000 * mean('MEMORY_MB') * 10);
  });

  it('capacity-hand: 3 hosts in 2 zones hold exactly 16 of flavor a (4 + 4 + 8)', () => {
    const s = load('capacity-hand.yaml');
    const [cell] = s.fleet.cells;
    expect(cell!.hostGroups.map((g) => [g.profile, g.count, g.availabilityZones])).toEqual([
      ['small', 2, ['az1', 'az2']],
      ['big', 1, ['az1']],
    ]);
    const a = flavorDemand(s.workload.flavors.a!).resources;
    let fits = 0;
    for (const g of cell!.hostGroups) {
      const p = s.fleet.profiles[g.profile]!;
      const perHost = Math.min(
        Math.floor((p.vcpus * g.allocationRatios.vcpu) / a.VCPU!),
        Math.floor((p.ramMb * g.allocationRatios.ram) / a.MEMORY_MB!),
      );
      fits += perHost * g.count;
    }
    expect(fits).toBe(16);
  });

  it('realtime-10k: real mode, 10,000 hosts, both leader kills and a 1-minute partition', () => {
    const s = load('realtime-10k.yaml');
    expect(s.run.mode).toBe('real');
    expect(s.fleet.totalHosts).toBe(10_000);
    const kinds = s.faults.map((f) => f.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['scheduler_leader_loss', 'conductor_leader_loss', 'cell_partition']),
    );
    const partition = s.faults.find((f) => f.kind === 'cell_partition');
    expect(partition?.kind === 'cell_partition' && partition.durationMs).toBe(60_000);
  });

  it('small-mixed: ~200 hosts with every device kind and a bare-metal profile', () => {
    const s = load('small-mixed.yaml');
    expect(s.fleet.totalHosts).toBe(202);
    const p = s.fleet.profiles;
    expect(p.vgpu!.devices.gpus[0]).toMatchObject({ mode: 'vgpu', unitsPerGpu: 8, count: 2 });
    expect(p['gpu-passthrough']!.devices.gpus[0]).toMatchObject({ mode: 'passthrough', unitsPerGpu: 1 });
    expect(p.sriov!.devices.sriov[0]!.traits).toEqual(['HW_NIC_SRIOV', 'CUSTOM_PHYSNET_PHYSNET1']);
    expect(p.fpga!.devices.fpgas[0]!.traits).toContain('CUSTOM_FPGA_FUNCTION_GZIP');
    expect(p['bm-gold']!.baremetal).toEqual({ resourceClass: 'CUSTOM_BAREMETAL_GOLD', bmc: 'redfish' });
    const cell2 = s.fleet.cells[1]!;
    expect(cell2.spawnFailureRate).toBe(0.02);
    expect(cell2.hostGroups.find((g) => g.profile === 'general')!.allocationRatios.vcpu).toBe(2);
    expect(s.fleet.cells[0]!.hostGroups.find((g) => g.profile === 'general')!.allocationRatios.vcpu).toBe(4);
    expect(s.workload.lifetime).toEqual({
      kind: 'empirical',
      values: [
        { ms: 300_000, weight: 4 },
        { ms: 1_800_000, weight: 3 },
        { ms: 7_200_000, weight: 2 },
        { ms: 28_800_000, weight: 1 },
      ],
    });
    expect(s.workload.operations).toEqual({
      resize: { kind: 'fraction', fraction: 0.02, toMix: { 'm1.large': 1 } },
      liveMigrate: { kind: 'rate', ratePerSecond: 30 / 3600, toMix: null },
      coldMigrate: { kind: 'fraction', fraction: 0.01, toMix: null },
    });
    expect(s.workload.serverGroups[2]).toEqual({
      name: 'spread',
      policy: 'anti-affinity',
      size: 6,
      fraction: 0.05,
      maxServerPerHost: 2,
    });
  });

  it('trace-replay: reads the CSV next to it, time-scaled and sorted', () => {
    const s = load('trace-replay.yaml');
    const t = s.workload.arrivals[0]!;
    expect(t.kind).toBe('trace');
    if (t.kind !== 'trace') return;
    expect(t.resolvedPath).toBe(join(DIR, 'traces/sample.csv'));
    expect(t.records).toHaveLength(20);
    expect(t.records[4]).toMatchObject({
      flavor: null,
      resources: { VCPU: 2, MEMORY_MB: 4096, DISK_GB: 40 },
      submitMs: Math.round(45 * 1000 * 0.1667),
      project: 'adhoc',
    });
    expect(t.records[5]!.group).toEqual({ id: 'db-1', policy: 'anti-affinity' });
    expect(t.records.filter((r) => r.durationMs === null)).toHaveLength(3);
  });
});

describe('SCENARIOS.md', () => {
  it('its annotated example parses and means what its comments say', () => {
    const md = readFileSync(join(DIR, '../SCENARIOS.md'), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(md)![1]!;
    const s = parseScenario(yaml, { file: 'SCENARIOS.md' });
    expect(s.fleet.cells.map((c) => c.hostGroups.map((g) => `${g.profile}=${g.count}`))).toEqual([
      ['general=100'],
      ['general=100', 'gpu=10'],
    ]);
    expect(s.workload.arrivals[1]).toMatchObject({
      kind: 'burst',
      count: 5000,
      startMs: 600_000,
      windowMs: 120_000,
    });
  });
});

describe('defaults and units', () => {
  const s = parse(BASE);

  it('fills run defaults', () => {
    expect(s.run).toEqual({
      durationMs: 600_000,
      seed: 5,
      mode: 'virtual',
      warmupMs: 0,
      invariantCheckIntervalMs: 1_000,
      reports: { text: '-', json: null, html: null },
    });
  });

  it('normalises sizes to MB and GB and fills profile defaults', () => {
    const gen = s.fleet.profiles.gen!;
    expect([gen.ramMb, gen.diskGb]).toEqual([65_536, 500]);
    expect(gen.allocationRatios).toEqual({ vcpu: 4, ram: 1, disk: 1 });
    expect(gen.availabilityZones).toEqual(['nova']);
    expect(gen.reserved).toEqual({ vcpus: 0, ramMb: 0, diskGb: 0 });
    expect(s.fleet.profiles.bm!.diskGb).toBe(1024);
  });

  it('spreads profiles over cells', () => {
    expect(s.fleet.cells.map((c) => c.hostGroups.map((g) => `${g.profile}=${g.count}`))).toEqual([
      ['gen=5'],
      ['gen=5', 'bm=2'],
    ]);
  });

  it('fills workload defaults and stores extra specs as strings', () => {
    expect(s.workload.lifetime).toEqual({ kind: 'forever' });
    expect(s.workload.serverGroups).toEqual([]);
    expect(s.workload.operations).toEqual({ resize: null, liveMigrate: null, coldMigrate: null });
    expect(s.workload.flavors.metal!.extraSpecs['resources:VCPU']).toBe('0');
    expect(s.workload.flavors.small!.diskGb).toBe(10);
    expect(s.workload.flavors.avx!.diskGb).toBe(0);
    expect(s.workload.arrivals[0]).toEqual({
      kind: 'poisson',
      ratePerSecond: 2,
      startMs: 0,
      endMs: 600_000,
      mix: null,
      lifetime: null,
    });
  });

  it('without a mix, every flavor weighs 1; without a name, the file name is used', () => {
    const t = BASE.replace('name: base\n', '').replace('  mix: { small: 3, avx: 1 }\n', '');
    const s2 = parseScenario(t, { file: 'dir/my-run.yaml' });
    expect(s2.workload.mix).toEqual({ small: 1, avx: 1, metal: 1 });
    expect(s2.name).toBe('my-run');
  });

  it('reads 50_000 as an integer and an empty faults: as no faults', () => {
    const t = BASE.replace('      count: 10\n', '      count: 50_000\n').replace(
      /faults:[\s\S]*$/,
      'faults:\n',
    );
    const s2 = parse(t);
    expect(s2.fleet.profiles.gen!.spread).toEqual({ kind: 'even', count: 50_000, cells: null });
    expect(s2.faults).toEqual([]);
  });

  it('is deeply frozen', () => {
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.fleet.profiles.gen!.traits)).toBe(true);
    expect(() => {
      (s.run as { seed: number }).seed = 9;
    }).toThrow(TypeError);
  });

  it('reads each fault timing form', () => {
    const t = BASE.replace(
      '  - kind: host_crash\n    at: 2m\n    count: 1\n',
      '  - kind: heartbeat_loss\n    every: 90s\n    start: 1m\n    fraction: 0.1\n    duration: 500ms\n' +
        '  - kind: scheduler_leader_loss\n    rate_per_hour: 6\n',
    );
    const [hb, sl] = parse(t).faults;
    expect(hb).toEqual({
      kind: 'heartbeat_loss',
      timing: { kind: 'every', everyMs: 90_000, startMs: 60_000, endMs: 600_000 },
      target: { cell: null, profile: null },
      hosts: { kind: 'fraction', fraction: 0.1 },
      durationMs: 500,
    });
    expect(sl).toEqual({
      kind: 'scheduler_leader_loss',
      timing: { kind: 'poisson', ratePerSecond: 6 / 3600, startMs: 0, endMs: 600_000 },
      cell: null,
    });
  });
});
