/**
 * CellsServerBackend with one cell whose store is down or hung (virtual clock, memory ports): new
 * instances go to the cells that answer; lists show the bad cell's instances as UNKNOWN, waiting
 * at most the configured cell timeout once and not at all while the cell is known to be down; the
 * cell is used again once it answers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CellDirectory } from '../../../cells/directory.ts';
import { InstanceStore, newInstanceRecord } from '../../../cells/instances.ts';
import { CellRegistry } from '../../../cells/lifecycle.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { CellplaneError } from '../../../core/errors.ts';
import type { Store } from '../../../core/ports/store.ts';
import { CellsServerBackend } from '../../../deploy/server-backend.ts';

const CELL_TIMEOUT_MS = 1_500;
const HINT = { vcpus: 1, ramMb: 512, diskGb: 1, availabilityZone: null };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Mode = 'up' | 'down' | 'hung';

/** A store that answers, fails at once like a stopped Redis, or never answers like a hung one. */
function switchable(inner: Store): { store: Store; set(m: Mode): void } {
  let mode: Mode = 'up';
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || prop === 'close') return v;
      return (...args: unknown[]) => {
        if (mode === 'down')
          return Promise.reject(new CellplaneError('unavailable', 'redis unavailable: connect ECONNREFUSED'));
        if (mode === 'hung') return new Promise(() => {});
        return v.apply(target, args);
      };
    },
  });
  return { store, set: (m) => (mode = m) };
}

async function world() {
  const clock = new VirtualClock(Date.parse('2030-01-01T00:00:00Z'));
  const coordinator = new MemoryCoordinationServer(clock).client();
  const registry = new CellRegistry(coordinator, { clock, mappingStore: new MemoryStore() });
  const c1 = await registry.create({ name: 'cell1', transport: 'cp.cell1', store: 'memory://cell1' });
  const c2 = await registry.create({ name: 'cell2', transport: 'cp.cell2', store: 'memory://cell2' });
  const directory = await CellDirectory.open(coordinator);
  const bus = new MemoryBroker({ clock }).connect();
  const stores = new Map([
    [c1.uuid, switchable(new MemoryStore())],
    [c2.uuid, switchable(new MemoryStore())],
  ]);
  const log: string[] = [];
  const backend = new CellsServerBackend({
    directory,
    memberships: registry.memberships,
    portsOf: (cell) => ({ store: stores.get(cell.uuid)!.store, bus }),
    clock,
    cellTimeoutMs: CELL_TIMEOUT_MS,
    random: () => 0.99, // the router's uniform pick would be the last cell: cell2
    onCellHealth: (cell, up) => log.push(`${cell.name} ${up ? 'up' : 'down'}`),
  });
  cleanups.push(async () => {
    await backend.close();
    await directory.close();
    await bus.close();
    await coordinator.close();
  });
  /** A server in `cell`: mapped, recorded. */
  const server = async (cell: typeof c1, n: number) => {
    const uuid = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    const m = await backend.mapInstance(uuid, cell, 'p');
    const flavor = { id: '1', name: 't', vcpus: 1, ram: 512, disk: 1, ephemeral: 0, swap: 0, extraSpecs: {} };
    const rec = newInstanceRecord(
      { uuid, name: `s${n}`, projectId: 'p', userId: 'u', flavor, imageRef: 'i', requestId: 'r' },
      new Date(m.mappedAt).toISOString(),
    );
    await new InstanceStore(stores.get(cell.uuid)!.store).create(rec);
    return uuid;
  };
  /** Runs `f` with the virtual clock moving; its result and the virtual ms it took. */
  const timed = async <T>(f: () => Promise<T>) => {
    const t0 = clock.now();
    let out: { v: T } | undefined;
    const p = f().then((v) => (out = { v }));
    await clock.advance(0);
    for (let i = 0; i < 400 && !out; i++) await clock.advance(50);
    await p;
    return { value: out!.v, tookMs: clock.now() - t0 };
  };
  return { clock, backend, c1, c2, stores, server, timed, log };
}

