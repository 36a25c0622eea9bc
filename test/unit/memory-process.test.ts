/**
 * A killed MemoryProcess leaves the shared world as a SIGKILLed process would: nothing it owed is
 * delivered, nothing of it acts again, what it held comes back on the servers' own timers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../core/adapters/memory/coordinator.ts';
import { MemoryProcess } from '../../core/adapters/memory/process.ts';
import { MemoryStore } from '../../core/adapters/memory/store.ts';
import type { Job } from '../../core/ports/bus.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function world() {
  const clock = new VirtualClock(0);
  return {
    clock,
    broker: new MemoryBroker({ clock }),
    coordination: new MemoryCoordinationServer(clock),
    store: new MemoryStore(),
  };
}

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  closers = [];
});

describe('MemoryProcess.kill', () => {
  it('a request it was answering is never answered, and one it sent never settles', async () => {
    const w = world();
    const p = new MemoryProcess(w);
    const other = w.broker.connect();
    closers.push(() => other.close());
    let answer: (() => void) | undefined;
    await p.bus.subscribe('svc.ask', (m) => {
      answer = () => m.respond(enc('late'));
    });
    await other.subscribe('svc.slow', () => {}); // never answers
    const asked = other.request('svc.ask', enc('?'), { timeoutMs: 1_000 }).catch((e: unknown) => e);
    let sentSettled = false;
    void p.bus
      .request('svc.slow', enc('?'), { timeoutMs: 1_000 })
      .finally(() => {
        sentSettled = true;
      })
      .catch(() => {});
    await w.clock.advance(0);
    expect(answer).toBeDefined();
    p.kill();
    answer!(); // the dead handler's reply goes nowhere
    await w.clock.advance(1_000);
    expect(await asked).toMatchObject({ code: 'timeout' });
    await w.clock.advance(5_000);
    expect(sentSettled).toBe(false);
    expect(() => p.bus.publish('svc.x', enc('!'))).toThrow(/closed/);
  });

  it('a job in its hands comes back to another consumer after the ack-wait, not before', async () => {
    const w = world();
    const p = new MemoryProcess(w);
    const other = w.broker.connect();
    closers.push(() => other.close());
    const q = await p.bus.workQueue('ops', { ackWaitMs: 10_000 });
    const held: Job[] = [];
    await q.consume(async (j) => void held.push(j), { maxInFlight: 1 });
    await q.enqueue(enc('job'));
    await w.clock.advance(0);
    expect(held).toHaveLength(1);
    p.kill();
    const got: Job[] = [];
    await (await other.workQueue('ops', { ackWaitMs: 10_000 })).consume(async (j) => void got.push(j), {
      maxInFlight: 1,
    });
    await w.clock.advance(9_000);
    expect(got).toEqual([]);
    await w.clock.advance(1_000);
    expect(got.map((j) => j.deliveryCount)).toEqual([2]);
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'closed' }); // the dead cannot ack
  });

  it('its leadership lapses after the TTL (never resigned), and it writes, sleeps and times nothing more', async () => {
    const w = world();
    const p = new MemoryProcess(w);
    const rival = w.coordination.client();
    closers.push(() => rival.close());
    const mine = await p.coordinator.election('e').campaign('dead', { ttlMs: 3_000 });
    let fired = false;
    p.clock.setTimeout(() => {
      fired = true;
    }, 100);
    p.kill();
    const theirs = rival.election('e').campaign('alive', { ttlMs: 3_000 });
    let won = false;
    void theirs.then(() => {
      won = true;
    });
    await w.clock.advance(2_000);
    expect(won).toBe(false); // not resigned: the lease runs out first
    await w.clock.advance(3_000);
    expect(won).toBe(true);
    expect(mine.lost).toBe(true);
    expect(fired).toBe(false);
    let wrote = false;
    void p.store.commit([{ op: 'put', key: 'k', value: enc('v') }]).then(() => {
      wrote = true;
    });
    await w.clock.advance(1_000);
    expect(wrote).toBe(false);
    expect(await w.store.get('k')).toBeUndefined();
    await expect(p.coordinator.put('x', enc('y'))).rejects.toMatchObject({ code: 'closed' });
  });
});
