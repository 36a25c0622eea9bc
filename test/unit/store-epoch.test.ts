/**
 * A store's epoch and its watch (core/stores/epoch.ts) on the memory store and a virtual clock:
 * written once, kept while the data is kept, replaced — exactly once however many watches race —
 * when the data is lost; the loss reported with both epochs and repaired until the repair
 * succeeds; an outage reported once when it starts and once when it ends, and not taken for a loss.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../core/adapters/memory/clock.ts';
import { MemoryStore } from '../../core/adapters/memory/store.ts';
import { CellplaneError } from '../../core/errors.ts';
import type { Store } from '../../core/ports/store.ts';
import {
  DEFAULT_STORE_CHECK_INTERVAL_MS,
  ensureEpoch,
  STORE_EPOCH_KEY,
  type StoreLoss,
  StoreWatch,
  type StoreWatchEvent,
} from '../../core/stores/epoch.ts';

const EVERY = DEFAULT_STORE_CHECK_INTERVAL_MS;

/** A store that can be "down": every call then fails `unavailable`, as the Redis adapter does. */
function switchable(inner: Store) {
  const state = { down: false };
  const gate =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      if (state.down)
        throw new CellplaneError('unavailable', 'redis unavailable during get: connect ECONNREFUSED');
      return f(...a);
    };
  const store: Store = {
    get: gate((k) => inner.get(k)),
    getMany: gate((k) => inner.getMany(k)),
    commit: gate((ops) => inner.commit(ops)),
    list: gate((i, o) => inner.list(i, o)),
    count: gate((i) => inner.count(i)),
    scanKeys: gate((p) => inner.scanKeys(p)),
    close: () => inner.close(),
  };
  return { store, state };
}

function watchOn(store: Store, clock: VirtualClock, name: string, repair?: (l: StoreLoss) => Promise<void>) {
  const events: StoreWatchEvent[] = [];
  let n = 0;
  const watch = new StoreWatch({
    store,
    clock,
    newEpoch: () => `${name}-${++n}`,
    onEvent: (e) => events.push(e),
    ...(repair ? { repair } : {}),
  });
  return { watch, events };
}

describe('store epoch', () => {
  it('is written by the first reader and read by the others', async () => {
    const store = new MemoryStore();
    let n = 0;
    const fresh = () => ({ epoch: `e${++n}`, createdAtMs: 5 });
    expect(await ensureEpoch(store, fresh)).toEqual({
      record: { epoch: 'e1', createdAtMs: 5 },
      created: true,
    });
    expect(await ensureEpoch(store, fresh)).toEqual({
      record: { epoch: 'e1', createdAtMs: 5 },
      created: false,
    });
    expect((await store.get(STORE_EPOCH_KEY))?.generation).toBe(1);
  });

  it('a watch says nothing while the store keeps its data', async () => {
    const clock = new VirtualClock(0);
    const store = new MemoryStore();
    const { watch, events } = watchOn(store, clock, 'a');
    expect((await watch.start()).created).toBe(true);
    await clock.advance(10 * EVERY);
    expect(events).toEqual([]);
    await watch.stop();
  });

  it('a loss is reported by every watch with the same new epoch, and each repairs', async () => {
    const clock = new VirtualClock(0);
    const store = new MemoryStore();
    const repaired: string[] = [];
    const a = watchOn(store, clock, 'a', async () => {
      repaired.push('a');
    });
    const b = watchOn(store, clock, 'b', async () => {
      repaired.push('b');
    });
    await a.watch.start();
    expect((await b.watch.start()).created).toBe(false); // a wrote it: one epoch
    store.clear();
    await clock.advance(EVERY);
    const lost = (w: typeof a) => w.events.find((e) => e.type === 'lost');
    expect(lost(a)).toMatchObject({
      previous: { epoch: 'a-1' },
      current: { epoch: 'a-2' },
      createdHere: true,
    });
    expect(lost(b)).toMatchObject({
      previous: { epoch: 'a-1' },
      current: { epoch: 'a-2' },
      createdHere: false,
    });
    expect(repaired.sort()).toEqual(['a', 'b']);
    expect(a.events.map((e) => e.type)).toEqual(['lost', 'repaired']);
    await clock.advance(5 * EVERY);
    expect(repaired).toHaveLength(2); // repaired once per loss
    await Promise.all([a.watch.stop(), b.watch.stop()]);
  });

  it('a repair that fails is reported and tried again at every check until it succeeds', async () => {
    const clock = new VirtualClock(0);
    const store = new MemoryStore();
    let failures = 2;
    const { watch, events } = watchOn(store, clock, 'a', async () => {
      if (failures-- > 0) throw new CellplaneError('unavailable', 'store went away again');
    });
    await watch.start();
    store.clear();
    await clock.advance(4 * EVERY);
    expect(events.map((e) => e.type)).toEqual(['lost', 'repairFailed', 'repairFailed', 'repaired']);
    await watch.stop();
  });

  it('an outage is reported once when it starts and once when it ends, and is no loss', async () => {
    const clock = new VirtualClock(0);
    const { store, state } = switchable(new MemoryStore());
    const { watch, events } = watchOn(store, clock, 'a', async () => {
      throw new Error('must not repair');
    });
    await watch.start();
    state.down = true;
    await clock.advance(5 * EVERY);
    state.down = false;
    await clock.advance(EVERY);
    expect(events).toEqual([
      { type: 'unreachable', error: expect.objectContaining({ code: 'unavailable' }) },
      { type: 'reachable', downMs: 5 * EVERY },
    ]);
    await watch.stop();
  });

  it('stop ends the checks', async () => {
    const clock = new VirtualClock(0);
    const store = new MemoryStore();
    const { watch, events } = watchOn(store, clock, 'a');
    await watch.start();
    await watch.stop();
    store.clear();
    await clock.advance(5 * EVERY);
    expect(events).toEqual([]);
    expect(await store.get(STORE_EPOCH_KEY)).toBeUndefined(); // nobody wrote a new one
  });
});
