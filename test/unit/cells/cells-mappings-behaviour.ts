/**
 * Part of the cells behaviour suite (cells-behaviour.ts): host and instance mappings,
 * delete refused while they remain (also when a mapping races the delete), and the
 * watch-driven CellDirectory.
 */
import { describe, expect, it } from 'vitest';
import { type CellChange, CellDirectory } from '../../../cells/directory.ts';
import { HOST_MAPPINGS_PREFIX } from '../../../cells/mapping.ts';
import type { Coordinator } from '../../../core/ports/coordinator.ts';
import { type CellsWorldFactory, cell, dyingCoordinator, useCells } from './cells-world.ts';

const INSTANCE_1 = '11111111-1111-4111-8111-111111111111';
const INSTANCE_2 = '22222222-2222-4222-8222-222222222222';

export function cellsMappingsBehaviour(factory: CellsWorldFactory): void {
  describe('host and instance mappings', () => {
    const ctx = useCells(factory);

    it('maps a host to one cell only: the same cell again is a no-op, another cell is a conflict', async () => {
      const { cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      const b = await cells.create(cell('cell-b'));
      const m = await cells.memberships.mapHost('compute-1', a.uuid);
      expect(await cells.memberships.mapHost('compute-1', a.uuid)).toEqual(m);
      await expect(cells.memberships.mapHost('compute-1', b.uuid)).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringContaining('already mapped to cell "cell-a"'),
      });
      expect(await cells.memberships.hostMapping('compute-1')).toEqual(m);
      expect(await cells.memberships.unmapHost('compute-1', b.uuid)).toBe(false);
      expect(await cells.memberships.unmapHost('compute-1')).toBe(true);
      expect((await cells.memberships.mapHost('compute-1', b.uuid)).cellUuid).toBe(b.uuid);
    });

    it('lets exactly one of two clients racing to map a host win', async () => {
      const x = ctx.open();
      const y = ctx.open();
      const a = await x.cells.create(cell('cell-a'));
      const b = await x.cells.create(cell('cell-b'));
      const results = await Promise.allSettled([
        x.cells.memberships.mapHost('compute-1', a.uuid),
        y.cells.memberships.mapHost('compute-1', b.uuid),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const winner = results.find((r) => r.status === 'fulfilled')!.value;
      expect(await y.cells.memberships.hostMapping('compute-1')).toEqual(winner);
    });

    it('maps instances with their project; a disabled cell takes no new ones but keeps its own', async () => {
      const { cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      const m = await cells.memberships.mapInstance(INSTANCE_1, a.uuid, 'project-1');
      expect(m).toMatchObject({ instanceUuid: INSTANCE_1, cellUuid: a.uuid, projectId: 'project-1' });
      await cells.disable('cell-a', 'draining');
      await expect(cells.memberships.mapInstance(INSTANCE_2, a.uuid, 'project-1')).rejects.toMatchObject({
        code: 'conflict',
        message: 'cell "cell-a" is disabled (draining): it takes no new instances',
      });
      expect(await cells.memberships.instanceMapping(INSTANCE_1)).toEqual(m);
      await expect(cells.memberships.mapHost('compute-9', a.uuid)).resolves.toMatchObject({
        host: 'compute-9',
      });
      await expect(cells.memberships.mapHost('compute-1', INSTANCE_2)).rejects.toMatchObject({
        code: 'notFound',
      });
    });

    it('refuses to delete a cell while mappings point at it, naming how many, and leaves it ready', async () => {
      const { cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      const b = await cells.create(cell('cell-b'));
      await cells.memberships.mapHost('compute-1', a.uuid);
      await cells.memberships.mapHost('compute-2', a.uuid);
      await cells.memberships.mapHost('compute-3', b.uuid);
      await cells.memberships.mapInstance(INSTANCE_1, a.uuid, 'p');
      await expect(cells.delete('cell-a')).rejects.toMatchObject({
        code: 'conflict',
        retryable: false,
        message: expect.stringContaining('still has 2 host mapping(s) and 1 instance mapping(s)'),
        details: { hosts: 2, instances: 1 },
      });
      expect((await cells.get('cell-a')).state).toBe('ready');
      await cells.memberships.unmapHost('compute-1');
      await cells.memberships.unmapHost('compute-2');
      await expect(cells.delete('cell-a')).rejects.toMatchObject({ details: { hosts: 0, instances: 1 } });
      await cells.memberships.unmapInstance(INSTANCE_1);
      await cells.delete('cell-a');
      expect((await cells.list()).map((c) => c.name)).toEqual(['cell-b']);
    });

    it('never leaves a mapping pointing at a deleted cell when mapping races the delete', async () => {
      const { coord, cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      // The mapper reads the cell (ready), then the whole delete runs, then the mapper writes.
      let deleted: Promise<unknown> | undefined;
      const racer = ctx.open(
        hookBefore(ctx.world.client(), 'cas', HOST_MAPPINGS_PREFIX, () => {
          deleted ??= cells.delete('cell-a');
          return deleted;
        }),
      );
      await expect(racer.cells.memberships.mapHost('compute-1', a.uuid)).rejects.toMatchObject({
        code: 'conflict',
      });
      await deleted;
      expect(await cells.find('cell-a')).toBeUndefined();
      expect(await coord.list(HOST_MAPPINGS_PREFIX)).toEqual([]);
    });

    it('a delete that dies after marking the cell is finished by running delete again', async () => {
      const { cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      const dying = ctx.open(
        dyingCoordinator(ctx.world.client(), (op, key) => op === 'list' && key === HOST_MAPPINGS_PREFIX),
      );
      await expect(dying.cells.delete('cell-a')).rejects.toMatchObject({ code: 'unavailable' });
      expect((await cells.get('cell-a')).state).toBe('deleting');
      await expect(cells.memberships.mapHost('compute-1', a.uuid)).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringContaining('is being deleted'),
      });
      await cells.delete('cell-a');
      expect(await cells.list()).toEqual([]);
    });
  });
}

export function cellsDirectoryBehaviour(factory: CellsWorldFactory): void {
  describe('CellDirectory', () => {
    const ctx = useCells(factory);

    it('starts from the existing cells and follows adds, disables, enables and deletes', async () => {
      const admin = ctx.open();
      const a = await admin.cells.create(cell('cell-a'));
      const dir = await CellDirectory.open(ctx.open().coord);
      try {
        const changes: string[] = [];
        dir.onChange((c: CellChange) => changes.push(`${c.type} ${c.cell.name}`));
        expect(dir.list()).toEqual([a]);

        const b = await admin.cells.create(cell('cell-b'));
        await ctx.world.eventually('cell-b appears', 5000, () => dir.get(b.uuid) !== undefined);
        expect(dir.byName('cell-b')).toEqual(b);

        await admin.cells.disable('cell-a', 'maintenance');
        await ctx.world.eventually('cell-a disabled', 5000, () => dir.get(a.uuid)?.disabled === true);
        expect(dir.accepting().map((c) => c.name)).toEqual(['cell-b']);

        await expect(admin.cells.create(cell('cell-b'))).rejects.toMatchObject({ code: 'conflict' });
        await admin.cells.enable('cell-a');
        await admin.cells.delete('cell-b');
        await ctx.world.eventually('cell-b gone', 5000, () => dir.get(b.uuid) === undefined);
        expect(dir.accepting().map((c) => c.name)).toEqual(['cell-a']);
        // A refused duplicate never shows up, not even while it was pending.
        expect(changes.filter((c) => !c.startsWith('updated'))).toEqual(['added cell-b', 'removed cell-b']);
        expect(changes).toContain('updated cell-a');
      } finally {
        await dir.close();
      }
    });

    it('misses nothing written while it is opening, before or after its initial list', async () => {
      const admin = ctx.open();
      const created = [await admin.cells.create(cell('c1'))];
      // c2 is written after the watch opened but before the list (in both), c3 after the list (watch only).
      const opening = ctx.open(
        hookAround(ctx.world.client(), 'list', {
          before: async () => void created.push(await admin.cells.create(cell('c2'))),
          after: async () => void created.push(await admin.cells.create(cell('c3'))),
        }),
      );
      const dir = await CellDirectory.open(opening.coord);
      try {
        await ctx.world.eventually('all three cells seen', 5000, () => dir.list().length === 3);
        expect(dir.list()).toEqual(created);
        await admin.cells.disable('c2');
        await ctx.world.eventually('c2 disabled', 5000, () => dir.byName('c2')?.disabled === true);
      } finally {
        await dir.close();
      }
    });
  });
}

/** Runs `before` ahead of the first `op` on a key under `prefix`, and waits for it. */
function hookBefore(
  inner: Coordinator,
  op: 'cas',
  prefix: string,
  before: () => Promise<unknown>,
): Coordinator {
  let fired = false;
  return hookAround(inner, op, {
    before: async (key) => {
      if (fired || !key.startsWith(prefix)) return;
      fired = true;
      await before().catch(() => {});
    },
  });
}

/** A client whose `op` runs `before` and `after` hooks (awaited) around the real call. */
function hookAround(
  inner: Coordinator,
  op: 'cas' | 'list',
  hooks: { before?: (key: string) => Promise<void>; after?: (key: string) => Promise<void> },
): Coordinator {
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop !== op) return value.bind(target);
      return async (key: string, ...rest: unknown[]) => {
        await hooks.before?.(key);
        const result = await (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
        await hooks.after?.(key);
        return result;
      };
    },
  });
}
