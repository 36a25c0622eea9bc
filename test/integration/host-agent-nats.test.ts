/** Host agents on a real nats-server, real time: registration, spawn/destroy asks, heartbeats, up/down. */
import { afterEach, describe, expect, it } from 'vitest';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { hasCode } from '../../core/errors.ts';
import { agentSubjects } from '../../host-agent/agent.ts';
import { type AgentTarget, HostAgentClient } from '../../host-agent/client.ts';
import { shouldReschedule } from '../../host-agent/driver.ts';
import { type FakeFleet, startFakeFleet } from '../../host-agent/fleet.ts';
import { instanceEvent, type RegisterHost, registerHost } from '../../host-agent/messages.ts';
import { HeartbeatMonitor } from '../../host-agent/monitor.ts';
import { services, uniquePrefix } from '../real/services.ts';
import { eventually, Recorder, smallHost, vm } from '../unit/host-agent/helpers.ts';

describe('host agents on NATS', () => {
  const opened: NatsBus[] = [];
  let fleet: FakeFleet | undefined;
  let monitor: HeartbeatMonitor | undefined;

  afterEach(async () => {
    monitor?.close();
    await fleet?.stop();
    await Promise.all(opened.splice(0).map((b) => b.close()));
  });

  it('registers, answers spawn/destroy, heartbeats, and goes down/up with missed heartbeats', async () => {
    const prefix = uniquePrefix('hostagent');
    const connect = async (name: string) => {
      const bus = await NatsBus.connect({ servers: services().nats, prefix, name });
      opened.push(bus);
      return bus;
    };
    const [agentsBus, conductorBus] = [await connect('agents'), await connect('conductor')];
    const subjects = agentSubjects('c1');
    const registrations = await Recorder.on(conductorBus, subjects.register, registerHost);
    const events = await Recorder.on(conductorBus, subjects.events, instanceEvent);
    monitor = new HeartbeatMonitor({ clock: systemClock, graceMs: 2_500, sweepIntervalMs: 100 }); // 25 beats of slack: a loaded CI machine must not flap
    await monitor.listen(conductorBus, subjects.heartbeat);
    await conductorBus.flush();

    fleet = await startFakeFleet({
      bus: agentsBus,
      clock: systemClock,
      cell: 'c1',
      seed: 'nats',
      heartbeatIntervalMs: 100,
      hosts: [smallHost('cn1'), smallHost('cn2'), smallHost('cn3')],
      driver: { latency: { spawn: { minMs: 10, maxMs: 50 }, destroy: 10 } },
    });
    await eventually(() => registrations.items.length === 3, 'three registrations');
    await eventually(() => monitor!.counts().up === 3, 'three hosts up');
    const target = (host: string): AgentTarget => ({
      host,
      route: (registrations.items.find((r) => r.host === host) as RegisterHost).route,
    });

    const client = new HostAgentClient(conductorBus, { scope: 'c1-agents', operationTimeoutMs: 5_000 });
    const specs = ['cn1', 'cn2', 'cn3'].map((h) => ({ host: h, spec: vm({ VCPU: 4, MEMORY_MB: 1_024 }) }));
    const infos = await Promise.all(specs.map(({ host, spec }) => client.spawn(target(host), spec)));
    expect(infos.map((i) => i.powerState)).toEqual(['running', 'running', 'running']);
    expect((await client.status(target('cn2'))).instances.map((i) => i.uuid)).toEqual([specs[1]!.spec.uuid]);

    // The host's own books refuse what does not fit (16 VCPU capacity, 4 in use): a reschedule.
    const refused = await client.spawn(target('cn1'), vm({ VCPU: 13 })).catch((e) => e);
    expect(hasCode(refused, 'conflict')).toBe(true);
    expect(shouldReschedule(refused)).toBe(true);

    expect(await client.destroy(target('cn1'), specs[0]!.spec.uuid)).toBe(true);
    expect((await client.status(target('cn1'))).instances).toEqual([]);
    await eventually(
      () => events.items.some((e) => e.host === 'cn1' && e.event === 'destroyed'),
      'the destroyed event',
    );

    await client.missHeartbeats(target('cn3'), -1);
    await eventually(() => monitor!.state('cn3') === 'down', 'cn3 down');
    expect(monitor.state('cn1')).toBe('up');
    await client.missHeartbeats(target('cn3'), 0);
    await eventually(() => monitor!.state('cn3') === 'up', 'cn3 up again');
  });
});
