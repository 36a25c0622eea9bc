/**
 * ShardFeed's takeover ordering: events that arrive while the resync reads the Store are held
 * and folded in afterwards — one newer than the record read applies, one older is ignored by
 * its version — and trees of other partitions are not loaded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type ServiceEvents, ShardFeed } from '../../../actors/scheduler-shard-feed.ts';
import { shardOf } from '../../../actors/scheduler-shard-partition.ts';
import { ShardView } from '../../../actors/scheduler-shard-view.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import type { Store } from '../../../core/ports/store.ts';
import { consumer, hostTrees, tree } from './provider-tree-fixture.ts';
import { CELL, rootUuid } from './scheduler-shard-fixture.ts';

/** A store whose getMany answers only once `open()` is called (with what it read before). */
function gatedStore(inner: Store) {
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => {
    open = r;
  });
  const store: Store = Object.assign(Object.create(null), {
    get: (k: string) => inner.get(k),
    getMany: async (keys: readonly string[]) => {
      const read = await inner.getMany(keys);
      await gate;
      return read;
    },
    commit: inner.commit.bind(inner),
    list: inner.list.bind(inner),
    count: inner.count.bind(inner),
    scanKeys: inner.scanKeys.bind(inner),
    close: inner.close.bind(inner),
  });
  return { store, open };
}

