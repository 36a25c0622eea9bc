import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer, MemoryCoordinator } from '../../core/adapters/memory/coordinator.ts';
import { MEMORY_WATCH_HISTORY_LIMIT } from '../../core/adapters/memory/coordinator-server.ts';
import type { Coordinator, WatchEvent } from '../../core/ports/coordinator.ts';
import { type CoordinatorWorld, coordinatorContract } from './coordinator.contract.ts';

/** Virtual time moves in steps this small while waiting for a condition. */
const STEP_MS = 10;

function memoryWorld(): CoordinatorWorld {
  const clock = new VirtualClock(1_000_000);
  const server = new MemoryCoordinationServer(clock);
  return {
    ttlMs: 1000,
    expirySlackMs: 0,
    client: () => server.client(),
    crash: (c: Coordinator) => (c as MemoryCoordinator).crash(),
    async eventually(what, withinMs, check) {
      const deadline = clock.now() + withinMs;
      for (;;) {
        if (await check()) return;
        if (clock.now() >= deadline) throw new Error(`not within ${withinMs} ms (virtual): ${what}`);
        await clock.advance(Math.min(STEP_MS, deadline - clock.now()));
      }
    },
    pass: (ms) => clock.advance(ms),
    close: async () => {},
  };
}

coordinatorContract('memory', async () => memoryWorld());

describe('MemoryCoordinator specifics', () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it('expires an unrefreshed lease exactly at its TTL on the virtual clock', async () => {
    const clock = new VirtualClock(0);
    const c = new MemoryCoordinator(clock);
    const lease = await c.grantLease(1000, { keepAlive: false });
    await c.put('k', enc('v'), { lease });
    await clock.advance(999);
    expect(await c.get('k')).toBeDefined();
    expect(lease.lost).toBe(false);
    await clock.advance(1);
    expect(await c.get('k')).toBeUndefined();
    expect(lease.lost).toBe(true);
    await c.close();
  });

  it('numbers every write with the next global revision; one revoke is one revision', async () => {
    const c = new MemoryCoordinator(new VirtualClock(0));
    expect(await c.put('a', enc('1'))).toBe(1);
    expect(await c.put('b', enc('2'))).toBe(2);
    const lease = await c.grantLease(1000);
    await c.put('l1', enc('x'), { lease });
    await c.put('l2', enc('y'), { lease });
    const seen: WatchEvent[] = [];
    await c.watch('l', (ev) => seen.push(ev));
    await lease.revoke();
    await new Promise((r) => setImmediate(r));
    expect(seen.map((e) => [e.type, e.key, e.revision])).toEqual([
      ['delete', 'l1', 5],
      ['delete', 'l2', 5],
    ]);
    expect(await c.put('c', enc('3'))).toBe(6);
    await c.close();
  });

  it('delivers watch events after the write returns, never inside it', async () => {
    const c = new MemoryCoordinator(new VirtualClock(0));
    const seen: string[] = [];
    await c.watch('', (ev) => seen.push(ev.key));
    const put = c.put('k', enc('v'));
    expect(seen).toEqual([]);
    await put;
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['k']);
    await c.close();
  });

  it('refuses to replay history it no longer keeps', async () => {
    const c = new MemoryCoordinator(new VirtualClock(0));
    // At least the last LIMIT events are kept; the oldest go in chunks once a quarter more piled up.
    const puts = Math.floor(MEMORY_WATCH_HISTORY_LIMIT * 1.25) + 1;
    for (let i = 0; i < puts; i++) await c.put('spin', enc(String(i)));
    await expect(c.watch('', () => {}, { fromRevision: 1 })).rejects.toMatchObject({ code: 'notFound' });
    const last = puts;
    const seen: number[] = [];
    const w = await c.watch('', (ev) => seen.push(ev.revision), { fromRevision: last });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([last]);
    await w.cancel();
    await c.close();
  });

  it('rejects election names that would overlap another election’s keys', () => {
    const c = new MemoryCoordinator(new VirtualClock(0));
    expect(() => c.election('a/b')).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(() => c.election('')).toThrow(expect.objectContaining({ code: 'invalid' }));
  });
});
