/**
 * The Clock port's contract, run against the virtual clock (test/contract/clock.memory.test.ts)
 * and the system clock (test/contract/clock.real.test.ts). `pass(ms)` lets time go by:
 * `advance` on the virtual clock, a real wait on the system clock.
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../core/ports/clock.ts';

export interface ClockFixture {
  clock: Clock;
  /** Lets `ms` of this clock's time pass (and the timers due in it fire). */
  pass(ms: number): Promise<void>;
  /**
   * How early, in ms, a timer may fire as seen by now(): 0 on virtual time; 1 on the system
   * clock, whose timers run on a monotonic clock while now() is wall time rounded to the ms.
   */
  slackMs: number;
}

export function clockContract(label: string, make: () => ClockFixture): void {
  describe(`Clock contract: ${label}`, () => {
    it('now() does not go backwards and moves with time', async () => {
      const { clock, pass, slackMs } = make();
      const t0 = clock.now();
      await pass(30);
      const t1 = clock.now();
      expect(t1).toBeGreaterThanOrEqual(t0 + 30 - slackMs);
    });

    it('fires timers no earlier than asked, in due order, ties in creation order', async () => {
      const { clock, pass, slackMs } = make();
      const t0 = clock.now();
      const fired: Array<[string, number]> = [];
      clock.setTimeout(() => fired.push(['late', clock.now() - t0]), 60);
      clock.setTimeout(() => fired.push(['early', clock.now() - t0]), 20);
      clock.setTimeout(() => fired.push(['early-2', clock.now() - t0]), 20);
      await pass(150);
      expect(fired.map(([n]) => n)).toEqual(['early', 'early-2', 'late']);
      expect(fired[0]![1]).toBeGreaterThanOrEqual(20 - slackMs);
      expect(fired[2]![1]).toBeGreaterThanOrEqual(60 - slackMs);
    });

    it('a cleared timer never fires; clearing twice is harmless', async () => {
      const { clock, pass } = make();
      let fired = 0;
      const h = clock.setTimeout(() => fired++, 10);
      clock.clearTimeout(h);
      clock.clearTimeout(h);
      await pass(50);
      expect(fired).toBe(0);
    });

    it('sleep resolves after the delay and rejects with the reason when aborted', async () => {
      const { clock, pass, slackMs } = make();
      const t0 = clock.now();
      const slept = clock.sleep(25).then(() => clock.now() - t0);
      await pass(60);
      expect(await slept).toBeGreaterThanOrEqual(25 - slackMs);

      const ac = new AbortController();
      const aborted = clock.sleep(10_000, ac.signal);
      ac.abort(new Error('shutting down'));
      await expect(aborted).rejects.toThrow('shutting down');
      const already = clock.sleep(10, AbortSignal.abort(new Error('already')));
      await expect(already).rejects.toThrow('already');
    });
  });
}
