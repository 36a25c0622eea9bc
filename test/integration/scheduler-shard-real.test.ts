/**
 * The scheduler shard on real servers and real time: provider trees on NATS + Redis, two
 * replicas of one shard each with its own NATS connection and etcd client. The leader selects
 * with the trees' generations and follows claim events over NATS; then it is killed (its etcd
 * keep-alives stop, its NATS connection closes) and the standby — after resyncing from Redis —
 * answers within the lease TTL + 1 s. Takeover time is printed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorClient } from '../../actors/runtime/client.ts';
import { SchedulerShard, type ShardEvent, shardAddress } from '../../actors/scheduler-shard.ts';
import { type SelectReply, selectHosts } from '../../actors/scheduler-shard-messages.ts';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { hasCode } from '../../core/errors.ts';
import { services, uniquePrefix } from '../real/services.ts';
import { consumer, hostTrees, tree } from '../unit/actors/provider-tree-fixture.ts';
import { request, rootUuid } from '../unit/actors/scheduler-shard-fixture.ts';

const CELL = 'cell1';
const TTL_MS = 2_000;
/** The bound of the brief: the standby answers within the lease TTL plus one second. */
const TAKEOVER_BOUND_MS = TTL_MS + 1_000;
const ASK_MS = 1_000;
const DEADLINE_MS = 10_000;

async function until<T>(what: string, withinMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + withinMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`not within ${withinMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('scheduler shard on NATS + etcd + Redis', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  });

  it('two replicas: the leader selects and follows claims; killed, the standby answers within TTL + 1 s', async () => {
    const prefix = uniquePrefix('sched');
    const bus = async () => {
      const b = await NatsBus.connect({ servers: services().nats, prefix, name: 'sched-test' });
      closers.push(() => b.close());
      return b;
    };
    const store = async () => {
      const s = await RedisStore.open({ url: services().redis, prefix });
      closers.push(() => s.close());
      return s;
    };
    const treeStore = await store();
    const hosted = await hostTrees({
      bus: await bus(),
      clientBus: await bus(),
      store: treeStore,
      clock: systemClock,
      scope: CELL,
    });
    closers.push(() => hosted.host.shutdown());
    const [A, B] = [rootUuid(1), rootUuid(2)];
    await hosted.trees.register(A, tree(A, 'hostA').inv('VCPU', 8).inv('MEMORY_MB', 8192).build());
    await hosted.trees.register(B, tree(B, 'hostB').inv('VCPU', 16).inv('MEMORY_MB', 8192).build());

    const replica = async (id: string) => {
      const coordinator = new EtcdCoordinator({ hosts: services().etcd, prefix });
      const b = await bus();
      const events: ShardEvent[] = [];
      const shard = new SchedulerShard({
        bus: b,
        coordinator,
        store: await store(),
        cell: CELL,
        shard: 0,
        shardCount: 1,
        candidateId: id,
        leaseTtlMs: TTL_MS,
        onEvent: (e) => events.push(e),
      });
      closers.push(async () => {
        // Also for a killed one: stop() aborts its new campaign, so no keep-alive outlives the test.
        await shard.stop();
        await coordinator.close();
      });
      shard.start();
      const kill = async () => {
        coordinator.crash();
        await b.close();
      };
      return { shard, events, kill };
    };
    const client = new ActorClient(await bus(), { scope: CELL, askTimeoutMs: ASK_MS });
    const select = (id: string, vcpus: number) =>
      client.ask(shardAddress(0), selectHosts, request(id, vcpus), { timeoutMs: ASK_MS });

    const r1 = await replica('r1');
    await until('r1 serves', DEADLINE_MS, async () => (r1.shard.serving ? true : undefined));
    const r2 = await replica('r2');
    const first = await select('q1', 10);
    expect(first.selections[0]).toMatchObject({ host: 'hostB', root: B });
    expect(first.selections[0]!.generations).toEqual({
      [B]: (await hosted.trees.snapshot(B)).providers[0]!.generation,
    });

    // A claim's event over NATS reaches the leader's snapshot.
    const claimed = await hosted.trees.claim(B, {
      consumer: consumer(1),
      project: 'p',
      user: 'u',
      allocations: first.selections[0]!.allocations,
      expectedGenerations: first.selections[0]!.generations,
    });
    expect(claimed.ok).toBe(true);
    await until('the claim is in the snapshot', DEADLINE_MS, async () =>
      (await select(`q2-${Date.now()}`, 10)).outcome === 'noValidHost' ? true : undefined,
    );
    expect(r2.shard.serving).toBe(false);

    await r1.kill();
    const killedAt = Date.now();
    const answer = await until<SelectReply>('the standby answers', DEADLINE_MS, async () => {
      try {
        return await select(`q3-${Date.now()}`, 4);
      } catch (err) {
        if (hasCode(err, 'noResponders') || hasCode(err, 'timeout')) return undefined;
        throw err;
      }
    });
    const tookMs = Date.now() - killedAt;
    console.log(`scheduler shard takeover after a killed leader: ${tookMs} ms (TTL ${TTL_MS} ms)`);
    expect(tookMs).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
    expect(r2.shard.serving).toBe(true);
    expect(r2.events).toContainEqual({ type: 'serving', trees: 2 });
    // Resynced from Redis: B holds the 10 VCPU claimed while r2 was a standby.
    expect(answer.selections[0]?.host).toBe('hostA');
    expect((await select('q4', 10)).outcome).toBe('noValidHost');
  });
});
