/**
 * The scenario's faults, applied to the running world at their simulated times (each host pick
 * and Poisson time drawn from the run's seed, so a replay applies the same faults):
 * - scheduler_leader_loss / conductor_leader_loss: the replica holding the leadership stops (its
 *   standby takes over within the lease TTL) and a fresh replica starts as the new standby;
 * - host_crash: the hosts' hypervisors fail every operation and their agents stop heartbeating
 *   (the conductor leader's service monitor marks them down after the grace period and the
 *   shards stop choosing them); `recover_after` brings both back;
 * - heartbeat_loss: the agents skip heartbeats for `duration` (the hosts still work);
 * - spawn_failure: the hosts' spawns fail with the given probability between start and end.
 * Cell partitions, NATS/Redis restarts and BMC faults are reported as not simulated.
 */
import type { HostAgent } from '../host-agent/agent.ts';
import type { FakeHypervisor } from '../host-agent/drivers/fake-hypervisor.ts';
import type { FaultTarget, FaultTiming, HostCount, Scenario } from './scenario-types.ts';
import type { SimHost, World } from './world.ts';

export function scheduleFaults(s: Scenario, w: World, startMs: number, log: (l: string) => void): void {
  const rng = w.rng;
  const cellNames = [...w.cells.keys()];
  const at = (relMs: number, fn: () => void) =>
    w.clock.setTimeout(fn, Math.max(0, Math.round(startMs + relMs - w.clock.now())));
  const agentsOf = new Map<string, Map<string, HostAgent>>();
  const agent = (h: SimHost): HostAgent | undefined => {
    let m = agentsOf.get(h.cell);
    if (!m) {
      m = new Map([...w.cells.get(h.cell)!.fleet.agents.hosts()].map((a) => [a.host, a] as const));
      agentsOf.set(h.cell, m);
    }
    return m.get(h.name);
  };
  const fake = (h: SimHost): FakeHypervisor | undefined => w.cells.get(h.cell)?.fleet.fake(h.name);
  const targeted = (t: FaultTarget): SimHost[] =>
    [...w.hosts.values()].filter(
      (h) => (t.cell === null || h.cell === t.cell) && (t.profile === null || h.profile === t.profile),
    );
  const pick = (target: FaultTarget, count: HostCount): SimHost[] => {
    const pool = targeted(target);
    const n = count.kind === 'count' ? count.count : Math.max(1, Math.round(count.fraction * pool.length));
    return rng.shuffle(pool).slice(0, Math.min(n, pool.length));
  };
  const names = (hosts: readonly SimHost[]) =>
    hosts.length <= 3
      ? hosts.map((h) => h.name).join(', ')
      : `${hosts[0]!.name} and ${hosts.length - 1} more`;

  for (const f of s.faults) {
    switch (f.kind) {
      case 'scheduler_leader_loss':
      case 'conductor_leader_loss':
        for (const t of faultTimes(f.timing, s.run.durationMs, rng))
          at(t, () => {
            const cell = f.cell ?? cellNames[rng.int(cellNames.length)]!;
            const c = w.cells.get(cell)!;
            const i = c.replicas.findIndex((r) =>
              f.kind === 'conductor_leader_loss' ? r.conductor?.serving : r.shards.some((x) => x.serving),
            );
            if (i < 0) return;
            log(
              `t=${Math.round(t / 1000)}s ${f.kind}: replica ${i} of ${cell} stops (its standby takes over) and restarts as a standby`,
            );
            void w.restartReplica(cell, i);
          });
        break;
      case 'host_crash':
        for (const t of faultTimes(f.timing, s.run.durationMs, rng))
          at(t, () => {
            const hosts = pick(f.target, f.hosts);
            log(
              `t=${Math.round(t / 1000)}s host_crash: ${names(hosts)} down${f.recoverAfterMs === null ? '' : ` for ${f.recoverAfterMs / 1000}s`}`,
            );
            for (const h of hosts) {
              fake(h)?.setDown(true);
              agent(h)?.missHeartbeats(-1);
            }
            if (f.recoverAfterMs !== null)
              at(t + f.recoverAfterMs, () => {
                for (const h of hosts) {
                  fake(h)?.setDown(false);
                  agent(h)?.missHeartbeats(0);
                }
              });
          });
        break;
      case 'heartbeat_loss':
        for (const t of faultTimes(f.timing, s.run.durationMs, rng))
          at(t, () => {
            const hosts = pick(f.target, f.hosts);
            log(
              `t=${Math.round(t / 1000)}s heartbeat_loss: ${names(hosts)} silent for ${f.durationMs / 1000}s`,
            );
            for (const h of hosts) agent(h)?.missHeartbeats(-1);
            at(t + f.durationMs, () => {
              for (const h of hosts) agent(h)?.missHeartbeats(0);
            });
          });
        break;
      case 'spawn_failure': {
        const hosts = () => targeted(f.target);
        at(f.startMs, () => {
          for (const h of hosts()) fake(h)?.setFailureRate('spawn', f.probability);
        });
        if (f.endMs < s.run.durationMs)
          at(f.endMs, () => {
            for (const h of hosts()) fake(h)?.setFailureRate('spawn', undefined);
          });
        log(
          `spawn_failure: ${f.probability} of spawns fail on ${describeTarget(f.target)} from ${f.startMs / 1000}s to ${Math.min(f.endMs, s.run.durationMs) / 1000}s`,
        );
        break;
      }
      default:
        log(`${f.kind}: not simulated in virtual mode yet (skipped)`);
    }
  }
}

function describeTarget(t: FaultTarget): string {
  const parts = [t.cell ? `cell ${t.cell}` : '', t.profile ? `profile ${t.profile}` : ''].filter(Boolean);
  return parts.length ? parts.join(', ') : 'every host';
}

/** The fault's firing times (ms since run start) within the run. */
export function faultTimes(t: FaultTiming, durationMs: number, rng: World['rng']): number[] {
  if (t.kind === 'at') return t.atMs < durationMs ? [t.atMs] : [];
  const out: number[] = [];
  if (t.kind === 'every') {
    for (let x = t.startMs + t.everyMs; x < Math.min(t.endMs, durationMs); x += t.everyMs) out.push(x);
    return out;
  }
  for (let x = t.startMs; ; ) {
    x += -Math.log(1 - rng.next()) * (1000 / t.ratePerSecond);
    if (x >= Math.min(t.endMs, durationMs)) return out;
    out.push(Math.round(x));
  }
}
