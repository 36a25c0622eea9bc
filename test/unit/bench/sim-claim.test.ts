/**
 * The sim and claim benchmarks' pure helpers: scaling a scenario's arrivals with its fleet, the
 * report table's marked real-time row, the stale generations of the claim suite, and the bench
 * runner's --full / --quick options. No timing assertions.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../../bench/lib/args.ts';
import { consumerClaim, staleGenerations } from '../../../bench/suites/claim-inputs.ts';
import { bootsPerWallSecond, type SimRunResult, simTable } from '../../../bench/suites/sim-results.ts';
import { scaleArrivals } from '../../../bench/suites/sim-scale.ts';
import type { Uuid } from '../../../core/model/ids.ts';
import { applyOverrides, expectedRequests, parseScenario, type Scenario } from '../../../sim/scenario.ts';

function scenario(file: string): Scenario {
  return parseScenario(readFileSync(file, 'utf8'), {
    file,
  });
}

const total = (s: Scenario) =>
  s.workload.arrivals.reduce((n, a) => n + expectedRequests(a, s.run.durationMs), 0);

describe('scaleArrivals', () => {
  it('scales the boot storm with the fleet: 200,000 boots on 50,000 hosts → 4,000 on 1,000', () => {
    const s = scenario('sim/scenarios/boot-storm-50k.yaml');
    expect(s.fleet.totalHosts).toBe(50_000);
    const scaled = applyOverrides(scaleArrivals(s, 1000), { hosts: 1000 });
    expect(scaled.fleet.totalHosts).toBe(1000);
    const [burst, poisson] = scaled.workload.arrivals;
    expect(burst).toMatchObject({ kind: 'burst', count: 4000 }); // 200,000 × 1,000 / 50,000
    const [b0, p0] = s.workload.arrivals;
    expect(b0!.kind === 'burst' && b0!.count).toBe(200_000);
    if (poisson?.kind !== 'poisson' || p0?.kind !== 'poisson') throw new Error('expected a poisson arrival');
    expect(poisson.ratePerSecond).toBeCloseTo(p0.ratePerSecond / 50, 12); // 6/min ÷ 50
    expect(total(scaled) / 1000).toBeCloseTo(total(s) / 50_000, 6); // arrivals per host kept
  });

  it('keeps at least one request in a burst scaled far down', () => {
    const s = scenario('sim/scenarios/boot-storm-50k.yaml');
    const [burst] = scaleArrivals(s, 1).workload.arrivals;
    expect(burst).toMatchObject({ kind: 'burst', count: 4 }); // round(200,000 / 50,000)
  });

  it('refuses a trace replay, naming the file', () => {
    const s = scenario('sim/scenarios/trace-replay.yaml');
    expect(() => scaleArrivals(s, 10)).toThrow(/trace replay \(traces\/sample\.csv\) cannot be scaled/);
  });

  it('refuses a host count that is not a positive integer', () => {
    const s = scenario('sim/scenarios/boot-storm-50k.yaml');
    expect(() => scaleArrivals(s, 0)).toThrow(/hosts must be a positive integer/);
  });
});

describe('sim report', () => {
  const run: SimRunResult = {
    scenario: 'x',
    hosts: 1000,
    cells: 10,
    durationMs: 60_000,
    expectedArrivals: 4000,
    submitted: 4000,
    active: 3990,
    failed: 10,
    wallMs: 10_000,
    simMs: 900_000,
    rssAfterFleet: 100 * 2 ** 20,
    heapAfterFleet: 40_000_000,
    maxRss: 300 * 2 ** 20,
    violations: 0,
    firstViolation: null,
    hash: 'a'.repeat(64),
    loadMax: 1.5,
  };

  it('computes boots per wall second from ACTIVE servers', () => {
    expect(bootsPerWallSecond(run)).toBe(399); // 3,990 in 10 s
  });

  it('shows a run per row, and a failed run with its reason', () => {
    const table = simTable([
      { hosts: 1000, outcome: { ok: true, value: run, cmd: 'c' } },
      { hosts: 10_000, outcome: { ok: false, reason: 'Error: boom', cmd: 'd' } },
    ]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain('3,990 of 4,000');
    expect(lines[2]).toContain('90.0×'); // 900 s simulated in 10 s
    expect(lines[3]).toContain('failed: Error: boom');
    for (const l of lines) expect(l.split('|')).toHaveLength(12); // 10 columns
    expect(lines[2]).toMatch(/\| +1\.50 \|$/);
  });
});

describe('claim inputs', () => {
  const root = '11111111-1111-4111-8111-111111111111' as Uuid;

  it('moves only the root generation one back', () => {
    expect(staleGenerations(root, { [root]: 5, other: 2 })).toEqual({ [root]: 4, other: 2 });
    expect(() => staleGenerations(root, { [root]: 0 })).toThrow(/no generation >= 1/);
  });

  it('alternates two different claims of one consumer', () => {
    const a = consumerClaim(root, 0);
    const b = consumerClaim(root, 1, { [root]: 3 });
    expect(a.consumer).toBe(b.consumer);
    expect(a.allocations[root]).not.toEqual(b.allocations[root]);
    expect(a.expectedGenerations).toBeUndefined();
    expect(b.expectedGenerations).toEqual({ [root]: 3 });
  });
});

describe('bench arguments', () => {
  it('takes --full, and refuses it with --quick', () => {
    expect(parseBenchArgs(['--filter', 'sim', '--full'])).toMatchObject({
      filter: 'sim',
      full: true,
      write: true,
    });
    expect(parseBenchArgs([])).toMatchObject({ full: false });
    expect(() => parseBenchArgs(['--quick', '--full'])).toThrow(/contradict/);
  });
});