describe('ShardFeed', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** `n` trees (8 VCPU, 1024 MB) registered through tree actors on a memory bus and store; `fb` for the feed. */
  async function treesOf(n: number) {
    const clock = new VirtualClock(0);
    const broker = new MemoryBroker({ clock });
    const [tb, cb, fb] = [broker.connect(), broker.connect(), broker.connect()];
    const inner = new MemoryStore();
    const { host, trees } = await hostTrees({ bus: tb, clientBus: cb, store: inner, clock, scope: CELL });
    cleanup.push(async () => {
      await host.shutdown();
      await Promise.all([tb.close(), cb.close(), fb.close()]);
    });
    const roots = Array.from({ length: n }, (_, i) => rootUuid(i + 1));
    for (const r of roots) await trees.register(r, tree(r).inv('VCPU', 8).inv('MEMORY_MB', 1024).build());
    /** The store loses everything; the tree actors start over (as the cell roles restart them). */
    const loseStore = async () => {
      inner.clear();
      await host.shutdown();
      const again = await hostTrees({ bus: tb, clientBus: cb, store: inner, clock, scope: CELL });
      cleanup.push(() => again.host.shutdown());
      return again.trees;
    };
    return { clock, fb, inner, trees, roots, loseStore };
  }

  const hostShape = (r: string) =>
    tree(r as ReturnType<typeof rootUuid>)
      .inv('VCPU', 8)
      .inv('MEMORY_MB', 1024)
      .build();
  const take = (root: string, n: number, vcpus: number) => ({
    consumer: consumer(n),
    project: 'p',
    user: 'u',
    allocations: { [root]: { VCPU: vcpus } },
  });

  it('a tree registered again after the store lost it (its version went back) is re-read and replaces the old one', async () => {
    const { clock, fb, inner, trees, roots, loseStore } = await treesOf(1);
    const root = roots[0]!;
    const reports: Array<[string, Record<string, unknown>]> = [];
    const view = new ShardView();
    const feed = new ShardFeed(
      { bus: fb, store: inner, cell: CELL, shard: 0, shardCount: 1, report: (w, d) => reports.push([w, d]) },
      view,
    );
    cleanup.push(() => feed.stop());
    await feed.start();
    await trees.claim(root, take(root, 1, 2));
    await trees.claim(root, take(root, 2, 2));
    await clock.advance(0);
    expect(view.trees.get(root)!.version).toBe(3);
    const fresh = await loseStore();
    await fresh.register(root, hostShape(root)); // version 1 again: older than the view
    await clock.advance(0);
    const t = view.trees.get(root)!;
    expect(t.version).toBe(1);
    expect(t.providers.get(root)!.usages).toEqual({ VCPU: 0, MEMORY_MB: 0 }); // the lost claims are gone
    expect(reports).toEqual([['treeWentBack', expect.objectContaining({ root, from: 3, to: 1, count: 1 })]]);
    // …and it follows the tree from there: a claim on the generations it now holds succeeds.
    expect((await fresh.claim(root, take(root, 3, 1))).ok).toBe(true);
    await clock.advance(0);
    expect(view.trees.get(root)!.version).toBe(2);
  });

  it('resyncAll drops the trees the store no longer has and takes the ones registered again', async () => {
    const { clock, fb, inner, roots, loseStore } = await treesOf(3);
    const view = new ShardView();
    const feed = new ShardFeed(
      { bus: fb, store: inner, cell: CELL, shard: 0, shardCount: 1, report: () => {} },
      view,
    );
    cleanup.push(() => feed.stop());
    expect(await feed.start()).toBe(3);
    const fresh = await loseStore();
    await fresh.register(roots[0]!, hostShape(roots[0]!));
    expect(await feed.resyncAll()).toBe(1); // two hosts never came back
    await clock.advance(0);
    expect([...view.trees.keys()]).toEqual([roots[0]]);
    await fresh.register(roots[1]!, hostShape(roots[1]!));
    await clock.advance(0);
    expect([...view.trees.keys()].sort()).toEqual([roots[0], roots[1]].sort());
  });

  it('holds events during the resync and applies the newer ones after it', async () => {
    const { clock, fb, inner, trees, roots } = await treesOf(4);
    const mine = roots.filter((r) => shardOf(r, 2) === 0);
    const target = mine[0]!;
    const { store, open } = gatedStore(inner);
    const view = new ShardView();
    const feed = new ShardFeed(
      { bus: fb, store, cell: CELL, shard: 0, shardCount: 2, report: () => {} },
      view,
    );
    cleanup.push(() => feed.stop());
    const started = feed.start();
    await clock.advance(0); // the records are read (version 1); the answer waits at the gate
    await trees.claim(target, {
      consumer: consumer(1),
      project: 'p',
      user: 'u',
      allocations: { [target]: { VCPU: 3 } },
    });
    await clock.advance(0); // its event (version 2) arrives during the resync
    open();
    expect(await started).toBe(mine.length);
    expect([...view.trees.keys()].sort()).toEqual([...mine].sort());
    const t = view.trees.get(target)!;
    expect(t.version).toBe(2);
    expect(t.providers.get(target)!.usages).toEqual({ VCPU: 3, MEMORY_MB: 0 });
  });

  it('applies host up/down transitions only while started', async () => {
    const clock = new VirtualClock(0);
    const broker = new MemoryBroker({ clock });
    const [fb, pb] = [broker.connect(), broker.connect()];
    cleanup.push(() => Promise.all([fb.close(), pb.close()]).then(() => {}));
    const view = new ShardView();
    const parse: ServiceEvents['parse'] = (d) => JSON.parse(new TextDecoder().decode(d));
    const feed = new ShardFeed(
      {
        bus: fb,
        store: new MemoryStore(),
        cell: CELL,
        shard: 0,
        shardCount: 1,
        serviceEvents: { subject: 'svc', parse },
        report: () => {},
      },
      view,
    );
    const send = (up: boolean) =>
      pb.publish('svc', new TextEncoder().encode(JSON.stringify({ host: 'h1', up })));
    await feed.start();
    const g0 = view.generation;
    send(false);
    await clock.advance(0);
    expect(view.setHostUp('h1', false)).toBe(false); // already down
    expect(view.generation).toBe(g0 + 1);
    await feed.stop();
    send(true);
    await clock.advance(0);
    expect(view.setHostUp('h1', false)).toBe(false); // the up after stop() was not applied
  });

  it('asks for a replay of the transitions once the trees are loaded, not before', async () => {
    const { clock, fb, inner, roots } = await treesOf(3);
    const { store, open } = gatedStore(inner);
    const view = new ShardView();
    const asked: number[] = [];
    const feed = new ShardFeed(
      {
        bus: fb,
        store,
        cell: CELL,
        shard: 0,
        shardCount: 1,
        serviceEvents: {
          subject: 'svc',
          parse: () => undefined,
          askReplay: () => asked.push(view.trees.size),
        },
        report: () => {},
      },
      view,
    );
    cleanup.push(() => feed.stop());
    const started = feed.start();
    await clock.advance(0);
    expect(asked).toEqual([]); // the trees are still being read
    open();
    expect(await started).toBe(roots.length);
    expect(asked).toEqual([roots.length]); // once, with every tree in the view
  });
});
