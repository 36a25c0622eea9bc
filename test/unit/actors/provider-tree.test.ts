/**
 * The provider-tree actor on the memory bus, a memory store and a virtual clock: register,
 * claim, release, refusals as data, the race for the last slot, idempotent retries, crash
 * safety around the store commit, passivation, and the change events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadTree, treeEventWildcard } from '../../../actors/provider-tree.ts';
import { ProviderTreeClient } from '../../../actors/provider-tree-client.ts';
import {
  type ClaimRequest,
  claimConflictOf,
  type Generations,
} from '../../../actors/provider-tree-messages.ts';
import { recordOf, treeRecordMessage, treeRecords } from '../../../actors/provider-tree-store.ts';
import { ActorClient } from '../../../actors/runtime/client.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { encode } from '../../../core/codec/envelope.ts';
import { writeAllocations } from '../../../core/placement/allocations.ts';
import {
  consumer,
  eventLog,
  FaultyStore,
  GPU0,
  hostTrees,
  NUMA0,
  ROOT,
  tree,
} from './provider-tree-fixture.ts';

const SCOPE = 'cell1';
const IDLE_MS = 10_000;
const ASK_MS = 2_000;

/** ROOT: 4 VCPU, 4096 MB (512 MB steps) · NUMA0: 2 VGPU, trait CUSTOM_NUMA. */
const HOST = () =>
  tree(ROOT)
    .inv('VCPU', 4)
    .inv('MEMORY_MB', 4096, { stepSize: 512 })
    .child(NUMA0, 'numa0', (c) => c.inv('VGPU', 2).trait('CUSTOM_NUMA'))
    .build();

const ask = (n: number, allocations: ClaimRequest['allocations'], expectedGenerations?: Generations) => ({
  consumer: consumer(n),
  project: 'p1',
  user: 'u1',
  allocations,
  ...(expectedGenerations ? { expectedGenerations } : {}),
});