describe('CellsServerBackend: one cell down or hung', () => {
  it('new instances go to the cells that answer; with none answering, to any accepting cell', async () => {
    const w = await world();
    expect((await w.timed(() => w.backend.chooseCell(HINT))).value.name).toBe('cell2');
    w.stores.get(w.c2.uuid)!.set('down');
    await w.clock.advance(3_000); // its "answers" verdict is stale: the next choice probes
    for (let i = 0; i < 5; i++)
      expect((await w.timed(() => w.backend.chooseCell(HINT))).value.name).toBe('cell1');
    w.stores.get(w.c1.uuid)!.set('down');
    await w.clock.advance(3_000);
    // Nobody answers: routed as before (the durable job waits for the cell).
    expect((await w.timed(() => w.backend.chooseCell(HINT))).value.name).toBe('cell2');
    expect(w.log).toEqual(['cell2 down', 'cell1 down']);
  });

  it('a hung cell: its servers list as UNKNOWN after one cell timeout, at once while it is known down; back when it answers', async () => {
    const w = await world();
    const a = await w.server(w.c1, 1);
    const b = await w.server(w.c2, 2);
    const status = (page: Awaited<ReturnType<CellsServerBackend['list']>>) =>
      Object.fromEntries(page.servers.map((s) => [s.uuid, s.status]));
    expect(status((await w.timed(() => w.backend.list({}))).value)).toEqual({ [a]: 'BUILD', [b]: 'BUILD' });

    w.stores.get(w.c2.uuid)!.set('hung');
    const first = await w.timed(() => w.backend.list({}));
    expect(status(first.value)).toEqual({ [a]: 'BUILD', [b]: 'UNKNOWN' });
    expect(first.value.downCells.map((d) => [d.name, d.error.code])).toEqual([['cell2', 'timeout']]);
    expect(first.tookMs).toBeGreaterThanOrEqual(CELL_TIMEOUT_MS);
    expect(first.tookMs).toBeLessThan(CELL_TIMEOUT_MS + 100);
    const second = await w.timed(() => w.backend.list({}));
    expect(status(second.value)).toEqual({ [a]: 'BUILD', [b]: 'UNKNOWN' });
    expect(second.tookMs).toBe(0);

    w.stores.get(w.c2.uuid)!.set('up');
    await w.clock.advance(1_000); // a background probe is due
    await w.timed(() => w.backend.list({}));
    const back = await w.timed(() => w.backend.list({}));
    expect(status(back.value)).toEqual({ [a]: 'BUILD', [b]: 'BUILD' });
    expect(w.log).toEqual(['cell2 down', 'cell2 up']);
  });

  it('show: a server of a hung cell is what its mapping knows after one cell timeout, at once while known down', async () => {
    const w = await world();
    const a = await w.server(w.c1, 1);
    const b = await w.server(w.c2, 2);
    const shown = async (id: string) => w.timed(() => w.backend.show(id));
    expect((await shown(b)).value).toMatchObject({ record: { uuid: b, status: 'BUILD' } });
    w.stores.get(w.c2.uuid)!.set('hung');
    const first = await shown(b);
    expect(first.value).toEqual({
      down: { uuid: b, projectId: expect.any(String), createdAt: expect.any(Number) },
    });
    expect(first.tookMs).toBeGreaterThanOrEqual(CELL_TIMEOUT_MS);
    expect(first.tookMs).toBeLessThan(CELL_TIMEOUT_MS + 100);
    const again = await shown(b);
    expect('down' in again.value!).toBe(true);
    expect(again.tookMs).toBe(0);
    // The other cell's servers are read as ever; an unknown uuid is nobody's.
    expect((await shown(a)).value).toMatchObject({ record: { uuid: a } });
    expect((await shown('00000000-0000-4000-8000-00000000dead')).value).toBeUndefined();
  });
});
