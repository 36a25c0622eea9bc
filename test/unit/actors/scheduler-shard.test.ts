/**
 * The scheduler shard on the memory bus, coordinator and store with a virtual clock: select
 * returns a host that fits with the tree's generations (and the claim made with them lands),
 * claim events update the snapshot, a host marked down disappears from selections, nested
 * trees split allocations per provider, missed events are recovered from the store, invalid
 * requests are refused naming the field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { consumer, hostTrees, NUMA0, tree } from './provider-tree-fixture.ts';
import { request, rootUuid, type ShardWorld, shardWorld } from './scheduler-shard-fixture.ts';

const [A, B, C] = [rootUuid(1), rootUuid(2), rootUuid(3)];

/** A: 4 VCPU · B: 16 VCPU · C: 2 VCPU; 8,192 MB each. */
async function threeHosts(w: ShardWorld) {
  for (const [root, name, vcpus] of [
    [A, 'hostA', 4],
    [B, 'hostB', 16],
    [C, 'hostC', 2],
  ] as const) {
    await w.trees.register(root, tree(root, name).inv('VCPU', vcpus).inv('MEMORY_MB', 8192).build());
  }
}

/**
 * Claims `vcpus` on `root` through a second tree host on another broker, writing to the same
 * store: the change's event never reaches the shard (as a lost core pub/sub message).
 */
async function claimUnseen(w: ShardWorld, root: string, vcpus: number) {
  const other = new MemoryBroker({ clock: w.clock });
  const [ob, oc] = [other.connect(), other.connect()];
  const hidden = await hostTrees({ bus: ob, clientBus: oc, store: w.store, clock: w.clock, scope: 'cell1' });
  await hidden.trees.claim(root, {
    consumer: consumer(7),
    project: 'p',
    user: 'u',
    allocations: { [root]: { VCPU: vcpus } },
  });
  await hidden.host.shutdown();
  await Promise.all([ob.close(), oc.close()]);
}

async function leader(w: ShardWorld, id = 'r1') {
  const r = w.replica(id);
  await w.until(`${id} serves`, () => r.shard.serving);
  return r;
}