describe('provider-tree actor (memory)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function world() {
    const clock = new VirtualClock(0);
    const broker = new MemoryBroker({ clock });
    const [hostBus, clientBus, otherBus] = [broker.connect(), broker.connect(), broker.connect()];
    const store = new FaultyStore(new MemoryStore());
    const opts = {
      bus: hostBus,
      clientBus,
      store,
      clock,
      scope: SCOPE,
      idleAfterMs: IDLE_MS,
      askTimeoutMs: ASK_MS,
    };
    const { host, trees } = await hostTrees(opts);
    const other = new ProviderTreeClient(new ActorClient(otherBus, { scope: SCOPE, askTimeoutMs: ASK_MS }));
    const events = await eventLog(clientBus, treeEventWildcard(SCOPE));
    const life = { dead: false };
    cleanup.push(async () => {
      // A host that "died" mid-commit never drains its hung mailbox: leave it (no real timers).
      if (!life.dead) await host.shutdown();
      await Promise.all([hostBus.close(), clientBus.close(), otherBus.close()]);
    });
    return { clock, broker, store, host, trees, other, events, hostBus, clientBus, life };
  }

  it('register creates the tree; the same register again writes nothing and moves no generation', async () => {
    const { trees, store, events } = await world();
    const first = await trees.register(ROOT, HOST());
    // ROOT: created (0) + inventories (1) · NUMA0: created (0) + inventories (1) + traits (2)
    expect(first).toEqual({ changed: true, version: 1, generations: { [ROOT]: 1, [NUMA0]: 2 } });
    const again = await trees.register(ROOT, HOST());
    expect(again).toEqual({ ...first, changed: false });
    expect(store.commits).toBe(1);
    expect(events.map((e) => [e.cause, e.version])).toEqual([['register', 1]]);
    const snap = await trees.snapshot(ROOT);
    expect(snap.providers.map((p) => [p.uuid, p.parentUuid, p.usages])).toEqual([
      [ROOT, null, { VCPU: 0, MEMORY_MB: 0 }],
      [NUMA0, ROOT, { VGPU: 0 }],
    ]);
  });

  it('register updates only what differs, adds and removes providers, refuses removing one in use', async () => {
    const { trees } = await world();
    await trees.register(ROOT, HOST());
    const grown = tree(ROOT)
      .inv('VCPU', 8)
      .inv('MEMORY_MB', 4096, { stepSize: 512 })
      .child(NUMA0, 'numa0', (c) => c.inv('VGPU', 2).trait('CUSTOM_NUMA'))
      .child(GPU0, 'gpu0', (c) => c.inv('PCI_DEVICE', 1))
      .build();
    const r = await trees.register(ROOT, grown);
    expect(r.generations).toEqual({ [ROOT]: 2, [NUMA0]: 2, [GPU0]: 1 }); // only ROOT's inventory changed
    expect((await trees.claim(ROOT, ask(1, { [GPU0]: { PCI_DEVICE: 1 } }))).ok).toBe(true);
    // gpu0 is in use: Placement's refusal, not a claim conflict
    const inUse = await trees.register(ROOT, HOST()).catch((e: unknown) => e);
    expect(inUse).toMatchObject({
      code: 'conflict',
      details: { placementCode: 'placement.resource_provider.inuse' },
    });
    expect(claimConflictOf(inUse)).toBeUndefined();
    const snap = await trees.snapshot(ROOT);
    expect(snap.providers.map((p) => p.uuid)).toEqual([ROOT, NUMA0, GPU0]); // the refusal changed nothing
    await trees.release(ROOT, consumer(1));
    const shrunk = await trees.register(ROOT, HOST());
    expect(Object.keys(shrunk.generations)).toEqual([ROOT, NUMA0]);
  });

  it('a tree the store lost: the next claim reloads, finds it unregistered, tells onUnregistered; registering again restores it', async () => {
    const { store, trees, broker } = await world();
    await trees.register(ROOT, HOST());
    expect((await trees.claim(ROOT, ask(1, { [ROOT]: { VCPU: 1 } }))).ok).toBe(true);
    (store.inner as MemoryStore).clear(); // FLUSHALL: the actor's memory still holds version 2
    const missing: string[] = [];
    const bus = broker.connect();
    cleanup.push(() => bus.close());
    const hooked = new ProviderTreeClient(
      new ActorClient(bus, { scope: SCOPE, askTimeoutMs: ASK_MS }),
      {},
      { onUnregistered: (root) => missing.push(root) },
    );
    // Its commit (expected generation 2) fails on the empty store: the actor reloads (version 0).
    const out = await hooked.claim(ROOT, ask(2, { [ROOT]: { VCPU: 1 } }));
    expect(out.ok ? undefined : out.conflict).toMatchObject({ reason: 'generation', version: 0 });
    expect(missing).toEqual([ROOT]);
    expect(await trees.register(ROOT, HOST())).toMatchObject({ changed: true, version: 1 });
    expect((await hooked.claim(ROOT, ask(2, { [ROOT]: { VCPU: 1 } }))).ok).toBe(true);
    expect(missing).toEqual([ROOT]); // not called for a claim that succeeded
  });

  it('refuses a register without its root or with a stray provider (invalid)', async () => {
    const { trees } = await world();
    await expect(trees.register(ROOT, HOST().slice(1))).rejects.toMatchObject({ code: 'invalid' });
    const stray = [...HOST(), { ...HOST()[1]!, uuid: GPU0, name: 'x', parentUuid: GPU0 }];
    await expect(trees.register(ROOT, stray)).rejects.toMatchObject({ code: 'invalid' });
    await expect(trees.snapshot(ROOT)).rejects.toMatchObject({ code: 'notFound' });
  });

  it('claim, then release: usages, generations and idempotent release', async () => {
    const { trees } = await world();
    await trees.register(ROOT, HOST());
    const c = await trees.claim(ROOT, ask(1, { [ROOT]: { VCPU: 2, MEMORY_MB: 1024 }, [NUMA0]: { VGPU: 1 } }));
    expect(c).toEqual({
      ok: true,
      reply: { replayed: false, version: 2, generations: { [ROOT]: 2, [NUMA0]: 3 } },
    });
    const snap = await trees.snapshot(ROOT, { consumers: true });
    expect(snap.providers.map((p) => p.usages)).toEqual([{ VCPU: 2, MEMORY_MB: 1024 }, { VGPU: 1 }]);
    expect(snap.consumers?.map((x) => x.uuid)).toEqual([consumer(1)]);
    const r = await trees.release(ROOT, consumer(1));
    // Freeing capacity leaves generations alone (the engine's rule, as in Placement).
    expect(r).toEqual({ released: true, version: 3, generations: { [ROOT]: 2, [NUMA0]: 3 } });
    expect(await trees.release(ROOT, consumer(1))).toEqual({ ...r, released: false });
    const after = await trees.snapshot(ROOT, { consumers: true });
    expect(after.providers.map((p) => p.usages)).toEqual([{ VCPU: 0, MEMORY_MB: 0 }, { VGPU: 0 }]);
    expect(after.consumers).toEqual([]);
  });

  it('refuses over capacity with the free capacity and current generations, writing nothing', async () => {
    const { trees, store } = await world();
    await trees.register(ROOT, HOST());
    expect((await trees.claim(ROOT, ask(1, { [ROOT]: { VCPU: 3 } }))).ok).toBe(true);
    const commits = store.commits;
    const out = await trees.claim(ROOT, ask(2, { [ROOT]: { VCPU: 2 } })); // 3 + 2 > 4
    expect(out).toEqual({
      ok: false,
      conflict: {
        reason: 'capacity',
        provider: ROOT,
        resourceClass: 'VCPU',
        version: 2,
        generations: { [ROOT]: 2, [NUMA0]: 2 },
        free: { [ROOT]: { VCPU: 1, MEMORY_MB: 4096 }, [NUMA0]: { VGPU: 2 } },
      },
    });
    expect(store.commits).toBe(commits);
  });

  it.each([
    ['step_size', { [ROOT]: { MEMORY_MB: 700 } }, 'constraints'],
    ['no inventory of the class', { [NUMA0]: { VCPU: 1 } }, 'inventory'],
    ['a provider not in this tree', { [GPU0]: { VCPU: 1 } }, 'generation'],
  ])('refuses %s as a conflict (%s)', async (_what, allocations, reason) => {
    const { trees } = await world();
    await trees.register(ROOT, HOST());
    const out = await trees.claim(ROOT, ask(1, allocations));
    expect(out.ok ? undefined : out.conflict.reason).toBe(reason);
  });

  it('answers invalid for bad input; a claim on a tree never registered is a generation conflict at version 0', async () => {
    const { trees } = await world();
    // A pick from a snapshot that holds a tree the store does not (lost with it): next alternate.
    const out = await trees.claim(ROOT, ask(1, { [ROOT]: { VCPU: 1 } }));
    expect(out).toEqual({
      ok: false,
      conflict: { reason: 'generation', provider: ROOT, version: 0, generations: {}, free: {} },
    });
    await expect(trees.snapshot(ROOT)).rejects.toMatchObject({ code: 'notFound' });
    await trees.register(ROOT, HOST());
    await expect(trees.claim(ROOT, ask(1, { [ROOT]: { VCPU: 0 } }))).rejects.toMatchObject({
      code: 'invalid',
    });
    await expect(trees.claim(ROOT, ask(1, { [ROOT]: { NOT_A_CLASS: 1 } }))).rejects.toMatchObject({
      code: 'invalid',
    });
    await expect(trees.claim(ROOT, ask(1, {}))).rejects.toMatchObject({ code: 'invalid' });
    await expect(trees.claim(ROOT, { ...ask(1, {}), consumer: 'nope' })).rejects.toMatchObject({
      code: 'invalid',
    });
  });

  it('refuses a stale snapshot generation, naming the current ones; the refreshed claim succeeds', async () => {
    const { trees } = await world();
    const { generations: seen } = await trees.register(ROOT, HOST());
    expect((await trees.claim(ROOT, ask(1, { [ROOT]: { VCPU: 1 } }, seen))).ok).toBe(true);
    const stale = await trees.claim(ROOT, ask(2, { [ROOT]: { VCPU: 1 } }, seen));
    expect(stale.ok).toBe(false);
    if (stale.ok) return;
    expect(stale.conflict).toMatchObject({ reason: 'generation', provider: ROOT });
    expect(stale.conflict.generations).toEqual({ [ROOT]: 2, [NUMA0]: 2 });
    const retry = await trees.claim(ROOT, ask(2, { [ROOT]: { VCPU: 1 } }, stale.conflict.generations));
    expect(retry.ok).toBe(true);
  });

  it('two concurrent claimers for the last slot: exactly one wins each round, the other gets conflict', async () => {
    const { trees, other } = await world();
    await trees.register(ROOT, HOST());
    expect((await trees.claim(ROOT, ask(100, { [ROOT]: { VCPU: 3 } }))).ok).toBe(true); // one slot left
    for (let round = 0; round < 20; round++) {
      const snap = await trees.snapshot(ROOT);
      const gens = Object.fromEntries(snap.providers.map((p) => [p.uuid, p.generation]));
      const withGens = round % 2 === 0; // with the scheduler's snapshot, and without
      const [a, b] = await Promise.all([
        trees.claim(ROOT, ask(2 * round, { [ROOT]: { VCPU: 1 } }, withGens ? gens : undefined)),
        other.claim(ROOT, ask(2 * round + 1, { [ROOT]: { VCPU: 1 } }, withGens ? gens : undefined)),
      ]);
      expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
      const loser = a.ok ? b : a;
      expect(loser.ok ? undefined : loser.conflict.reason).toBe(withGens ? 'generation' : 'capacity');
      const winner = a.ok ? 2 * round : 2 * round + 1;
      expect((await trees.snapshot(ROOT)).providers[0]!.usages.VCPU).toBe(4);
      await trees.release(ROOT, consumer(winner));
    }
  });

  it('a retried claim (same consumer, same allocations) is answered ok without allocating twice', async () => {
    const { trees, store } = await world();
    const { generations } = await trees.register(ROOT, HOST());
    const req = ask(1, { [ROOT]: { VCPU: 2 } }, generations);
    const first = await trees.claim(ROOT, req);
    const again = await trees.claim(ROOT, req); // its generations are stale now: still ok
    expect(again).toEqual({ ok: true, reply: { ...(first.ok ? first.reply : {}), replayed: true } });
    expect(store.commits).toBe(2);
    expect((await trees.snapshot(ROOT)).providers[0]!.usages.VCPU).toBe(2);
    // A different amount for the same consumer is not a retry: it replaces what it holds.
    const resized = await trees.claim(ROOT, ask(1, { [ROOT]: { VCPU: 3 } }));
    expect(resized.ok && resized.reply.replayed).toBe(false);
    expect((await trees.snapshot(ROOT)).providers[0]!.usages.VCPU).toBe(3);
  });

  it('store fails AFTER the commit: unavailable, then the retry is ok (replayed) and counted once', async () => {
    const { trees, store } = await world();
    await trees.register(ROOT, HOST());
    store.plan.push('throwAfter');
    const req = ask(1, { [ROOT]: { VCPU: 2 } });
    await expect(trees.claim(ROOT, req)).rejects.toMatchObject({ code: 'unavailable', retryable: true });
    const retry = await trees.claim(ROOT, req);
    expect(retry).toMatchObject({ ok: true, reply: { replayed: true, version: 2 } });
    expect((await trees.snapshot(ROOT)).providers[0]!.usages.VCPU).toBe(2);
    expect(store.commits).toBe(2);
  });

  it('store fails BEFORE the commit: nothing happened, the retry applies', async () => {
    const { trees, store } = await world();
    await trees.register(ROOT, HOST());
    store.plan.push('throwBefore');
    const req = ask(1, { [ROOT]: { VCPU: 2 } });
    await expect(trees.claim(ROOT, req)).rejects.toMatchObject({ code: 'unavailable' });
    expect((await trees.snapshot(ROOT)).providers[0]!.usages.VCPU).toBe(0);
    expect(await trees.claim(ROOT, req)).toMatchObject({ ok: true, reply: { replayed: false, version: 2 } });
  });

  it('the host dies after the commit, before the reply: a new host answers the retry from the store', async () => {
    const { clock, broker, store, trees, hostBus, life } = await world();
    await trees.register(ROOT, HOST());
    store.plan.push('dieAfter');
    store.onDeath = () => {
      life.dead = true;
      void hostBus.close(); // its subscription goes with it
    };
    const req = ask(1, { [ROOT]: { VCPU: 2 } });
    const lost = trees.claim(ROOT, req);
    const settled = expect(lost).rejects.toMatchObject({ code: 'timeout' });
    await clock.advance(ASK_MS + 1);
    await settled;
    const [bus2, client2] = [broker.connect(), broker.connect()];
    const second = await hostTrees({ bus: bus2, clientBus: client2, store, clock, scope: SCOPE });
    cleanup.push(async () => {
      await second.host.shutdown();
      await Promise.all([bus2.close(), client2.close()]);
    });
    expect(await second.trees.claim(ROOT, req)).toMatchObject({ ok: true, reply: { replayed: true } });
    expect((await second.trees.snapshot(ROOT)).providers[0]!.usages.VCPU).toBe(2);
  });

  it('passivation and reactivation reload exactly the same tree, without writing', async () => {
    const { clock, host, trees, store } = await world();
    await trees.register(ROOT, HOST());
    await trees.claim(ROOT, ask(1, { [ROOT]: { VCPU: 2, MEMORY_MB: 512 }, [NUMA0]: { VGPU: 2 } }));
    await trees.claim(ROOT, ask(2, { [ROOT]: { VCPU: 1 } }));
    const before = await trees.snapshot(ROOT, { consumers: true });
    const commits = store.commits;
    await clock.advance(IDLE_MS + 2_000);
    expect(host.stats()).toMatchObject({ active: 0, passivations: 1 });
    const after = await trees.snapshot(ROOT, { consumers: true });
    expect(host.stats().activations).toBe(2);
    expect(after).toEqual(before);
    expect(store.commits).toBe(commits);
    const full = await trees.claim(ROOT, ask(3, { [NUMA0]: { VGPU: 1 } })); // the reloaded usages still count
    expect(full.ok ? undefined : full.conflict.reason).toBe('capacity');
  });

  it('a record changed by another writer is reloaded and the claim re-applied on it', async () => {
    const { trees, store } = await world();
    await trees.register(ROOT, HOST());
    await trees.snapshot(ROOT); // the actor is loaded at version 1
    const foreign = await loadTree(store, ROOT); // a stale owner writes behind its back
    writeAllocations(foreign.placement, [
      { consumerUuid: consumer(9), projectId: 'p', userId: 'u', allocations: { [ROOT]: { VCPU: 3 } } },
    ]);
    const bytes = encode(treeRecordMessage, recordOf(foreign.placement, ROOT));
    const key = treeRecords(store).key(ROOT);
    expect((await store.commit([{ op: 'put', key, value: bytes, expectedGeneration: 1 }])).ok).toBe(true);
    const out = await trees.claim(ROOT, ask(1, { [ROOT]: { VCPU: 2 } })); // 3 + 2 > 4 once reloaded
    expect(out.ok ? undefined : out.conflict).toMatchObject({ reason: 'capacity', version: 2 });
    expect((await trees.claim(ROOT, ask(1, { [ROOT]: { VCPU: 1 } }))).ok).toBe(true);
    const snap = await trees.snapshot(ROOT, { consumers: true });
    expect(snap.consumers?.map((c) => c.uuid)).toEqual([consumer(1), consumer(9)]);
  });

  it('publishes one event per committed change, with the touched providers, and none for a no-op', async () => {
    const { trees, events } = await world();
    await trees.register(ROOT, HOST());
    await trees.claim(ROOT, ask(1, { [NUMA0]: { VGPU: 1 } }));
    await trees.claim(ROOT, ask(1, { [NUMA0]: { VGPU: 1 } })); // replay: no event
    await trees.claim(ROOT, ask(2, { [NUMA0]: { VGPU: 5 } })); // refused: no event
    await trees.release(ROOT, consumer(1));
    await trees.release(ROOT, consumer(1)); // nothing held: no event
    expect(events.map((e) => [e.cause, e.version, e.providers.map((p) => p.uuid)])).toEqual([
      ['register', 1, [ROOT, NUMA0]],
      ['claim', 2, [NUMA0]],
      ['release', 3, [NUMA0]],
    ]);
    expect(events[1]!.providers[0]).toMatchObject({ generation: 3, usages: { VGPU: 1 } });
    expect(events[2]!.providers[0]).toMatchObject({ generation: 3, usages: { VGPU: 0 } });
  });
});
