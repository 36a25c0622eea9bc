/**
 * Shared reads of cell records (cells/cell-reads.ts) on the memory coordinator, each read held at
 * its answer until the test releases it: a `fresh` read always started after its caller asked
 * (it sees a disable that committed before), concurrent callers share at most two reads, `recent`
 * joins the read in flight, and a failed read fails only those who shared it.
 */
import { describe, expect, it } from 'vitest';
import { SharedCellReads } from '../../../cells/cell-reads.ts';
import { CellRegistry } from '../../../cells/lifecycle.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { CellplaneError } from '../../../core/errors.ts';
import type { Coordinator, KvEntry } from '../../../core/ports/coordinator.ts';

/** A client whose `get`s read at once but answer only when released (or fail when told to). */
function heldReads(inner: Coordinator) {
  const held: Array<{ release: () => void; fail: () => void }> = [];
  let gets = 0;
  const client = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop !== 'get') return typeof value === 'function' ? value.bind(target) : value;
      return async (key: string): Promise<KvEntry | undefined> => {
        gets++;
        const answer = await inner.get(key); // read now …
        return new Promise((resolve, reject) => {
          held.push({
            release: () => resolve(answer), // … answered later
            fail: () => reject(new CellplaneError('unavailable', 'etcd down')),
          });
        });
      };
    },
  });
  const settle = () => new Promise<void>((r) => setImmediate(r));
  /** The oldest held read, once the memory coordinator has answered it. */
  const oldest = async () => {
    for (let i = 0; i < 100 && held.length === 0; i++) await settle();
    const h = held.shift();
    if (!h) throw new Error('no read is held');
    return h;
  };
  return {
    client,
    gets: () => gets,
    /** Answers the oldest held read, then lets the queued work run. */
    async release() {
      (await oldest()).release();
      await settle();
    },
    async fail() {
      (await oldest()).fail();
      await settle();
    },
  };
}

async function world() {
  const clock = new VirtualClock(1_700_000_000_000);
  const server = new MemoryCoordinationServer(clock);
  const admin = new CellRegistry(server.client(), { clock, mappingStore: new MemoryStore() });
  const cell = await admin.create({ name: 'cell-a', transport: 'cp.a', store: 'memory://a' });
  const reads = heldReads(server.client());
  return { admin, cell, reads, shared: new SharedCellReads(reads.client) };
}

describe('SharedCellReads', () => {
  it('a fresh read started after its caller asked: it sees a disable that committed before', async () => {
    const { admin, cell, reads, shared } = await world();
    const first = shared.fresh(cell.uuid); // read 1 starts: the cell is enabled
    await admin.disable('cell-a');
    const second = shared.fresh(cell.uuid); // read 1 started before this call: it waits for read 2
    await reads.release();
    expect((await first)?.disabled).toBe(false);
    await reads.release();
    expect((await second)?.disabled).toBe(true);
    expect(reads.gets()).toBe(2);
  });

  it('callers arriving while a read is in flight share the next one: two reads for any number', async () => {
    const { cell, reads, shared } = await world();
    const all = [shared.fresh(cell.uuid)];
    for (let i = 0; i < 50; i++) all.push(shared.fresh(cell.uuid));
    await reads.release();
    await reads.release();
    expect((await Promise.all(all)).every((c) => c?.uuid === cell.uuid)).toBe(true);
    expect(reads.gets()).toBe(2);
  });

  it('recent joins the read in flight, and starts one when none is', async () => {
    const { cell, reads, shared } = await world();
    const a = shared.recent(cell.uuid);
    const b = shared.recent(cell.uuid);
    await reads.release();
    expect(await a).toEqual(await b);
    expect(reads.gets()).toBe(1);
    const c = shared.recent(cell.uuid);
    await reads.release();
    expect((await c)?.uuid).toBe(cell.uuid);
    expect(reads.gets()).toBe(2);
  });

  it('a failed read fails those who shared it; the next caller reads again', async () => {
    const { cell, reads, shared } = await world();
    const a = shared.fresh(cell.uuid);
    const b = shared.recent(cell.uuid);
    await reads.fail();
    await expect(a).rejects.toMatchObject({ code: 'unavailable' });
    await expect(b).rejects.toMatchObject({ code: 'unavailable' });
    const c = shared.fresh(cell.uuid);
    await reads.release();
    expect((await c)?.name).toBe('cell-a');
  });
});
