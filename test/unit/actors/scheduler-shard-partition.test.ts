/**
 * Partitioning: `shardOf` is a fixed function of the canonical root uuid (the expected values
 * below ARE the partition every running process agrees on: a change here moves hosts), it
 * spreads hosts evenly, and a shard's leader sees and selects only the hosts of its partition.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SHARDS_PER_CELL, shardOf } from '../../../actors/scheduler-shard-partition.ts';
import { tree } from './provider-tree-fixture.ts';
import { request, rootUuid, type ShardWorld, shardWorld } from './scheduler-shard-fixture.ts';

describe('shardOf', () => {
  it.each([
    // FNV-1a 32 of the canonical uuid, mod shardCount.
    [1, 2, 1],
    [2, 2, 0],
    [3, 2, 1],
    [4, 2, 0],
    [1, 4, 3],
    [2, 4, 2],
    [5, 7, 5],
    [6, 7, 3],
  ])('root #%i with %i shards → shard %i', (n, count, shard) => {
    expect(shardOf(rootUuid(n), count)).toBe(shard);
  });

  it('canonicalises the uuid (case, dashes) and refuses what is not one', () => {
    const u = rootUuid(5);
    for (const form of [u.toUpperCase(), u.replaceAll('-', '')]) expect(shardOf(form, 7)).toBe(shardOf(u, 7));
    expect(() => shardOf('not-a-uuid', 2)).toThrow(expect.objectContaining({ code: 'invalid' }));
    for (const bad of [0, 1.5, MAX_SHARDS_PER_CELL + 1])
      expect(() => shardOf(u, bad)).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(shardOf(u, 1)).toBe(0);
  });

  it('spreads 4,000 hosts over 4 shards within ±20% of an even share', () => {
    const counts = [0, 0, 0, 0];
    for (let n = 0; n < 4000; n++) counts[shardOf(rootUuid(n), 4)]!++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(200);
  });
});

describe('a shard sees only its partition', () => {
  let w: ShardWorld;
  afterEach(async () => {
    await w.close();
  });

  it('two shards of one cell: each selects among its own hosts only', async () => {
    w = await shardWorld();
    const roots = [1, 2, 3, 4, 5, 6].map(rootUuid);
    for (const [i, root] of roots.entries())
      await w.trees.register(
        root,
        tree(root, `h${i + 1}`)
          .inv('VCPU', 8)
          .inv('MEMORY_MB', 8192)
          .build(),
      );
    const s0 = w.replica('s0', { shard: 0, shardCount: 2 });
    const s1 = w.replica('s1', { shard: 1, shardCount: 2 });
    await w.until('both serve', () => s0.shard.serving && s1.shard.serving);
    // A tree registered after the takeover reaches its shard by its event.
    const late = rootUuid(8);
    await w.trees.register(late, tree(late, 'h8').inv('VCPU', 8).inv('MEMORY_MB', 8192).build());
    await w.clock.advance(0);
    for (const shard of [0, 1]) {
      const mine = [...roots, late].filter((r) => shardOf(r, 2) === shard);
      const reply = await w.select(request(`p${shard}`, 1, 512, { alternates: 16 }), shard);
      const s = reply.selections[0]!;
      const seen = [s, ...s.alternates].map((p) => p.root).sort();
      expect(seen).toEqual([...mine].sort());
      expect(reply.explain.hosts).toBe(mine.length);
    }
  });
});
