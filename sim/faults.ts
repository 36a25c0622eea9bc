/**
 * The scenario's faults, applied to the running world at their simulated times (each host pick
 * and Poisson time drawn from the run's seed, so a replay applies the same faults):
 * - scheduler_leader_loss / conductor_leader_loss: the replica holding the leadership is killed
 *   (as SIGKILL: its lease lapses, its jobs in hand come back after the ack-wait, its requests in
 *   flight die with it; core/adapters/memory/process.ts), its standby takes over within the lease
 *   TTL and a fresh replica starts as the new standby;
 * - host_crash: the hosts' hypervisors fail every operation and their agents stop heartbeating
 *   (the conductor leader's service monitor marks them down after the grace period and the
 *   shards stop choosing them); `recover_after` brings both back;
 * - heartbeat_loss: the agents skip heartbeats for `duration` (the hosts still work);
 * - spawn_failure: the hosts' spawns fail with the given probability between start and end.
 * Cell partitions, NATS/Redis restarts and BMC faults are reported as not simulated.
 */
import type { Clock } from '../core/ports/clock.ts';
import type { Rng } from '../core/rng.ts';
import type { HostAgent } from '../host-agent/agent.ts';
import type { FakeHypervisor } from '../host-agent/drivers/fake-hypervisor.ts';
import type { FaultTarget, FaultTiming, HostCount, Scenario } from './scenario-types.ts';
import type { SimHost, World } from './world.ts';

/** What a fault does to the running control plane: in process (virtual) or to processes (real time). */
export interface FaultActions {
  /**
   * Stops the replica that leads `role` in `cell` (its standby takes over) and starts a fresh
   * standby in its place; a description of what stopped, or null when no replica leads.
   */
  leaderLoss(role: 'scheduler' | 'conductor', cell: string): string | null;
  /** down/up: the hypervisors fail every operation and the agents stop beating (or both back); silent/beat: heartbeats only. */
  hosts(cmd: 'down' | 'up' | 'silent' | 'beat', hosts: readonly SimHost[]): void;
  /** Spawns on these hosts fail with this probability (undefined: back to the scenario's rate). */
  spawnFailure(hosts: readonly SimHost[], probability: number | undefined): void;
  /** Cuts the cell off from NATS, etcd and Redis (true) or reconnects it; absent: not simulated. */
  partition?(cell: string, cut: boolean): void;
  /** Stops the server for `downtimeMs` and starts it again; resolves with what happened. Absent: not simulated. */
  restart?(service: 'nats' | 'redis', downtimeMs: number): Promise<string>;
}

export interface FaultEnv {
  readonly mode: 'virtual' | 'real';
  readonly clock: Pick<Clock, 'now' | 'setTimeout'>;
  readonly rng: Rng;
  readonly cells: readonly string[];
  /** Every simulated host, in a fixed order (host picks are drawn from the seed over it). */
  readonly hosts: readonly SimHost[];
  readonly actions: FaultActions;
}

/** The virtual world's fault actions: replicas restarted in process, fakes and agents switched. */
export function worldFaultActions(w: World): FaultActions {
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
  return {
    leaderLoss(role, cell) {
      const c = w.cells.get(cell)!;
      const i = c.replicas.findIndex((r) =>
        role === 'conductor' ? r.conductor?.serving : r.shards.some((x) => x.serving),
      );
      if (i < 0) return null;
      void w.killReplica(cell, i);
      return `replica ${i} of ${cell} killed (its standby takes over) and restarted as a standby`;
    },
    hosts(cmd, hosts) {
      for (const h of hosts) {
        if (cmd === 'down' || cmd === 'up') fake(h)?.setDown(cmd === 'down');
        agent(h)?.missHeartbeats(cmd === 'down' || cmd === 'silent' ? -1 : 0);
      }
    },
    spawnFailure(hosts, probability) {
      for (const h of hosts) fake(h)?.setFailureRate('spawn', probability);
    },
  };
}

