/**
 * The provider-tree actor on a real nats-server and a real Redis, on real time: register, claim,
 * release and the change events over NATS; the race for the last slot between two conductors
 * on their own connections; a host that dies after the Redis commit and before its reply (its
 * NATS connection closed mid-claim), whose successor answers the retry from Redis without
 * allocating twice; and passivation reloading the same tree from Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { treeEventWildcard } from '../../actors/provider-tree.ts';
import { ProviderTreeClient } from '../../actors/provider-tree-client.ts';
import type { ClaimRequest } from '../../actors/provider-tree-messages.ts';
import { treeRecordMessage, treeRecords } from '../../actors/provider-tree-store.ts';
import { ActorClient } from '../../actors/runtime/client.ts';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { decode } from '../../core/codec/envelope.ts';
import { services, uniquePrefix } from '../real/services.ts';
import {
  consumer,
  eventLog,
  FaultyStore,
  hostTrees,
  NUMA0,
  ROOT,
  tree,
} from '../unit/actors/provider-tree-fixture.ts';

const SCOPE = 'cell1';
const ASK_MS = 1_500;
/** Longest a poll waits for something asynchronous (an event, a passivation). */
const DEADLINE_MS = 5_000;

/** ROOT: 4 VCPU · NUMA0: 2 VGPU. */
const HOST = tree(ROOT)
  .inv('VCPU', 4)
  .child(NUMA0, 'numa0', (c) => c.inv('VGPU', 2))
  .build();

const ask = (n: number, vcpu: number, expectedGenerations?: Record<string, number>): ClaimRequest => ({
  consumer: consumer(n),
  project: 'p1',
  user: 'u1',
  allocations: { [ROOT]: { VCPU: vcpu } },
  ...(expectedGenerations ? { expectedGenerations } : {}),
});

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + DEADLINE_MS;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('provider-tree actor on NATS + Redis', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  });

  async function world(opts: { idleAfterMs?: number } = {}) {
    const prefix = uniquePrefix('rp');
    const connect = async () => {
      const bus = await NatsBus.connect({ servers: services().nats, prefix, name: 'rp-test' });
      closers.push(() => bus.close());
      return bus;
    };
    const openStore = async () => {
      const s = await RedisStore.open({ url: services().redis, prefix });
      closers.push(() => s.close());
      return s;
    };
    const client = async () =>
      new ProviderTreeClient(new ActorClient(await connect(), { scope: SCOPE, askTimeoutMs: ASK_MS }));
    const startHost = async (store: FaultyStore, life = { dead: false }) => {
      const bus = await connect();
      const clientBus = await connect();
      const hosted = await hostTrees({
        bus,
        clientBus,
        store,
        clock: systemClock,
        scope: SCOPE,
        askTimeoutMs: ASK_MS,
        idleAfterMs: opts.idleAfterMs ?? 60_000,
        sweepIntervalMs: 50,
      });
      closers.push(async () => {
        if (!life.dead) await hosted.host.shutdown();
      });
      return { ...hosted, bus, life };
    };
    return { connect, openStore, client, startHost };
  }

  it('registers, claims and releases, persisting in Redis and publishing events on NATS', async () => {
    const w = await world();
    const store = new FaultyStore(await w.openStore());
    const { trees } = await w.startHost(store);
    const eventBus = await w.connect();
    const events = await eventLog(eventBus, treeEventWildcard(SCOPE));
    await eventBus.flush(); // the subscription is in place on the server before the first change
    const reg = await trees.register(ROOT, HOST);
    const c = await trees.claim(ROOT, {
      ...ask(1, 2),
      allocations: { [ROOT]: { VCPU: 2 }, [NUMA0]: { VGPU: 1 } },
    });
    expect(c).toMatchObject({ ok: true, reply: { version: reg.version + 1, replayed: false } });
    const full = await trees.claim(ROOT, ask(2, 3));
    expect(full.ok ? undefined : full.conflict).toMatchObject({
      reason: 'capacity',
      free: { [ROOT]: { VCPU: 2 } },
    });
    await trees.release(ROOT, consumer(1));
    const entry = await store.get(treeRecords(store).key(ROOT));
    expect(entry?.generation).toBe(3);
    expect(decode(treeRecordMessage, entry!.value).consumers).toEqual([]);
    await until('three events', () => events.length === 3);
    expect(events.map((e) => [e.cause, e.version])).toEqual([
      ['register', 1],
      ['claim', 2],
      ['release', 3],
    ]);
  });

  it('two conductors racing for the last slot: exactly one wins each round, the other gets conflict', async () => {
    const w = await world();
    const { trees } = await w.startHost(new FaultyStore(await w.openStore()));
    const [a, b] = [await w.client(), await w.client()];
    await trees.register(ROOT, HOST);
    expect((await trees.claim(ROOT, ask(100, 3))).ok).toBe(true);
    for (let round = 0; round < 10; round++) {
      const snap = await trees.snapshot(ROOT);
      const gens = Object.fromEntries(snap.providers.map((p) => [p.uuid, p.generation]));
      const [x, y] = await Promise.all([
        a.claim(ROOT, ask(2 * round, 1, gens)),
        b.claim(ROOT, ask(2 * round + 1, 1, gens)),
      ]);
      expect([x.ok, y.ok].filter(Boolean)).toHaveLength(1);
      const loser = x.ok ? y : x;
      expect(loser.ok ? undefined : loser.conflict.reason).toBe('generation');
      await trees.release(ROOT, consumer(x.ok ? 2 * round : 2 * round + 1));
    }
  });

  it('a host dying after the commit, before the reply: its successor answers the retry, counted once', async () => {
    const w = await world();
    const store = new FaultyStore(await w.openStore());
    const first = await w.startHost(store);
    await first.trees.register(ROOT, HOST);
    store.plan.push('dieAfter');
    store.onDeath = () => {
      first.life.dead = true;
      void first.bus.close(); // the reply can never go out
    };
    const conductor = await w.client();
    await expect(conductor.claim(ROOT, ask(1, 2))).rejects.toMatchObject({ code: 'timeout' });
    expect(store.commits).toBe(2); // the claim is in Redis
    await w.startHost(new FaultyStore(await w.openStore())); // the successor, on its own connections
    expect(await conductor.claim(ROOT, ask(1, 2))).toMatchObject({
      ok: true,
      reply: { replayed: true, version: 2 },
    });
    const snap = await conductor.snapshot(ROOT, { consumers: true });
    expect(snap.providers[0]!.usages).toEqual({ VCPU: 2 });
    expect(snap.consumers?.map((c) => c.uuid)).toEqual([consumer(1)]);
  });

  it('passivates and reactivates from Redis with an identical tree', async () => {
    const w = await world({ idleAfterMs: 100 });
    const { trees, host } = await w.startHost(new FaultyStore(await w.openStore()));
    await trees.register(ROOT, HOST);
    await trees.claim(ROOT, ask(1, 1));
    await trees.claim(ROOT, { ...ask(2, 2), allocations: { [ROOT]: { VCPU: 2 }, [NUMA0]: { VGPU: 2 } } });
    const before = await trees.snapshot(ROOT, { consumers: true });
    await until('passivation', () => host.stats().passivations >= 1 && host.stats().active === 0);
    expect(await trees.snapshot(ROOT, { consumers: true })).toEqual(before);
    expect(host.stats().activations).toBe(2);
  });
});
