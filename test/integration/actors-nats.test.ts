/** The actor runtime contract (and the demo) on a real nats-server, on real time. */
import { afterEach, describe, expect, it } from 'vitest';
import { runActorDemo } from '../../actors/demo.ts';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { services, uniquePrefix } from '../real/services.ts';
import { actorRuntimeContract } from '../unit/actors/actor-runtime.contract.ts';

actorRuntimeContract('NATS', {
  async setup() {
    // One prefix per test: its subjects are invisible to every other test on the server.
    const prefix = uniquePrefix('actors');
    const opened: NatsBus[] = [];
    return {
      clock: systemClock,
      async connect() {
        const bus = await NatsBus.connect({ servers: services().nats, prefix, name: 'actors-test' });
        opened.push(bus);
        return bus;
      },
      async cleanup() {
        await Promise.all(opened.map((b) => b.close()));
      },
    };
  },
});

describe('actor demo on NATS', () => {
  let bus: NatsBus | undefined;
  afterEach(async () => {
    await bus?.close();
  });

  it('runs end to end on real time with every count accounted for', async () => {
    bus = await NatsBus.connect({ servers: services().nats, prefix: uniquePrefix('demo') });
    const summary = await runActorDemo({
      bus,
      clock: systemClock,
      actors: 200,
      messages: 2_000,
      idleAfterMs: 100,
      log: () => {},
    });
    expect(summary).toMatchObject({ ok: true, persistedTotal: 2_200, expectedTotal: 2_200, restarts: 1 });
  });
});
