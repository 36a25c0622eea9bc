/**
 * The simulator end to end on small scenarios: the outcome and the capacity left match what a
 * pencil gives, the same seed prints the same hash (and another seed another), and the
 * invariant checker does fail a run whose books do not balance.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { InvariantChecker } from '../../../sim/invariants.ts';
import { runSimulation } from '../../../sim/run.ts';
import { parseScenario } from '../../../sim/scenario.ts';
import { buildWorld } from '../../../sim/world.ts';

const HAND = `
version: 1
name: hand
run:
  duration: 2m
  seed: 5
fleet:
  cells: [cell1]
  profiles:
    small:
      count: 2
      vcpus: 8
      ram: 32GiB
      disk: 200GiB
      allocation_ratios: { vcpu: 2.0, ram: 1.0, disk: 1.0 }
      availability_zones: [az1, az2]
    big:
      count: 1
      vcpus: 16
      ram: 64GiB
      disk: 400GiB
      allocation_ratios: { vcpu: 2.0 }
      availability_zone: az1
workload:
  flavors:
    a: { vcpus: 2, ram: 8GiB, disk_gb: 10 }
    b: { vcpus: 1, ram: 4GiB, disk_gb: 10 }
  arrivals:
    - kind: burst
      count: 5
      at: 0s
      mix: { a: 1 }
`;

describe('cellplane sim', () => {
  it('places what fits and leaves the capacity a pencil gives', async () => {
    const s = parseScenario(HAND, { file: 'hand.yaml' });
    const r = await runSimulation(s);
    expect(r.violations).toEqual([]);
    expect([r.submitted, r.active, r.failed]).toEqual([5, 5, 0]);
    // 128 GiB of RAM, 5 × 8 GiB used: 88 GiB free, on every host a multiple of 8 GiB. RAM binds
    // both flavors (VCPU: 64 at ratio 2, 10 used), so a fits 88/8 = 11 times and b 88/4 = 22.
    const total = (flavor: string) =>
      r.report.capacity.rows.filter((x) => x.flavor === flavor).reduce((n, x) => n + x.fits, 0);
    expect(total('a')).toBe(11);
    expect(total('b')).toBe(22);
    expect(r.report.metrics.requests.active).toBe(5);
  });

  it('capacity-devices: what fits of vGPU, SR-IOV and plain flavors matches the hand count in the file', async () => {
    const text = readFileSync('sim/scenarios/capacity-devices.yaml', 'utf8');
    const r = await runSimulation(parseScenario(text, { file: 'capacity-devices.yaml' }));
    expect(r.violations).toEqual([]);
    expect([r.active, r.failed]).toEqual([2, 0]);
    // The devices (and the traits asked of them) sit on nested providers: counted too.
    expect(r.report.capacity.totals).toEqual([
      { flavor: 'g1.vgpu', fits: 16 },
      { flavor: 'g2.vgpu', fits: 8 },
      { flavor: 'm1.small', fits: 145 },
      { flavor: 'n1.sriov', fits: 14 },
    ]);
  });

  it('the same seed gives the same hash; another seed another', async () => {
    const text = readFileSync('sim/scenarios/capacity-hand.yaml', 'utf8');
    const s = parseScenario(text, { file: 'capacity-hand.yaml' });
    const [a, b] = [await runSimulation(s), await runSimulation(s)];
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
    expect([a.active, a.failed]).toEqual([16, 8]); // the numbers in the file's comment
    const other = await runSimulation({ ...s, run: { ...s.run, seed: s.run.seed + 1 } });
    expect(other.hash).not.toBe(a.hash);
  });

  it('the invariant checker fails books that do not balance (an allocation without an instance)', async () => {
    const s = parseScenario(HAND, { file: 'hand.yaml' });
    const clock = new VirtualClock(Date.parse('2030-01-01T00:00:00Z'));
    const w = await buildWorld(s, { clock, onConductorEvent: () => {} });
    try {
      const cell = w.cells.get('cell1')!;
      const until = async (check: () => boolean) => {
        for (let i = 0; i < 600 && !check(); i++) await clock.advance(100);
      };
      await until(() => cell.replicas[0]!.registrar?.hosts().length === 3);
      const host = cell.replicas[0]!.registrar!.hosts()[0]!;
      const checker = new InvariantChecker(w, clock.now());
      await checker.final(new Map());
      expect(checker.violations).toEqual([]);
      // A claim nobody's instance record accounts for: a leak.
      const leaked = cell.replicas[0]!.trees.claim(host.root, {
        consumer: 'd0000000-0000-4000-8000-000000000001',
        project: 'p',
        user: 'u',
        allocations: { [host.root]: { VCPU: 1 } },
      });
      await clock.advance(10);
      expect((await leaked).ok).toBe(true);
      await checker.final(new Map());
      expect(checker.violations[0]).toMatchObject({ invariant: 'allocations' });
      expect(checker.violations[0]!.message).toMatch(/holds 1 VCPU but its live instances claim 0/);
    } finally {
      let stopped = false;
      const stopping = w.stop().finally(() => {
        stopped = true;
      });
      for (let i = 0; i < 600 && !stopped; i++) await clock.advance(1_000);
      await stopping;
    }
  });

  it('a host crash: spawns on the crashed hosts fail and reschedule to the one left; books balance', async () => {
    const text = `${HAND.replace(/arrivals:[\s\S]*$/, '')}arrivals:
    - kind: burst
      count: 4
      at: 5s
      mix: { b: 1 }
faults:
  - kind: host_crash
    at: 1s
    count: 2
    profile: small
    recover_after: 10m
`;
    const s = parseScenario(text, { file: 'crash.yaml' });
    const lines: string[] = [];
    const r = await runSimulation(s, { decisionLog: (l) => lines.push(l) });
    expect(r.violations).toEqual([]);
    expect([r.active, r.failed]).toEqual([4, 0]);
    const hosts = new Set(lines.filter((l) => l.includes(' active ')).map((l) => l.split(' ')[3]));
    expect([...hosts]).toEqual(['cell1-big-00003']);
    expect(r.report.metrics.reschedules).toBeGreaterThan(0);
  });

  it('workload moves: each server resized to b or cold-migrated, confirmed; books balance', async () => {
    const text = `${HAND.replace(/arrivals:[\s\S]*$/, '')}arrivals:
    - kind: burst
      count: 3
      at: 0s
      mix: { a: 1 }
  operations:
    resize: { fraction: 1, to: { b: 1 } }
    cold_migrate: { fraction: 1 }
    live_migrate: { rate_per_minute: 1 }
`;
    const s = parseScenario(text, { file: 'moves.yaml' });
    const lines: string[] = [];
    const logs: string[] = [];
    const r = await runSimulation(s, { decisionLog: (l) => lines.push(l), log: (l) => logs.push(l) });
    expect(r.violations).toEqual([]);
    expect([r.active, r.failed]).toEqual([3, 0]);
    const f = r.report.scenario;
    // Six moves planned (two per server); one at a time per server, so some find it busy.
    expect((f['moves issued'] as number) + (f['moves skipped (busy)'] as number)).toBe(6);
    expect(f['moves issued']).toBeGreaterThanOrEqual(3);
    expect(f['moves confirmed']).toBe(f['moves done']);
    expect(f['moves done']).toBe(f['moves issued']);
    const resized = lines.filter((l) => / resize \S+ b$/.test(l));
    const moved = lines.filter((l) => l.includes(' moved '));
    expect(moved.length).toBe(f['moves done']);
    for (const m of moved) expect(m.split(' ')[3]).not.toBe(m.split(' ')[4]); // from ≠ to
    expect(resized.length).toBeGreaterThan(0);
    expect(logs.join('\n')).toMatch(/live_migrate: not issued/);
  });
});
