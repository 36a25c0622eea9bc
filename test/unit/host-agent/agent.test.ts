/** Host agents on the memory bus and virtual time: registration, asks, events, heartbeats, faults. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActorClient } from '../../../actors/runtime/client.ts';
import { MemoryBroker, type MemoryBus } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { encode } from '../../../core/codec/envelope.ts';
import { hasCode } from '../../../core/errors.ts';
import { agentSubjects } from '../../../host-agent/agent.ts';
import { instanceActorId } from '../../../host-agent/agents.ts';
import * as asks from '../../../host-agent/asks.ts';
import { type AgentTarget, HostAgentClient } from '../../../host-agent/client.ts';
import { shouldReschedule } from '../../../host-agent/driver.ts';
import { stableUuid } from '../../../host-agent/drivers/fake-host.ts';
import { type FakeFleet, startFakeFleet } from '../../../host-agent/fleet.ts';
import {
  heartbeat,
  instanceEvent,
  type RegisterHost,
  registerHost,
  resync,
} from '../../../host-agent/messages.ts';
import { HeartbeatMonitor } from '../../../host-agent/monitor.ts';
import { Recorder, smallHost, vm } from './helpers.ts';

const subjects = agentSubjects('c1');

describe('host agents', () => {
  let clock: VirtualClock;
  let broker: MemoryBroker;
  let agentsBus: MemoryBus;
  let conductorBus: MemoryBus;
  let fleet: FakeFleet;
  let client: HostAgentClient;
  let registrations: Recorder<RegisterHost>;
  const target = (host: string): AgentTarget => ({
    host,
    route: registrations.items.find((r) => r.host === host)!.route,
  });

  beforeEach(async () => {
    clock = new VirtualClock(1_700_000_000_000);
    broker = new MemoryBroker({ clock });
    agentsBus = broker.connect();
    conductorBus = broker.connect();
    registrations = await Recorder.on(conductorBus, subjects.register, registerHost);
    fleet = await startFakeFleet({
      bus: agentsBus,
      clock,
      cell: 'c1',
      seed: 'agent-test',
      heartbeatIntervalMs: 10_000,
      hosts: [smallHost('cn1', { gpus: [{ units: 2 }] }), smallHost('cn2')],
      driver: { latency: { spawn: 3_000, destroy: 500, reboot: 1_000, powerOff: 200, powerOn: 200 } },
    });
    client = new HostAgentClient(conductorBus, { scope: 'c1-agents' });
    await clock.advance(0);
  });

  afterEach(async () => {
    await fleet.stop();
    await Promise.all([agentsBus.close(), conductorBus.close()]);
  });

  it('registers every host with its provider tree, traits, capabilities and route', () => {
    expect(registrations.items.map((r) => r.host)).toEqual(['cn1', 'cn2']);
    const cn1 = registrations.items[0]!;
    expect(cn1).toMatchObject({
      cell: 'c1',
      hypervisorType: 'fake',
      route: { scope: 'c1-agents', hostKind: 'host-agent', instanceKind: 'host-instance' },
      incarnation: 1_700_000_000_000,
      capabilities: { supportsVgpu: true },
    });
    expect(cn1.providers.map((p) => p.name)).toEqual(['cn1', 'cn1_gpu0']);
    expect(cn1.providers[0]!.inventories.VCPU).toEqual({
      total: 8,
      reserved: 0,
      minUnit: 1,
      maxUnit: 2_147_483_647,
      stepSize: 1,
      allocationRatio: 2,
    });
    expect(cn1.providers[0]!.traits).toContain('HW_CPU_X86_AVX2');
    expect(cn1.providers[1]!.parentUuid).toBe(stableUuid('cn1'));
  });

  it('re-registers on a resync broadcast (all or listed hosts) and on an ask', async () => {
    conductorBus.publish(subjects.resync, encode(resync, {}));
    await clock.advance(0);
    expect(registrations.items).toHaveLength(4);
    conductorBus.publish(subjects.resync, encode(resync, { hosts: ['cn2', 'elsewhere'] }));
    await clock.advance(0);
    expect(registrations.items.map((r) => r.host).slice(4)).toEqual(['cn2']);
    await client.reregister(target('cn1'));
    expect(registrations.items.at(-1)?.host).toBe('cn1');
  });

  it('spawns, reboots, stops, starts and destroys, emitting timestamped events', async () => {
    const events = await Recorder.on(conductorBus, subjects.events, instanceEvent);
    const spec = vm({ VCPU: 2, MEMORY_MB: 2_048 }, [
      { providerUuid: stableUuid('cn1_gpu0'), resources: { VGPU: 1 } },
    ]);
    const t0 = clock.now();
    const spawned = client.spawn(target('cn1'), spec);
    await clock.advance(3_000);
    expect(await spawned).toEqual({ uuid: spec.uuid, powerState: 'running', changedAtMs: t0 + 3_000 });
    const run = async <T>(p: Promise<T>, ms: number) => {
      await clock.advance(ms);
      return p;
    };
    expect((await run(client.reboot(target('cn1'), spec.uuid, 'soft'), 1_000)).powerState).toBe('running');
    expect((await run(client.stop(target('cn1'), spec.uuid), 200)).powerState).toBe('shutdown');
    const status = await client.status(target('cn1'));
    expect(status).toMatchObject({
      host: 'cn1',
      cell: 'c1',
      instances: [{ uuid: spec.uuid, powerState: 'shutdown' }],
    });
    expect((await run(client.start(target('cn1'), spec.uuid), 200)).powerState).toBe('running');
    expect(await run(client.destroy(target('cn1'), spec.uuid), 500)).toBe(true);
    expect(await run(client.destroy(target('cn1'), spec.uuid), 0)).toBe(false);
    expect(fleet.fake('cn1')!.used(stableUuid('cn1_gpu0'), 'VGPU')).toBe(0);
    expect(events.items.map((e) => `${e.event}@${e.atMs - t0}`)).toEqual([
      'spawning@0',
      'spawned@3000',
      'rebooting@3000',
      'rebooted@4000',
      'stopping@4000',
      'stopped@4200',
      'starting@4200',
      'started@4400',
      'destroying@4400',
      'destroyed@4900',
      'destroying@4900',
      'destroyed@4900',
    ]);
    expect(events.items.map((e) => e.seq)).toEqual(events.items.map((_, i) => i + 1));
  });

  it('operations on different instances of a host overlap; on one instance they queue', async () => {
    const a = vm({ VCPU: 1 });
    const b = vm({ VCPU: 1 });
    const pa = client.spawn(target('cn2'), a);
    const pb = client.spawn(target('cn2'), b);
    await clock.advance(3_000);
    expect((await Promise.all([pa, pb])).map((i) => i.changedAtMs - clock.now())).toEqual([0, 0]);
    const stop = client.stop(target('cn2'), a.uuid);
    const start = client.start(target('cn2'), a.uuid);
    await clock.advance(200);
    expect((await stop).powerState).toBe('shutdown');
    await clock.advance(200);
    expect((await start).powerState).toBe('running');
  });

  it('answers a spawn the host cannot hold with a coded, reschedulable error and a spawnFailed event', async () => {
    const events = await Recorder.on(conductorBus, subjects.events, instanceEvent);
    const err = await client.spawn(target('cn2'), vm({ VCPU: 17 })).catch((e) => e);
    expect(hasCode(err, 'conflict')).toBe(true);
    expect(shouldReschedule(err)).toBe(true);
    expect(err.details).toMatchObject({ reason: 'capacity', capacity: 16 });
    expect(events.items.map((e) => e.event)).toEqual(['spawning', 'spawnFailed']);
    expect(events.items[1]!.error).toMatchObject({ code: 'conflict', details: { reason: 'capacity' } });
    // The spec must be for the instance the actor stands for.
    const actors = new ActorClient(conductorBus, { scope: 'c1-agents' });
    const to = { kind: 'host-instance', id: instanceActorId('cn2', 'some-other-uuid') };
    const wrongId = await actors.ask(to, asks.spawn, { spec: vm({ VCPU: 1 }) }).catch((e) => e);
    expect(hasCode(wrongId, 'invalid')).toBe(true);
  });

  it('answers notFound for a host this process does not serve', async () => {
    const err = await client.status({ host: 'nope', route: target('cn1').route }).catch((e) => e);
    expect(hasCode(err, 'notFound')).toBe(true);
  });

  it('heartbeats in batches at its interval; a host told to miss them goes down, then up again', async () => {
    const beats = await Recorder.on(conductorBus, subjects.heartbeat, heartbeat);
    const monitor = new HeartbeatMonitor({ clock, graceMs: 30_000, sweepIntervalMs: 5_000 });
    const sub = await monitor.listen(conductorBus, subjects.heartbeat);
    try {
      await clock.advance(10_000);
      expect(monitor.counts().up).toBe(2);
      const perHost = () => beats.items.flatMap((m) => m.beats).filter((b) => b.host === 'cn1');
      expect(perHost()).toHaveLength(1);
      await client.missHeartbeats(target('cn1'), -1);
      await clock.advance(35_000);
      expect(monitor.state('cn1')).toBe('down');
      expect(monitor.state('cn2')).toBe('up');
      expect((await client.status(target('cn1'))).missingHeartbeats).toBe(-1);
      await client.missHeartbeats(target('cn1'), 0);
      await clock.advance(10_000);
      expect(monitor.state('cn1')).toBe('up');
      // Sequence numbers continue: the gap is visible to whoever reads the beats.
      expect(perHost().map((b) => b.seq)).toEqual([1, 2]);
      // A bounded miss: skip 2 beats, then resume by itself.
      fleet.agents.agent('cn2')!.missHeartbeats(2);
      const before = beats.items.flatMap((m) => m.beats).filter((b) => b.host === 'cn2').length;
      await clock.advance(30_000);
      expect(beats.items.flatMap((m) => m.beats).filter((b) => b.host === 'cn2').length).toBe(before + 1);
    } finally {
      await sub.unsubscribe();
      monitor.close();
    }
  });
});
