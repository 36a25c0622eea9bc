/**
 * The simulator in real time (issue #5): sim/scenarios/realtime-small.yaml — 2 cells of 100 hosts
 * as 10 role processes on nats-server, etcd and redis-server that the run starts itself — under
 * every real-time fault: a scheduler shard leader and a conductor leader SIGKILLed, 5 hosts
 * crashing and coming back, one cell cut off from NATS/etcd/Redis for 15 s, NATS restarted, Redis
 * restarted — while servers are cold-migrated and resized (then confirmed). The books must balance: every request ended (ACTIVE, or ERROR with a fault), no
 * request lost or refused, allocations = live instances, nothing over capacity.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runRealtime } from '../../sim/realtime/run.ts';
import { parseScenario } from '../../sim/scenario.ts';

const FILE = 'sim/scenarios/realtime-small.yaml';

describe('cellplane sim in real time', () => {
  it('survives leader kills, a cell partition, host crashes and NATS/Redis restarts with nothing lost', {
    timeout: 600_000,
  }, async () => {
    const scenario = parseScenario(readFileSync(FILE, 'utf8'), { file: FILE });
    const lines: string[] = [];
    const r = await runRealtime(scenario, {
      log: (l) => lines.push(l),
      drainMs: 180_000,
      verbose: Boolean(process.env.CELLPLANE_E2E_VERBOSE),
    });
    const log = lines.join('\n');
    // Every fault happened for real.
    expect(log).toMatch(/scheduler_leader_loss: cell1-scheduler-\d+ .*SIGKILLed/);
    expect(log).toMatch(/conductor_leader_loss: cell2-conductor-\d+ .*SIGKILLed/);
    expect(log).toMatch(/host_crash: .* down for 20s/);
    expect(log).toMatch(/cell_partition: cell2 cut off/);
    expect(log).toMatch(/cell_partition: cell2 reconnected/);
    expect(log).toMatch(/nats_restart: nats \(pid \d+\) stopped, down 3s, started again/);
    expect(log).toMatch(/redis_restart: redis \(pid \d+\) stopped, down 2s, started again/);

    expect(r.report.invariants.violations).toEqual([]);
    expect(r.submitted).toBeGreaterThan(400);
    expect(r.active + r.failed).toBe(r.submitted);
    const refused = Object.entries(r.report.metrics.failuresByReason).filter(([reason]) =>
      reason.startsWith('refused'),
    );
    expect(refused, log).toEqual([]);
    expect(r.report.scenario.mode).toBe('real');
    // Servers were migrated and resized meanwhile, and confirmed (or deleted before).
    expect(r.report.scenario['moves issued'] as number).toBeGreaterThan(20);
    expect(r.report.scenario['moves done'] as number).toBeGreaterThan(10);
  });
});
