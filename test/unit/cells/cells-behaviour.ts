/**
 * The behaviour of cells/ on a Coordinator, run once per adapter (memory on a VirtualClock
 * from lifecycle.test.ts, real etcd from test/integration/cells-etcd.test.ts): the
 * lifecycle, unique names under races and crashes, host and instance mappings (the instance
 * mappings in a memory store or a real Redis), delete refused while mappings remain, and the
 * watch-driven CellDirectory.
 */
import { describe, expect, it } from 'vitest';
import type { NewCell } from '../../../cells/lifecycle.ts';
import { CELL_NAMES_PREFIX, CELLS_PREFIX } from '../../../cells/mapping.ts';
import type { Coordinator } from '../../../core/ports/coordinator.ts';
import { cellsDirectoryBehaviour, cellsMappingsBehaviour } from './cells-mappings-behaviour.ts';
import { type CellsWorldFactory, cell, dyingCoordinator, useCells } from './cells-world.ts';
import { instanceMappingsBehaviour } from './instance-mappings-behaviour.ts';

export function cellsBehaviour(label: string, factory: CellsWorldFactory): void {
  describe(`cells on ${label}`, () => {
    lifecycleBehaviour(factory);
    uniqueNameBehaviour(factory);
    cellsMappingsBehaviour(factory);
    instanceMappingsBehaviour(factory);
    cellsDirectoryBehaviour(factory);
  });
}

function lifecycleBehaviour(factory: CellsWorldFactory): void {
  describe('lifecycle', () => {
    const ctx = useCells(factory);

    it('creates a cell with its URLs and clock timestamps, shown by name or uuid and listed by name', async () => {
      const { cells } = ctx.open();
      const before = ctx.world.clock.now();
      const b = await cells.create(cell('cell-b', { transport: 'nats://10.0.0.2:4222' }));
      const a = await cells.create(cell('cell-a'));
      expect(b).toMatchObject({
        name: 'cell-b',
        transport: 'nats://10.0.0.2:4222',
        state: 'ready',
        disabled: false,
      });
      expect(b.createdAt).toBeGreaterThanOrEqual(before);
      expect(b.createdAt).toBeLessThanOrEqual(ctx.world.clock.now());
      expect(b.updatedAt).toBe(b.createdAt);
      expect(await cells.get('cell-b')).toEqual(b);
      expect(await cells.get(b.uuid)).toEqual(b);
      expect(await cells.get(b.uuid.toUpperCase())).toEqual(b);
      expect((await cells.list()).map((c) => c.name)).toEqual(['cell-a', 'cell-b']);
      expect(a.uuid).not.toBe(b.uuid);
    });

    it('refuses invalid input and writes nothing', async () => {
      const { coord, cells } = ctx.open();
      const bad: Array<[Partial<NewCell>, RegExp]> = [
        [{ name: 'Cell1' }, /lowercase/],
        [{ name: 'a/b' }, /not valid/],
        [{ name: '' }, /not valid/],
        [{ name: '0e6a4c0c-2b5e-4c1e-9f57-2b0a3f3b9d11' }, /looks like a UUID/],
        [{ transport: 'http://x' }, /neither a NATS URL/],
        [{ transport: 'cp.*' }, /neither a NATS URL/],
        [{ store: 'postgres://db' }, /not a Redis URL/],
      ];
      for (const [over, message] of bad) {
        await expect(cells.create(cell('good', over))).rejects.toMatchObject({ code: 'invalid', message });
      }
      expect(await coord.list('')).toEqual([]);
    });

    it('disables with a reason and enables again; repeating either changes nothing', async () => {
      const { cells } = ctx.open();
      const c = await cells.create(cell('cell1'));
      await ctx.world.pass(5);
      const off = await cells.disable('cell1', 'rack maintenance');
      expect(off).toMatchObject({ disabled: true, disabledReason: 'rack maintenance' });
      expect(off.updatedAt).toBeGreaterThan(c.updatedAt);
      expect(await cells.disable('cell1', 'rack maintenance')).toEqual(off);
      expect(await cells.get(c.uuid)).toEqual(off);
      const on = await cells.enable(c.uuid);
      expect(on.disabled).toBe(false);
      expect(on).not.toHaveProperty('disabledReason');
      expect(await cells.enable('cell1')).toEqual(on);
      expect(await cells.get('cell1')).toEqual(on);
    });

    it('updates transport and store URLs, validating them', async () => {
      const { cells } = ctx.open();
      await cells.create(cell('cell1'));
      const u = await cells.updateUrls('cell1', { store: 'redis://10.0.0.9:6379/0' });
      expect(u).toMatchObject({ transport: 'cp.cell1', store: 'redis://10.0.0.9:6379/0' });
      await expect(cells.updateUrls('cell1', { transport: 'ftp://x' })).rejects.toMatchObject({
        code: 'invalid',
      });
      expect(await cells.get('cell1')).toEqual(u);
    });

    it('names an unknown cell in a notFound error that says how to list cells', async () => {
      const { cells } = ctx.open();
      await expect(cells.get('nope')).rejects.toMatchObject({
        code: 'notFound',
        message: expect.stringMatching(/no cell named "nope".*cellplane cell list/),
      });
      expect(await cells.find('nope')).toBeUndefined();
      await expect(cells.disable('nope')).rejects.toMatchObject({ code: 'notFound' });
      await expect(cells.delete('nope')).rejects.toMatchObject({ code: 'notFound' });
    });

    it('deletes a cell, after which its name can be reused', async () => {
      const { coord, cells } = ctx.open();
      const old = await cells.create(cell('cell1'));
      expect(await cells.delete('cell1')).toMatchObject({ uuid: old.uuid });
      expect(await cells.find('cell1')).toBeUndefined();
      expect(await cells.find(old.uuid)).toBeUndefined();
      expect(await coord.list('')).toEqual([]);
      const again = await cells.create(cell('cell1'));
      expect(again.uuid).not.toBe(old.uuid);
    });
  });
}

