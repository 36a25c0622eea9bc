/**
 * A fleet of fake hosts in one process, for tests and the simulator: one HostAgents group
 * (one ActorHost, one heartbeat timer) over N FakeHypervisors, each seeded `<seed>:<hostname>`
 * so a run replays exactly. Memory per host is the fake's books plus a small HostAgent.
 *
 * ```ts
 * const fleet = await startFakeFleet({ bus, clock, cell: 'cell1', seed: 42,
 *   hosts: [{ hostname: 'cn1', vcpus: 32, memoryMb: 131072, diskGb: 2000 }],
 *   driver: { latency: { spawn: { minMs: 2000, maxMs: 8000 } }, failureRate: { spawn: 0.01 } } });
 * ```
 */
import type { Bus } from '../core/ports/bus.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { HostAgent } from './agent.ts';
import { HostAgents, type HostAgentsOptions } from './agents.ts';
import { describeFakeHost, type FakeHostSpec } from './drivers/fake-host.ts';
import { FakeHypervisor, type FakeHypervisorOptions } from './drivers/fake-hypervisor.ts';

export interface FakeFleetOptions extends Omit<HostAgentsOptions, 'bus' | 'clock' | 'cell'> {
  readonly bus: Bus;
  readonly clock: Clock;
  readonly cell: string;
  readonly hosts: readonly FakeHostSpec[];
  /** Run seed: each host's fake draws from `<seed>:<hostname>`. */
  readonly seed: number | string;
  /** Latency and failure knobs shared by every host. */
  readonly driver?: Pick<FakeHypervisorOptions, 'latency' | 'failureRate'>;
}

export interface FakeFleet {
  readonly agents: HostAgents;
  /** The fake behind a host (fault hooks, usage books). */
  fake(host: string): FakeHypervisor | undefined;
  /** Adds one more host at runtime (registers it and starts its heartbeat). */
  addHost(spec: FakeHostSpec): HostAgent;
  stop(): Promise<void>;
}

export async function startFakeFleet(opts: FakeFleetOptions): Promise<FakeFleet> {
  const { hosts, seed, driver, ...rest } = opts;
  const agents = await HostAgents.start(rest);
  const fakes = new Map<string, FakeHypervisor>();
  const addHost = (spec: FakeHostSpec): HostAgent => {
    const fake = new FakeHypervisor({
      clock: opts.clock,
      description: describeFakeHost(spec),
      seed: `${seed}:${spec.hostname}`,
      ...(driver?.latency ? { latency: driver.latency } : {}),
      ...(driver?.failureRate ? { failureRate: driver.failureRate } : {}),
    });
    const agent = agents.add(fake);
    fakes.set(spec.hostname, fake);
    return agent;
  };
  try {
    for (const spec of hosts) addHost(spec);
  } catch (err) {
    await agents.stop();
    throw err;
  }
  return {
    agents,
    fake: (host) => fakes.get(host),
    addHost,
    stop: () => agents.stop(),
  };
}
