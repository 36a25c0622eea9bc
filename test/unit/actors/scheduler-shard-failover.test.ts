/**
 * Leadership of a scheduler shard (memory coordinator, virtual clock): only the leader answers;
 * a resigning leader hands over at once; a crashed leader (keep-alives stop, bus gone) is
 * replaced after the lease TTL, during which selects get `noResponders`; a hung leader whose
 * lease lapses stops answering; the new leader resyncs from the store, so what changed while
 * it was a standby is in its snapshot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { consumer, tree } from './provider-tree-fixture.ts';
import { request, rootUuid, type ShardWorld, shardWorld, TTL_MS } from './scheduler-shard-fixture.ts';

const [A, B] = [rootUuid(1), rootUuid(2)];

async function twoHosts(w: ShardWorld) {
  await w.trees.register(A, tree(A, 'hostA').inv('VCPU', 8).inv('MEMORY_MB', 8192).build());
  await w.trees.register(B, tree(B, 'hostB').inv('VCPU', 16).inv('MEMORY_MB', 8192).build());
}

/** Claims `vcpus` on B through the tree actor (the standby sees no event of it: it is not subscribed). */
const claimB = (w: ShardWorld, n: number, vcpus: number) =>
  w.trees.claim(B, { consumer: consumer(n), project: 'p', user: 'u', allocations: { [B]: { VCPU: vcpus } } });

describe('scheduler shard failover (memory)', () => {
  let w: ShardWorld;
  afterEach(async () => {
    await w.close();
  });

  it('no replica: select gets noResponders (retryable)', async () => {
    w = await shardWorld();
    await expect(w.select(request('n1', 1))).rejects.toMatchObject({ code: 'noResponders', retryable: true });
  });

  it('one leader, one standby; a resigning leader hands over at once and the standby resyncs from the store', async () => {
    w = await shardWorld();
    await twoHosts(w);
    const r1 = w.replica('r1');
    await w.until('r1 serves', () => r1.shard.serving);
    const r2 = w.replica('r2');
    await w.clock.advance(100);
    expect(r2.shard.serving).toBe(false);
    expect(r2.events.map((e) => e.type)).toEqual(['campaigning']); // queued, not elected
    await claimB(w, 1, 10); // B: 6 free
    const start = w.clock.now();
    await r1.shard.stop();
    await w.until('r2 serves', () => r2.shard.serving);
    expect(w.clock.now() - start).toBeLessThan(100); // resign revokes the lease: no TTL wait
    expect(r2.events).toContainEqual({ type: 'serving', trees: 2 });
    expect((await w.select(request('f1', 8))).selections[0]?.host).toBe('hostA');
    expect((await w.select(request('f2', 10))).outcome).toBe('noValidHost');
  });

  it('a crashed leader is replaced after the lease TTL; meanwhile selects get noResponders', async () => {
    w = await shardWorld();
    await twoHosts(w);
    const r1 = w.replica('r1');
    await w.until('r1 serves', () => r1.shard.serving);
    const r2 = w.replica('r2');
    await w.clock.advance(100);
    await claimB(w, 2, 16); // B full
    // The process dies: keep-alives stop, its connection closes.
    r1.coordinator.crash();
    await r1.bus.close();
    const start = w.clock.now();
    await expect(w.select(request('c1', 1))).rejects.toMatchObject({ code: 'noResponders' });
    await w.clock.advance(TTL_MS / 2);
    expect(r2.shard.serving).toBe(false);
    await expect(w.select(request('c2', 1))).rejects.toMatchObject({ code: 'noResponders' });
    await w.until('r2 serves', () => r2.shard.serving);
    expect(w.clock.now() - start).toBeLessThanOrEqual(TTL_MS + 1_000);
    const reply = await w.select(request('c3', 1, 512, { alternates: 1 }));
    // B is full (claimed while r2 was a standby): only A is offered.
    expect([reply.selections[0]!, ...reply.selections[0]!.alternates].map((p) => p.host)).toEqual(['hostA']);
  });

  it('a hung leader whose lease lapses stops serving; the standby leads; the old one becomes a standby', async () => {
    w = await shardWorld();
    await twoHosts(w);
    const r1 = w.replica('r1');
    await w.until('r1 serves', () => r1.shard.serving);
    const r2 = w.replica('r2');
    await w.clock.advance(100);
    r1.coordinator.crash(); // keep-alives stop; its bus still works
    await w.until('r1 lost', () => r1.events.some((e) => e.type === 'lost'));
    expect(r1.shard.serving).toBe(false);
    await w.until('r2 serves', () => r2.shard.serving);
    for (let i = 0; i < 5; i++) expect((await w.select(request(`h${i}`, 1))).outcome).toBe('selected');
    expect(r1.shard.serving).toBe(false);
  });

  it('stop() of a standby leaves the leader serving', async () => {
    w = await shardWorld();
    await twoHosts(w);
    const r1 = w.replica('r1');
    await w.until('r1 serves', () => r1.shard.serving);
    const r2 = w.replica('r2');
    await w.clock.advance(100);
    await r2.shard.stop();
    expect(r1.shard.serving).toBe(true);
    expect((await w.select(request('s1', 1))).outcome).toBe('selected');
  });
});