describe('scheduler shard (memory)', () => {
  let w: ShardWorld;
  afterEach(async () => {
    await w.close();
  });

  it('selects a host that fits, with the generations of its tree; a claim made with them lands', async () => {
    w = await shardWorld();
    await threeHosts(w);
    await leader(w);
    const reply = await w.select(request('req-1', 8, 1024));
    expect(reply.outcome).toBe('selected');
    const [s] = reply.selections;
    expect(s).toMatchObject({ host: 'hostB', node: 'hostB', root: B, instance: 0, alternates: [] });
    expect(s!.allocations).toEqual({ [B]: { VCPU: 8, MEMORY_MB: 1024 } });
    const snap = await w.trees.snapshot(B);
    expect(s!.generations).toEqual({ [B]: snap.providers[0]!.generation });
    const claimed = await w.trees.claim(B, {
      consumer: consumer(1),
      project: 'p',
      user: 'u',
      allocations: s!.allocations,
      expectedGenerations: s!.generations,
    });
    expect(claimed.ok).toBe(true);
    expect(reply.explain.hosts).toBe(3);
    // A (4) and C (2) cannot give 8 VCPU.
    expect(reply.explain.rejected.join('\n')).toMatch(/resources/);
  });

  it('a claim event updates the snapshot: usage and generations move, a full host is no longer offered', async () => {
    w = await shardWorld();
    await threeHosts(w);
    await leader(w);
    const before = await w.select(request('req-2', 8));
    const gen0 = before.selections[0]!.generations[B]!;
    await w.trees.claim(B, {
      consumer: consumer(2),
      project: 'p',
      user: 'u',
      allocations: { [B]: { VCPU: 12 } },
    });
    await w.clock.advance(0);
    // B now has 16 - 12 = 4 free: 8 VCPU fits nowhere.
    const full = await w.select(request('req-3', 8));
    expect(full.outcome).toBe('noValidHost');
    expect(full.retryable).toBe(true);
    expect(full.selections).toEqual([]);
    const small = await w.select(request('req-4', 4, 512, { alternates: 2 }));
    const picks = [small.selections[0]!, ...small.selections[0]!.alternates];
    expect(picks.map((p) => p.host).sort()).toEqual(['hostA', 'hostB']);
    const b = picks.find((p) => p.root === B)!;
    expect(b.generations[B]).toBe(gen0 + 1);
    expect(b.generations[B]).toBe((await w.trees.snapshot(B)).providers[0]!.generation);
  });

  it('a register event that reshapes a tree (more VCPU, a new trait) rebuilds the snapshot', async () => {
    w = await shardWorld();
    await threeHosts(w);
    await leader(w);
    expect((await w.select(request('s1', 20))).outcome).toBe('noValidHost');
    await w.trees.register(
      A,
      tree(A, 'hostA').inv('VCPU', 32).inv('MEMORY_MB', 8192).trait('CUSTOM_BIG').build(),
    );
    await w.clock.advance(0);
    const big = await w.select(request('s2', 20));
    expect(big.selections[0]).toMatchObject({ host: 'hostA', root: A });
    const flavor = { vcpus: 1, ram: 512, disk: 0, extra_specs: { 'trait:CUSTOM_BIG': 'forbidden' } };
    const notA = await w.select({ id: 's3', flavor, numInstances: 1, alternates: 2 });
    expect([notA.selections[0]!, ...notA.selections[0]!.alternates].map((p) => p.host).sort()).toEqual([
      'hostB',
      'hostC',
    ]);
  });

  it('a host marked down disappears from selections and comes back when up again', async () => {
    w = await shardWorld();
    await threeHosts(w);
    await leader(w);
    const hostsOf = async (id: string) => {
      const r = await w.select(request(id, 1, 512, { alternates: 2 }));
      return [r.selections[0]!, ...r.selections[0]!.alternates].map((p) => p.host).sort();
    };
    expect(await hostsOf('d1')).toEqual(['hostA', 'hostB', 'hostC']);
    w.setUp('hostB', false);
    await w.clock.advance(0);
    for (const id of ['d2', 'd3', 'd4']) expect(await hostsOf(id)).toEqual(['hostA', 'hostC']);
    const only = await w.select(request('d5', 8));
    expect(only.outcome).toBe('noValidHost');
    expect(only.explain.rejected.join('\n')).toMatch(/compute/);
    w.setUp('hostB', true);
    await w.clock.advance(0);
    expect(await hostsOf('d6')).toEqual(['hostA', 'hostB', 'hostC']);
  });

  it('a nested tree: each class is claimed on the provider that has it, with both generations', async () => {
    w = await shardWorld();
    const host = tree(A, 'gpuhost')
      .inv('VCPU', 8)
      .inv('MEMORY_MB', 8192)
      .child(NUMA0, 'gpuhost_gpu0', (c) => c.inv('VGPU', 2).trait('CUSTOM_GPU'))
      .build();
    const reg = await w.trees.register(A, host);
    await w.trees.register(B, tree(B, 'plain').inv('VCPU', 8).inv('MEMORY_MB', 8192).build());
    await leader(w);
    const flavor = {
      vcpus: 2,
      ram: 1024,
      disk: 0,
      extra_specs: { 'resources:VGPU': '1', 'trait:CUSTOM_GPU': 'required' },
    };
    const reply = await w.select({ id: 'g1', flavor, numInstances: 2 });
    expect(reply.outcome).toBe('selected');
    for (const s of reply.selections) {
      expect(s.root).toBe(A);
      expect(s.allocations).toEqual({ [A]: { VCPU: 2, MEMORY_MB: 1024 }, [NUMA0]: { VGPU: 1 } });
      expect(s.generations).toEqual(reg.generations);
    }
    // Two VGPUs in all: a third instance does not fit (assumed within the batch).
    const three = await w.select({ id: 'g2', flavor, numInstances: 3 });
    expect(three.outcome).toBe('noValidHost');
  });

  it('missed events (a gap in versions) are recovered by re-reading the tree from the store', async () => {
    w = await shardWorld();
    await threeHosts(w);
    const r = await leader(w);
    await claimUnseen(w, B, 10); // its event never reaches the shard
    expect((await w.select(request('gap-1', 8))).selections[0]?.host).toBe('hostB'); // stale, as expected
    // The next visible event jumps a version: the shard re-reads B and sees both claims.
    await w.trees.claim(B, {
      consumer: consumer(8),
      project: 'p',
      user: 'u',
      allocations: { [B]: { VCPU: 1 } },
    });
    await w.clock.advance(0);
    expect(r.events.filter((e) => e.type === 'problem')).toEqual([]);
    const after = await w.select(request('gap-2', 6));
    expect(after.outcome).toBe('noValidHost'); // B: 16 - 10 - 1 = 5 free
    const five = await w.select(request('gap-3', 5));
    expect(five.selections[0]?.host).toBe('hostB');
  });

  it('a view left behind by a missed event is brought up to date by the next claim it makes conflict', async () => {
    w = await shardWorld();
    await threeHosts(w);
    await leader(w);
    await claimUnseen(w, B, 10); // its event never reaches the shard
    const stale = (await w.select(request('stale-1', 8))).selections[0]!;
    expect(stale.host).toBe('hostB'); // the view still thinks B has 16 free
    const refused = await w.trees.claim(B, {
      consumer: consumer(8),
      project: 'p',
      user: 'u',
      allocations: stale.allocations,
      expectedGenerations: stale.generations,
    });
    expect(refused.ok).toBe(false);
    await w.clock.advance(0);
    // Without the tree's announcement the view would offer B for 8 VCPU for ever.
    expect((await w.select(request('stale-2', 8))).outcome).toBe('noValidHost'); // B: 16 - 10 = 6
    expect((await w.select(request('stale-3', 6))).selections[0]?.host).toBe('hostB');
  });

  it('an invalid request is refused with `invalid` naming the field; the shard keeps serving', async () => {
    w = await shardWorld();
    await threeHosts(w);
    await leader(w);
    const bad = request('bad-1', 1, 512, { forceHosts: ['hostA'] });
    await expect(w.select(bad)).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/force_hosts/),
    });
    const admin = await w.select({ ...bad, id: 'ok-1', isAdmin: true });
    expect(admin.selections[0]?.host).toBe('hostA');
  });

  it('groupHosts: anti-affinity keeps off the hosts of earlier members, affinity goes to them', async () => {
    w = await shardWorld();
    await threeHosts(w);
    await leader(w);
    const g = 'f0000000-0000-4000-8000-000000000001';
    const hints = { group: g };
    const anti = (id: string, groupHosts: string[]) =>
      w.select(
        request(id, 1, 512, {
          group: { uuid: g, policy: 'anti-affinity' },
          schedulerHints: hints,
          groupHosts,
        }),
      );
    expect((await anti('aa-1', [])).selections[0]?.host).toBe('hostB');
    expect((await anti('aa-2', ['hostB'])).selections[0]?.host).toBe('hostA');
    const full = await anti('aa-3', ['hostB', 'hostA', 'hostC']);
    expect(full.outcome).toBe('noValidHost');
    expect(full.explain.rejected.join('\n')).toMatch(/anti-affinity/);
    const aff = await w.select(
      request('af-1', 1, 512, {
        group: { uuid: g, policy: 'affinity' },
        schedulerHints: hints,
        groupHosts: ['hostC'],
      }),
    );
    expect(aff.selections[0]?.host).toBe('hostC');
    // Nothing stays booked: without groupHosts the group is empty again.
    expect((await anti('aa-4', [])).selections[0]?.host).toBe('hostB');
  });
});
