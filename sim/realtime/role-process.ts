/**
 * One process of a real-time simulation: a conductor replica (it hosts the cell's tree actors and
 * registrar while it leads), a scheduler replica (every shard of the cell, each leader-elected),
 * or the cell's simulated hosts (real host agents over fake hypervisors). The same role code as
 * `cellplane conductor|scheduler|agents` (deploy/), started from a spec file the simulator writes.
 *
 *   node --import tsx sim/realtime/role-process.ts <spec.json>
 *
 * Talks to its parent in JSON lines: on stdout `{"t":"ready"}`, `{"t":"role",…}` (leadership
 * changes), `{"t":"event","e":…}` (conductor events: the outcomes the simulator books); on stdin
 * host faults for an agents process (`{"cmd":"down"|"up"|"silent"|"beat"|"failure","hosts":[…]}`).
 * SIGTERM stops it cleanly; the simulator's leader-loss faults SIGKILL it.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { startCellRoles } from '../../deploy/cell-roles.ts';
import { connectCluster } from '../../deploy/cluster.ts';
import type { DeployConfig } from '../../deploy/config.ts';
import type { FakeHostSpec } from '../../host-agent/drivers/fake-host.ts';
import { startFakeFleet } from '../../host-agent/fleet.ts';

export interface RoleSpec {
  readonly role: 'conductor' | 'scheduler' | 'agents';
  readonly cell: string;
  readonly replicaId: string;
  /** NATS, etcd (and the API's Redis) as this process reaches them: through its cell's proxies. */
  readonly config: DeployConfig;
  /** The cell's Redis as this process reaches it. */
  readonly cellStoreUrl: string;
  readonly shardCount: number;
  readonly seed: string;
  /** agents: JSON file with the cell's FakeHostSpec[]. */
  readonly hostsFile?: string;
  readonly spawnMs: { readonly minMs: number; readonly maxMs: number };
  readonly spawnFailureRate: number;
  readonly heartbeatIntervalMs: number;
  readonly serviceDownMs: number;
  readonly conductorInFlight: number;
}

export type HostCommand = {
  readonly cmd: 'down' | 'up' | 'silent' | 'beat' | 'failure';
  readonly hosts: readonly string[];
  /** failure: spawn failure probability (absent: back to the default). */
  readonly probability?: number;
};

const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function main(file: string): Promise<void> {
  const spec = JSON.parse(readFileSync(file, 'utf8')) as RoleSpec;
  const cluster = await connectCluster(spec.config, `sim-${spec.role}-${spec.replicaId}`, {
    cellStoreUrl: () => spec.cellStoreUrl,
  });
  const cell = await cluster.cell(spec.cell);
  const ports = await cluster.portsOf(cell);
  let stop: () => Promise<void>;
  if (spec.role === 'agents') {
    const hosts = JSON.parse(readFileSync(spec.hostsFile!, 'utf8')) as FakeHostSpec[];
    const fleet = await startFakeFleet({
      bus: ports.bus,
      clock: systemClock,
      cell: cell.name,
      seed: spec.seed,
      hosts,
      heartbeatIntervalMs: spec.heartbeatIntervalMs,
      actorHost: { idleAfterMs: 30_000, sweepIntervalMs: 10_000 },
      driver: {
        latency: { spawn: spec.spawnMs, destroy: { minMs: 100, maxMs: 500 } },
        ...(spec.spawnFailureRate > 0 ? { failureRate: { spawn: spec.spawnFailureRate } } : {}),
      },
    });
    const agents = new Map([...fleet.agents.hosts()].map((a) => [a.host, a] as const));
    createInterface({ input: process.stdin }).on('line', (line) => {
      const c = JSON.parse(line) as HostCommand;
      for (const h of c.hosts) {
        const fake = fleet.fake(h);
        const agent = agents.get(h);
        if (c.cmd === 'down' || c.cmd === 'up') fake?.setDown(c.cmd === 'down');
        if (c.cmd === 'down' || c.cmd === 'silent') agent?.missHeartbeats(-1);
        if (c.cmd === 'up' || c.cmd === 'beat') agent?.missHeartbeats(0);
        if (c.cmd === 'failure') fake?.setFailureRate('spawn', c.probability);
      }
    });
    stop = () => fleet.stop();
  } else {
    const roles = await startCellRoles({
      cell: cell.name,
      cellUuid: cell.uuid,
      bus: ports.bus,
      coordinator: cluster.coordinator,
      store: ports.store,
      clock: systemClock,
      replicaId: spec.replicaId,
      shardCount: spec.shardCount,
      roles:
        spec.role === 'conductor'
          ? { trees: true, conductor: true, registrar: true }
          : { shards: Array.from({ length: spec.shardCount }, (_, k) => k) },
      leaseTtlMs: spec.config.leaseTtlMs,
      ackWaitMs: spec.config.ackWaitMs,
      maxBuildAttempts: spec.config.maxBuildAttempts,
      reconcile: { intervalMs: spec.config.reconcileIntervalMs },
      buildStallMs: spec.config.buildStallMs,
      buildTimeoutMs: spec.config.buildTimeoutMs,
      conductorInFlight: spec.conductorInFlight,
      serviceDownMs: spec.serviceDownMs,
      memberships: cluster.registry.memberships,
      onConductorEvent: (e) => say({ t: 'event', e }),
      onRoleEvent: (what, e) => {
        const type = (e as { type?: string }).type;
        if (type === 'serving' || type === 'lost' || type === 'elected') say({ t: 'role', what, type });
        // Problems and jobs that did not run once and cleanly go to stderr (copied with --verbose).
        if (
          type === 'problem' ||
          type === 'retry' ||
          type === 'redelivered' ||
          type === 'gaveUp' ||
          type === 'fenced' ||
          type === 'kicked' ||
          type === 'expired'
        )
          process.stderr.write(`${spec.replicaId} ${what}: ${JSON.stringify(e)}\n`);
      },
    });
    stop = () => roles.stop();
  }
  say({ t: 'ready' });
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    void stop()
      .then(() => cluster.close())
      .finally(() => process.exit(0));
  });
}

main(process.argv[2]!).catch((err) => {
  console.error(`sim role process: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
