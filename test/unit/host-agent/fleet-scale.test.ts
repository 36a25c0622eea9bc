/**
 * 10,000 fake hosts in one process on the memory bus and virtual time: every host registers,
 * heartbeats for three virtual minutes through ONE scheduler timer, and takes some spawns.
 * Prints the heap used per host (a report, not an assertion).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { decode } from '../../../core/codec/envelope.ts';
import { hashString } from '../../../core/rng.ts';
import { agentSubjects } from '../../../host-agent/agent.ts';
import { HostAgentClient } from '../../../host-agent/client.ts';
import type { FakeHostSpec } from '../../../host-agent/drivers/fake-host.ts';
import { type FakeFleet, startFakeFleet } from '../../../host-agent/fleet.ts';
import { heartbeat, registerHost } from '../../../host-agent/messages.ts';
import { HeartbeatMonitor } from '../../../host-agent/monitor.ts';
import { vm } from './helpers.ts';

const HOSTS = 10_000;
const SPAWNS = 2_000;
const INTERVAL_MS = 10_000;

describe('a fleet of 10,000 fake hosts', () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const broker = new MemoryBroker({ clock });
  const agentsBus = broker.connect();
  const bus = broker.connect();
  let fleet: FakeFleet | undefined;
  let monitor: HeartbeatMonitor | undefined;

  afterAll(async () => {
    monitor?.close();
    await fleet?.stop();
    await Promise.all([agentsBus.close(), bus.close()]);
  });

  it('registers, heartbeats for 3 virtual minutes with one timer, and spawns', async () => {
    const subjects = agentSubjects('big');
    const registered = new Set<string>();
    await bus.subscribe(subjects.register, (m) => void registered.add(decode(registerHost, m.data).host));
    let beats = 0;
    let beatMessages = 0;
    await bus.subscribe(subjects.heartbeat, (m) => {
      beatMessages++;
      beats += decode(heartbeat, m.data).beats.length;
    });
    monitor = new HeartbeatMonitor({ clock, graceMs: 3 * INTERVAL_MS });
    await monitor.listen(bus, subjects.heartbeat);

    const hosts: FakeHostSpec[] = [];
    for (let i = 0; i < HOSTS; i++) {
      const gpus = i % 10 === 0 ? [{ units: 4 }] : [];
      hosts.push({
        hostname: `cn${i}`,
        vcpus: 32,
        memoryMb: 131_072,
        diskGb: 1_000,
        traits: ['HW_CPU_X86_AVX2'],
        gpus,
      });
    }
    const heapBefore = process.memoryUsage().heapUsed;
    fleet = await startFakeFleet({
      bus: agentsBus,
      clock,
      cell: 'big',
      seed: 1234,
      hosts,
      heartbeatIntervalMs: INTERVAL_MS,
      driver: { latency: { spawn: { minMs: 1_000, maxMs: 5_000 } }, failureRate: { spawn: 0.05 } },
    });
    await clock.advance(0);
    const heapAfter = process.memoryUsage().heapUsed;
    expect(registered.size).toBe(HOSTS);
    expect(fleet.agents.size).toBe(HOSTS);
    // One heartbeat timer for the whole fleet (plus the monitor's sweep).
    expect(fleet.agents.env.scheduler.armedTimers).toBe(1);
    expect(clock.pending).toBe(2);

    await clock.advance(3 * 60_000);
    expect(monitor.counts()).toEqual({ unknown: 0, up: HOSTS, down: 0 });
    // Host h beats at its phase (hash of its name mod 10 s), then every 10 s, each rounded up to
    // the end of its 250 ms bucket: 18 or 19 beats in 180 s (19 when phase rounds to 0 s).
    let expected = 0;
    for (let i = 0; i < HOSTS; i++) {
      const phase = hashString(`cn${i}`) % INTERVAL_MS;
      for (let t = phase; Math.ceil(t / 250) * 250 <= 180_000; t += INTERVAL_MS) expected++;
    }
    expect(expected).toBeGreaterThanOrEqual(HOSTS * 18);
    expect(beats).toBe(expected);
    expect(beatMessages).toBeLessThan(beats / 10); // batched: one message per sweep, not per host

    const client = new HostAgentClient(bus, { scope: 'big-agents' });
    const route = { scope: 'big-agents', hostKind: 'host-agent', instanceKind: 'host-instance' };
    const results = Promise.allSettled(
      Array.from({ length: SPAWNS }, (_, i) =>
        client.spawn({ host: `cn${(i * 7) % HOSTS}`, route }, vm({ VCPU: 2, MEMORY_MB: 4_096 })),
      ),
    );
    await clock.advance(6_000);
    const settled = await results;
    const ok = settled.filter((r) => r.status === 'fulfilled').length;
    let onHosts = 0;
    for (const a of fleet.agents.hosts()) onHosts += a.driver.listInstances().length;
    expect(onHosts).toBe(ok);
    // 5% injected failures: the seed fixes the exact count; the range only guards the knob.
    expect(ok).toBeGreaterThan(SPAWNS * 0.9);
    expect(ok).toBeLessThan(SPAWNS);
    const perHost = (heapAfter - heapBefore) / HOSTS;
    console.log(
      `host-agent fleet: ${HOSTS} hosts, heap +${((heapAfter - heapBefore) / 1e6).toFixed(1)} MB at start ` +
        `(~${Math.round(perHost)} bytes/host), ${beats} beats in ${beatMessages} messages, ${ok}/${SPAWNS} spawns ok, ` +
        `heap now ${(process.memoryUsage().heapUsed / 1e6).toFixed(1)} MB`,
    );
  });
});
