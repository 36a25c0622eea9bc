/** The shared heartbeat scheduler (one timer per process) and the HeartbeatMonitor, on virtual time. */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { encode } from '../../../core/codec/envelope.ts';
import { HeartbeatScheduler } from '../../../host-agent/heartbeat.ts';
import { heartbeat, type ServiceTransition, serviceTransition } from '../../../host-agent/messages.ts';
import { HeartbeatMonitor } from '../../../host-agent/monitor.ts';
import { Recorder } from './helpers.ts';

describe('HeartbeatScheduler', () => {
  let scheduler: HeartbeatScheduler | undefined;
  afterEach(() => scheduler?.close());

  it('beats 1,000 hosts at their interval with ONE timer on the clock', async () => {
    const clock = new VirtualClock(0);
    scheduler = new HeartbeatScheduler({ clock, resolutionMs: 100 });
    const beats = new Map<string, number[]>();
    for (let i = 0; i < 1_000; i++) {
      const key = `h${i}`;
      beats.set(key, []);
      scheduler.add(key, 10_000, (now) => beats.get(key)!.push(now));
    }
    expect(clock.pending).toBe(1);
    expect(scheduler.armedTimers).toBe(1);
    await clock.advance(60_000);
    expect(clock.pending).toBe(1);
    for (const times of beats.values()) {
      // First beat within the first interval (its phase), then one every 10 s: 6 in 60 s.
      expect(times).toHaveLength(6);
      expect(times[0]!).toBeLessThan(10_000 + 100);
      for (let k = 1; k < times.length; k++) {
        // Late by less than one bucket, never early, no drift.
        expect(times[k]! - times[0]!).toBeGreaterThanOrEqual(k * 10_000 - 100);
        expect(times[k]! - times[0]!).toBeLessThanOrEqual(k * 10_000 + 100);
      }
    }
    // Phases spread the hosts over the interval instead of one burst.
    const firsts = new Set([...beats.values()].map((t) => Math.floor(t[0]! / 1_000)));
    expect(firsts.size).toBeGreaterThanOrEqual(10);
  });

  it('removes entries and disarms its timer when none is left', async () => {
    const clock = new VirtualClock(0);
    scheduler = new HeartbeatScheduler({ clock });
    let a = 0;
    let b = 0;
    scheduler.add('a', 1_000, () => a++, { firstInMs: 0 });
    scheduler.add('b', 1_000, () => b++, { firstInMs: 0 });
    await clock.advance(2_500);
    expect([a, b]).toEqual([3, 3]); // at 0, 1000, 2000
    scheduler.remove('b');
    await clock.advance(1_000);
    expect([a, b]).toEqual([4, 3]);
    scheduler.remove('a');
    expect(scheduler.armedTimers).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('after a stall (the process was frozen for 10 intervals) beats once, then resumes its cadence', () => {
    // A hand-driven clock: the timer never fires by itself, sweeps are called by hand.
    let now = 0;
    const clock = {
      now: () => now,
      setTimeout: () => ({ id: 1 }),
      clearTimeout: () => {},
      sleep: async () => {},
    };
    scheduler = new HeartbeatScheduler({ clock, resolutionMs: 1 });
    const times: number[] = [];
    scheduler.add('c', 1_000, (t) => times.push(t), { firstInMs: 0 });
    scheduler.sweep();
    now = 10_500;
    scheduler.sweep();
    now = 10_999;
    scheduler.sweep();
    now = 11_000;
    scheduler.sweep();
    expect(times).toEqual([0, 10_500, 11_000]);
  });

  it('replacing a key keeps one entry; a throwing beat is reported and the schedule goes on', async () => {
    const clock = new VirtualClock(0);
    const errors: string[] = [];
    scheduler = new HeartbeatScheduler({ clock, onError: (key) => errors.push(key) });
    let n = 0;
    scheduler.add('x', 1_000, () => n++, { firstInMs: 0 });
    scheduler.add('x', 1_000, () => n++, { firstInMs: 0 });
    scheduler.add(
      'bad',
      1_000,
      () => {
        throw new Error('boom');
      },
      { firstInMs: 0 },
    );
    await clock.advance(1_500);
    expect(n).toBe(2);
    expect(errors).toEqual(['bad', 'bad']);
    expect(scheduler.size).toBe(2);
  });
});

describe('HeartbeatMonitor', () => {
  let monitor: HeartbeatMonitor | undefined;
  afterEach(() => monitor?.close());

  it('marks a silent host down after the grace period and up again when it returns', async () => {
    const clock = new VirtualClock(0);
    const transitions: ServiceTransition[] = [];
    monitor = new HeartbeatMonitor({
      clock,
      graceMs: 30_000,
      sweepIntervalMs: 1_000,
      onTransition: (t) => transitions.push(t),
    });
    monitor.observe('h1');
    monitor.observe('h2');
    expect(transitions.map((t) => `${t.host}:${t.up}`)).toEqual(['h1:true', 'h2:true']);
    // h1 keeps beating every 10 s, h2 goes silent at t=0.
    for (let t = 10_000; t <= 30_000; t += 10_000) {
      await clock.advance(10_000);
      monitor.observe('h1');
    }
    expect(monitor.state('h2')).toBe('up'); // exactly 30 s silent: still within grace
    await clock.advance(1_000);
    expect(monitor.state('h2')).toBe('down');
    expect(monitor.state('h1')).toBe('up');
    const down = transitions.at(-1)!;
    expect(down).toEqual({ host: 'h2', up: false, atMs: 31_000, lastSeenMs: 0 });
    await clock.advance(60_000);
    expect(transitions.filter((t) => !t.up)).toHaveLength(2); // h1 went silent too; h2 not reported twice
    monitor.observe('h2');
    expect(monitor.state('h2')).toBe('up');
    expect(transitions.at(-1)).toMatchObject({ host: 'h2', up: true, atMs: 91_000 });
    expect(monitor.counts()).toEqual({ unknown: 0, up: 1, down: 1 });
  });

  it('an expected host that never beats goes down; the timer sleeps when every host is down', async () => {
    const clock = new VirtualClock(0);
    monitor = new HeartbeatMonitor({ clock, graceMs: 5_000 });
    monitor.expect('ghost');
    expect(monitor.state('ghost')).toBe('unknown');
    await clock.advance(5_000);
    expect(monitor.state('ghost')).toBe('unknown');
    await clock.advance(1_250); // one sweep interval (grace / 4) later at most
    expect(monitor.state('ghost')).toBe('down');
    expect(monitor.armedTimers).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('listens to heartbeat batches on the bus and publishes transitions', async () => {
    const clock = new VirtualClock(0);
    const bus = new MemoryBus({ clock });
    const published = await Recorder.on(bus, 'cp.c1.hosts.service', serviceTransition);
    monitor = new HeartbeatMonitor({
      clock,
      graceMs: 2_000,
      publish: { bus, subject: 'cp.c1.hosts.service' },
    });
    const sub = await monitor.listen(bus, 'cp.c1.hosts.heartbeat');
    const beat = (host: string) => ({ host, seq: 1, atMs: 0, incarnation: 1, instances: 0 });
    bus.publish('cp.c1.hosts.heartbeat', encode(heartbeat, { cell: 'c1', beats: [beat('a'), beat('b')] }));
    bus.publish('cp.c1.hosts.heartbeat', new Uint8Array([1, 2, 3])); // garbage is ignored
    await clock.advance(0);
    expect(monitor.counts().up).toBe(2);
    await clock.advance(3_000);
    expect(published.items.map((t) => `${t.host}:${t.up}`)).toEqual([
      'a:true',
      'b:true',
      'a:false',
      'b:false',
    ]);
    await sub.unsubscribe();
    await bus.close();
  });
});
