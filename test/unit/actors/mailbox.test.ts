import { describe, expect, it } from 'vitest';
import { Mailbox } from '../../../actors/runtime/mailbox.ts';
import { thrownCode } from '../../contract/bus-helpers.ts';

const tick = () => new Promise<void>((r) => setImmediate(r));

/** A runner that records start/end of each item and can be held per item. */
function recorder() {
  const log: string[] = [];
  const gates = new Map<number, () => void>();
  let running = 0;
  let maxRunning = 0;
  const run = async (n: number) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    log.push(`start ${n}`);
    await new Promise<void>((r) => gates.set(n, r));
    log.push(`end ${n}`);
    running--;
  };
  return { log, gates, run, maxRunning: () => maxRunning };
}

describe('Mailbox', () => {
  it('runs items one at a time, in arrival order', async () => {
    const r = recorder();
    const mb = new Mailbox(r.run, 10);
    for (const n of [1, 2, 3]) mb.offer(n);
    expect(r.log).toEqual(['start 1']); // an idle mailbox starts the first item at once
    for (const n of [1, 2, 3]) {
      await tick();
      r.gates.get(n)!();
    }
    await mb.idle();
    expect(r.log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(r.maxRunning()).toBe(1);
  });

  it('refuses an item when `limit` items wait behind the running one; force ignores the limit', async () => {
    const r = recorder();
    const mb = new Mailbox(r.run, 2);
    expect([1, 2, 3, 4].map((n) => mb.offer(n))).toEqual([true, true, true, false]); // 1 runs, 2 and 3 wait
    expect(mb.waiting).toBe(2);
    mb.force(5);
    expect(mb.waiting).toBe(3);
    expect(mb.takeWaiting()).toEqual([2, 3, 5]);
    r.gates.get(1)!();
    await mb.idle();
    expect(mb.busy).toBe(false);
  });

  it('keeps going after an item rejects, and idle() waits for items queued meanwhile', async () => {
    const done: number[] = [];
    const mb = new Mailbox<number>(async (n) => {
      await tick();
      if (n === 1) throw new Error('runner bug');
      done.push(n);
      if (n === 2) mb.offer(3);
    });
    mb.offer(1);
    mb.offer(2);
    await mb.idle();
    expect(done).toEqual([2, 3]);
  });

  it('rejects a limit below 1', () => {
    expect(thrownCode(() => new Mailbox(async () => {}, 0))).toBe('invalid');
  });
});
