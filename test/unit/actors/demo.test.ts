import { afterEach, describe, expect, it } from 'vitest';
import { runActorDemo } from '../../../actors/demo.ts';
import { MemoryBus } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';

describe('actor demo (memory bus, virtual clock)', () => {
  const buses: MemoryBus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  it('tells, asks, passivates, restarts and drains with every count accounted for', async () => {
    const clock = new VirtualClock(0);
    const bus = new MemoryBus({ clock });
    buses.push(bus);
    const lines: string[] = [];
    let done = false;
    const run = runActorDemo({ bus, clock, actors: 50, messages: 1_001, log: (l) => lines.push(l) }).finally(
      () => {
        done = true;
      },
    );
    // Drive virtual time until the demo finishes (it waits for the sweep timer to passivate).
    while (!done) await clock.advance(10);
    const summary = await run;
    expect(summary).toMatchObject({
      actors: 50,
      messages: 1_001,
      told: 501,
      asked: 500,
      ok: true,
      expectedTotal: 1_051,
      persistedTotal: 1_051,
      failures: 1,
      restarts: 1,
    });
    // 50 first activations; actor 0 again after passivation and after the crash; the 49
    // others again for the last message (they were passivated, actor 0 was still active).
    expect(summary.activations).toBe(50 + 2 + 49);
    expect(summary.passivations).toBeGreaterThanOrEqual(50);
    expect(summary.timingsMs.passivate).toBeGreaterThanOrEqual(200); // virtual ms: at least the idle time
    expect(lines.some((l) => l.startsWith('event failed counter/c-0: demo crash'))).toBe(true);
  });

  it('rejects nonsense sizes', async () => {
    const clock = new VirtualClock(0);
    const bus = new MemoryBus({ clock });
    buses.push(bus);
    await expect(runActorDemo({ bus, clock, actors: 0, messages: 1, log: () => {} })).rejects.toMatchObject({
      code: 'invalid',
    });
  });
});