function uniqueNameBehaviour(factory: CellsWorldFactory): void {
  describe('unique names', () => {
    const ctx = useCells(factory);
    const keys = async (c: Coordinator, prefix: string) => (await c.list(prefix)).length;

    it('refuses a duplicate name, not retryable, leaving the first cell as it was', async () => {
      const { coord, cells } = ctx.open();
      const first = await cells.create(cell('cell1'));
      await expect(cells.create(cell('cell1', { store: 'redis://other:6379' }))).rejects.toMatchObject({
        code: 'conflict',
        retryable: false,
        message: 'a cell named "cell1" already exists',
      });
      expect(await cells.list()).toEqual([first]);
      await ctx.world.eventually('the loser’s pending record is gone', 5000, async () => {
        return (await keys(coord, CELLS_PREFIX)) === 1;
      });
    });

    it('lets exactly one of several racing creators (separate clients) have a name', async () => {
      const racers = Array.from({ length: 5 }, () => ctx.open());
      const results = await Promise.allSettled(
        racers.map((r, i) => r.cells.create(cell('contested', { store: `redis://r${i}:6379` }))),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const l of lost) expect(l.reason).toMatchObject({ code: 'conflict', retryable: false });
      const { coord, cells } = ctx.open();
      expect(await cells.list()).toEqual([won[0]!.value]);
      await ctx.world.eventually('only the winner’s records remain', 5000, async () => {
        return (await keys(coord, CELLS_PREFIX)) === 1 && (await keys(coord, CELL_NAMES_PREFIX)) === 1;
      });
    });

    it('a creator that dies before committing blocks the name only until its lease lapses', async () => {
      const inner = ctx.world.client();
      let cellWrites = 0;
      const commitOf = (op: string, key: string) => op === 'cas' && key.startsWith(CELLS_PREFIX);
      const dying = ctx.open(dyingCoordinator(inner, (op, key) => commitOf(op, key) && ++cellWrites === 2));
      await expect(dying.cells.create(cell('cell1'))).rejects.toMatchObject({ code: 'unavailable' });
      ctx.world.crash(inner);

      const { coord, cells } = ctx.open();
      expect(await cells.list()).toEqual([]);
      expect(await cells.find('cell1')).toBeUndefined();
      await expect(cells.create(cell('cell1'))).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringContaining('being created'),
      });
      const lapse = ctx.world.pendingTtlMs + ctx.world.expirySlackMs + 1000;
      await ctx.world.eventually('the dead creator’s pending record expires', lapse, async () => {
        return (await keys(coord, CELLS_PREFIX)) === 0;
      });
      const created = await cells.create(cell('cell1'));
      expect(await cells.list()).toEqual([created]);
      expect(await keys(coord, CELL_NAMES_PREFIX)).toBe(1);
    });

    it('a delete that dies before releasing the name leaves an orphan claim that create and repair remove', async () => {
      const { coord, cells } = ctx.open();
      for (const name of ['cell1', 'cell2']) {
        await cells.create(cell(name));
        const dying = ctx.open(
          dyingCoordinator(
            ctx.world.client(),
            (op, key) => op === 'delete' && key.startsWith(CELL_NAMES_PREFIX),
          ),
        );
        await expect(dying.cells.delete(name)).rejects.toMatchObject({ code: 'unavailable' });
        expect(await cells.find(name)).toBeUndefined();
      }
      expect(await cells.list()).toEqual([]);
      expect(await keys(coord, CELL_NAMES_PREFIX)).toBe(2);
      // create repairs the orphan in its way …
      const again = await cells.create(cell('cell1'));
      expect(await cells.get('cell1')).toEqual(again);
      // … and repair sweeps the rest, idempotently, leaving live claims alone.
      expect(await cells.repair()).toEqual(['cell2']);
      expect(await cells.repair()).toEqual([]);
      expect((await coord.list(CELL_NAMES_PREFIX)).map((e) => e.key)).toEqual([`${CELL_NAMES_PREFIX}cell1`]);
    });
  });
}