export function scheduleFaults(s: Scenario, env: FaultEnv, startMs: number, log: (l: string) => void): void {
  const { rng, actions } = env;
  const cellNames = env.cells;
  const at = (relMs: number, fn: () => void) =>
    env.clock.setTimeout(fn, Math.max(0, Math.round(startMs + relMs - env.clock.now())));
  const targeted = (t: FaultTarget): SimHost[] =>
    env.hosts.filter(
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
  const sec = (ms: number) => Math.round(ms / 1000);

  for (const f of s.faults) {
    switch (f.kind) {
      case 'scheduler_leader_loss':
      case 'conductor_leader_loss':
        for (const t of faultTimes(f.timing, s.run.durationMs, rng))
          at(t, () => {
            const cell = f.cell ?? cellNames[rng.int(cellNames.length)]!;
            const what = actions.leaderLoss(
              f.kind === 'conductor_leader_loss' ? 'conductor' : 'scheduler',
              cell,
            );
            log(`t=${sec(t)}s ${f.kind}: ${what ?? `no replica of ${cell} leads; nothing to stop`}`);
          });
        break;
      case 'host_crash':
        for (const t of faultTimes(f.timing, s.run.durationMs, rng))
          at(t, () => {
            const hosts = pick(f.target, f.hosts);
            log(
              `t=${sec(t)}s host_crash: ${names(hosts)} down${f.recoverAfterMs === null ? '' : ` for ${f.recoverAfterMs / 1000}s`}`,
            );
            actions.hosts('down', hosts);
            if (f.recoverAfterMs !== null) at(t + f.recoverAfterMs, () => actions.hosts('up', hosts));
          });
        break;
      case 'heartbeat_loss':
        for (const t of faultTimes(f.timing, s.run.durationMs, rng))
          at(t, () => {
            const hosts = pick(f.target, f.hosts);
            log(`t=${sec(t)}s heartbeat_loss: ${names(hosts)} silent for ${f.durationMs / 1000}s`);
            actions.hosts('silent', hosts);
            at(t + f.durationMs, () => actions.hosts('beat', hosts));
          });
        break;
      case 'spawn_failure': {
        at(f.startMs, () => actions.spawnFailure(targeted(f.target), f.probability));
        if (f.endMs < s.run.durationMs)
          at(f.endMs, () => actions.spawnFailure(targeted(f.target), undefined));
        log(
          `spawn_failure: ${f.probability} of spawns fail on ${describeTarget(f.target)} from ${f.startMs / 1000}s to ${Math.min(f.endMs, s.run.durationMs) / 1000}s`,
        );
        break;
      }
      case 'cell_partition': {
        const partition = actions.partition?.bind(actions);
        if (!partition) {
          log(`${f.kind}: not simulated in ${env.mode} mode (skipped)`);
          break;
        }
        for (const t of faultTimes(f.timing, s.run.durationMs, rng))
          at(t, () => {
            log(
              `t=${sec(t)}s cell_partition: ${f.cell} cut off from NATS, etcd and Redis for ${f.durationMs / 1000}s`,
            );
            partition(f.cell, true);
            at(t + f.durationMs, () => {
              log(`t=${sec(t + f.durationMs)}s cell_partition: ${f.cell} reconnected`);
              partition(f.cell, false);
            });
          });
        break;
      }
      case 'nats_restart':
      case 'redis_restart': {
        const restart = actions.restart?.bind(actions);
        if (!restart) {
          log(`${f.kind}: not simulated in ${env.mode} mode (skipped)`);
          break;
        }
        const service = f.kind === 'nats_restart' ? 'nats' : 'redis';
        for (const t of faultTimes(f.timing, s.run.durationMs, rng))
          at(t, () => {
            void restart(service, f.downtimeMs).then(
              (what) => log(`t=${sec(t)}s ${f.kind}: ${what}`),
              (err) => log(`t=${sec(t)}s ${f.kind} failed: ${(err as Error).message}`),
            );
          });
        break;
      }
      default:
        log(`${f.kind}: not simulated in ${env.mode} mode yet (skipped)`);
    }
  }
}

function describeTarget(t: FaultTarget): string {
  const parts = [t.cell ? `cell ${t.cell}` : '', t.profile ? `profile ${t.profile}` : ''].filter(Boolean);
  return parts.length ? parts.join(', ') : 'every host';
}

/** The fault's firing times (ms since run start) within the run. */
export function faultTimes(t: FaultTiming, durationMs: number, rng: Rng): number[] {
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
