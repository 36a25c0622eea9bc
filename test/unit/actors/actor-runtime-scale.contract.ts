/** Part of the actor runtime contract: many actors in one process. */
import { expect, it } from 'vitest';
import type { ActorClient } from '../../../actors/runtime/client.ts';
import type { ActorHost } from '../../../actors/runtime/host.ts';
import { add, get, type Probe } from './counter-fixture.ts';

/** What this part needs of the suite's context (actor-runtime.contract.ts's `Ctx` is one). */
interface ScaleCtx {
  /** A fresh host serving counter actors, a client on another connection, and the host's probe. */
  world(): Promise<{ host: ActorHost; client: ActorClient; probe: Probe }>;
}

/** Actors in the scale case (the issue asks for 10,000 in one process). */
export const SCALE_ACTORS = 10_000;
/** Asks in flight at once while reading the counts back. */
const ASKS_IN_FLIGHT = 256;

export function largeScaleContract(ctx: ScaleCtx): void {
  it(`serves ${SCALE_ACTORS} actors in one process, each with its own count`, async () => {
    const { host, client, probe } = await ctx.world();
    const id = (i: number) => `vm-${i}`;
    // Actor i gets i % 3 + 1 tells: different counts, so a misrouted message shows.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < SCALE_ACTORS; i++)
        if (i % 3 >= round) client.tell({ kind: 'counter', id: id(i) }, add, { by: 1 });
    }
    const wrong: string[] = [];
    for (let start = 0; start < SCALE_ACTORS; start += ASKS_IN_FLIGHT) {
      const batch = [];
      for (let i = start; i < Math.min(start + ASKS_IN_FLIGHT, SCALE_ACTORS); i++) {
        batch.push(
          client.ask({ kind: 'counter', id: id(i) }, get, {}, { timeoutMs: 20_000 }).then((r) => {
            if (r.n !== (i % 3) + 1) wrong.push(`${id(i)}=${r.n}`);
          }),
        );
      }
      await Promise.all(batch);
    }
    expect(wrong).toEqual([]);
    expect(host.stats()).toMatchObject({
      actors: SCALE_ACTORS,
      active: SCALE_ACTORS,
      activations: SCALE_ACTORS,
    });
    await host.shutdown();
    expect(probe.store.size).toBe(SCALE_ACTORS);
    // Sum of (i % 3 + 1): every persisted count adds up.
    let expected = 0;
    for (let i = 0; i < SCALE_ACTORS; i++) expected += (i % 3) + 1;
    expect(probe.total()).toBe(expected);
  });
}
