/** Passivation on virtual time: one shared sweep timer, idle thresholds, races with new messages. */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorClient } from '../../../actors/runtime/client.ts';
import type { ActorEvent } from '../../../actors/runtime/events.ts';
import { ActorHost } from '../../../actors/runtime/host.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { add, counterActor, get, Probe } from './counter-fixture.ts';

const IDLE_MS = 1_000;
const SWEEP_MS = 100;
const A = (id: string) => ({ kind: 'counter', id });

describe('passivation (memory bus, virtual clock)', () => {
  let cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.reverse()) await fn();
    cleanup = [];
  });

  async function world() {
    const clock = new VirtualClock(0);
    const broker = new MemoryBroker({ clock });
    const [hostBus, clientBus] = [broker.connect(), broker.connect()];
    const probe = new Probe();
    const events: ActorEvent[] = [];
    const host = new ActorHost({
      bus: hostBus,
      clock,
      scope: 'c1',
      idleAfterMs: IDLE_MS,
      sweepIntervalMs: SWEEP_MS,
      onEvent: (e) => events.push(e),
    });
    await host.register(counterActor(probe));
    cleanup.push(async () => {
      await host.shutdown();
      await Promise.all([hostBus.close(), clientBus.close()]);
    });
    return { clock, host, probe, events, client: new ActorClient(clientBus, { scope: 'c1' }) };
  }

  it('uses ONE sweep timer whatever the number of actors, and none once all are passivated', async () => {
    const { clock, host, client } = await world();
    expect(clock.pending).toBe(0); // nothing to sweep yet
    for (let i = 0; i < 500; i++) client.tell(A(`a${i}`), add, { by: 1 });
    await clock.advance(0);
    expect(host.stats().active).toBe(500);
    expect(clock.pending).toBe(1);
    await clock.advance(IDLE_MS + 2 * SWEEP_MS);
    expect(host.stats()).toMatchObject({ actors: 0, passivations: 500 });
    expect(clock.pending).toBe(0);
    client.tell(A('again'), add, { by: 1 });
    await clock.advance(0);
    expect(clock.pending).toBe(1);
  });

  it('passivates no sooner than idleAfterMs after the last message, and within one sweep after', async () => {
    const { clock, host, client } = await world();
    await client.ask(A('x'), add, { by: 1 }); // t = 0
    await clock.advance(600);
    await client.ask(A('x'), add, { by: 1 }); // t = 600: the idle time starts again
    await clock.advance(IDLE_MS - 1); // t = 1599
    expect(host.stats().passivations).toBe(0);
    await clock.advance(SWEEP_MS + 1); // t = 1700: a sweep at or after 1600 has run
    expect(host.stats().passivations).toBe(1);
  });

  it('keeps the instance when deactivate fails, reports it, and retries on a later sweep', async () => {
    const { clock, host, client, probe, events } = await world();
    probe.failDeactivate.add('d');
    await client.ask(A('d'), add, { by: 2 });
    await clock.advance(IDLE_MS + SWEEP_MS);
    expect(events.find((e) => e.type === 'failed')).toMatchObject({ phase: 'deactivate', address: A('d') });
    expect(host.stats()).toMatchObject({ active: 1, passivations: 0 });
    probe.failDeactivate.delete('d');
    await clock.advance(SWEEP_MS);
    expect(host.stats()).toMatchObject({ active: 0, passivations: 1 });
    expect(probe.store.get('d')?.n).toBe(2);
  });

  it('a message arriving during deactivate waits for it, then reactivates with the state just persisted', async () => {
    const { clock, client, probe } = await world();
    await client.ask(A('r'), add, { by: 5 });
    let open!: () => void;
    probe.deactivateGate = new Promise((r) => {
      open = r;
    });
    await clock.advance(IDLE_MS + SWEEP_MS); // the passivation is now held inside deactivate
    const reply = client.ask(A('r'), add, { by: 1 }).then(() => client.ask(A('r'), get, {}));
    await clock.advance(0);
    expect(probe.activations).toEqual(['r']);
    open();
    expect((await reply).n).toBe(6);
    expect(probe.activations).toEqual(['r', 'r']);
  });
});
