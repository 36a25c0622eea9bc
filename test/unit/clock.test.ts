import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../core/adapters/memory/clock.ts';

describe('VirtualClock', () => {
  it('fires due timers in (time, creation) order and nothing early', async () => {
    const clock = new VirtualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('c@20'), 20);
    clock.setTimeout(() => fired.push('d@30'), 30);
    await clock.advance(19);
    expect(fired).toEqual(['a@10']);
    expect(clock.now()).toBe(1019);
    await clock.advance(1);
    expect(fired).toEqual(['a@10', 'b@20', 'c@20']);
    await clock.advance(100);
    expect(fired).toEqual(['a@10', 'b@20', 'c@20', 'd@30']);
    expect(clock.now()).toBe(1120);
  });

  it('runs timers that timers create, when they fall inside the advance', async () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    const tick = () => {
      at.push(clock.now());
      if (at.length < 5) clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    await clock.advance(100);
    expect(at).toEqual([10, 20, 30, 40, 50]);
  });

  it('lets async continuations run between timers', async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    void (async () => {
      await clock.sleep(10);
      log.push(`slept to ${clock.now()}`);
      await clock.sleep(5);
      log.push(`slept to ${clock.now()}`);
    })();
    await clock.advance(15);
    expect(log).toEqual(['slept to 10', 'slept to 15']);
  });

  it('cancels timers and aborted sleeps', async () => {
    const clock = new VirtualClock();
    let fired = false;
    const h = clock.setTimeout(() => {
      fired = true;
    }, 5);
    clock.clearTimeout(h);
    const ac = new AbortController();
    const slept = clock.sleep(10, ac.signal);
    ac.abort(new Error('stop'));
    await expect(slept).rejects.toThrow('stop');
    await clock.advance(20);
    expect(fired).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('safety: any set of timers, some cancelled, fires exactly the live ones in (due, creation) order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ delay: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), {
          maxLength: 60,
        }),
        async (specs) => {
          const clock = new VirtualClock();
          const fired: number[] = [];
          const handles = specs.map((s, i) => clock.setTimeout(() => fired.push(i), s.delay));
          for (const [i, s] of specs.entries()) if (s.cancel) clock.clearTimeout(handles[i]!);
          await clock.advance(100);
          const expected = specs
            .map((s, i) => ({ ...s, i }))
            .filter((s) => !s.cancel)
            .sort((a, b) => a.delay - b.delay || a.i - b.i)
            .map((s) => s.i);
          expect(fired).toEqual(expected);
          expect(clock.pending).toBe(0);
        },
      ),
      { numRuns: 50 },
    );
  });
});
