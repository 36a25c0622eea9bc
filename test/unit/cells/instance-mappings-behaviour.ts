/**
 * Part of the cells behaviour suite (cells-behaviour.ts), run on the memory coordinator and store
 * and on real etcd and Redis: the instance→cell mappings in the API layer's store
 * (cells/instance-mappings.ts) — one cell per instance, an index per cell, and the crash-safety
 * rules with the cell record in the coordinator and the mapping in the store: no instance lands in
 * a cell after its disable committed, no mapping outlives its cell. Also the upgrade path from
 * mappings an earlier version kept in the coordinator (cells/instance-mappings-move.ts).
 */
import { describe, expect, it } from 'vitest';
import { MAPPING_STORE_WAIT_MS } from '../../../cells/instance-mappings.ts';
import { MOVE_LOCK_KEY, moveLegacyInstanceMappings } from '../../../cells/instance-mappings-move.ts';
import {
  CELLS_PREFIX,
  INSTANCE_MAPPINGS_PREFIX,
  InstanceMappingMessage,
  instanceMappingKey,
} from '../../../cells/mapping.ts';
import { encode } from '../../../core/codec/envelope.ts';
import { CellplaneError } from '../../../core/errors.ts';
import type { Coordinator } from '../../../core/ports/coordinator.ts';
import type { Store, WriteOp } from '../../../core/ports/store.ts';
import { type CellsWorldFactory, cell, dyingCoordinator, useCells } from './cells-world.ts';

/** Instance uuids 1, 2, … in uuid order. */
const I = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A store whose first commit writing an instance mapping runs `before` first (and waits for it). */
function beforeMappingCommit(inner: Store, before: () => Promise<unknown>): Store {
  let fired = false;
  const writesMapping = (ops: readonly WriteOp[]) =>
    ops.some((o) => o.op === 'put' && o.key.startsWith('cells.instance-mapping/'));
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop !== 'commit') return value.bind(target);
      return async (ops: readonly WriteOp[]) => {
        if (!fired && writesMapping(ops)) {
          fired = true;
          await before();
        }
        return value.call(target, ops);
      };
    },
  });
}

/** A client whose first read of a legacy mapping runs `before` first (and waits for it). */
function beforeLegacyGet(inner: Coordinator, before: () => Promise<unknown>): Coordinator {
  let fired = false;
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop !== 'get') return value.bind(target);
      return async (key: string) => {
        if (!fired && key.startsWith(INSTANCE_MAPPINGS_PREFIX)) {
          fired = true;
          await before();
        }
        return value.call(target, key);
      };
    },
  });
}

/** What an earlier version wrote: the mapping as a key in the coordinator. */
async function legacyMap(coord: Coordinator, instanceUuid: string, cellUuid: string, projectId = 'p') {
  const m = { instanceUuid, cellUuid, projectId, mappedAt: 1_700_000_000_000 };
  const res = await coord.cas(instanceMappingKey(instanceUuid), encode(InstanceMappingMessage, m), 0);
  expect(res.ok).toBe(true);
  return m;
}

export function instanceMappingsBehaviour(factory: CellsWorldFactory): void {
  describe("instance mappings in the API layer's store", () => {
    const ctx = useCells(factory);

    it('maps an instance to one cell: the same cell again is a no-op, another cell a conflict naming it', async () => {
      const { cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      const b = await cells.create(cell('cell-b'));
      const before = Math.round(ctx.world.clock.now());
      const m = await cells.memberships.mapInstance(I(1), a.uuid, 'project-1');
      expect(m).toMatchObject({ instanceUuid: I(1), cellUuid: a.uuid, projectId: 'project-1' });
      expect(m.mappedAt).toBeGreaterThanOrEqual(before);
      expect(m.mappedAt).toBeLessThanOrEqual(Math.round(ctx.world.clock.now()));
      expect(await cells.memberships.mapInstance(I(1), a.uuid, 'project-1')).toEqual(m);
      await expect(cells.memberships.mapInstance(I(1), b.uuid, 'project-1')).rejects.toMatchObject({
        code: 'conflict',
        retryable: false,
        message: `instance ${I(1)} is already mapped to cell "cell-a" (${a.uuid}); unmap it first`,
      });
      expect(await ctx.open().cells.memberships.instanceMapping(I(1))).toEqual(m);
    });

    it('refuses what is not a mapping: a bad uuid or project (invalid), an unknown cell (notFound)', async () => {
      const { cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      await expect(cells.memberships.mapInstance('nope', a.uuid, 'p')).rejects.toMatchObject({
        code: 'invalid',
      });
      await expect(cells.memberships.mapInstance(I(1), a.uuid, '')).rejects.toMatchObject({
        code: 'invalid',
      });
      await expect(cells.memberships.mapInstance(I(1), I(9), 'p')).rejects.toMatchObject({
        code: 'notFound',
      });
      expect(await cells.memberships.instanceMapping(I(1))).toBeUndefined();
    });

    it('keeps an index per cell: counts and lists see only that cell, in uuid order, and follow unmaps', async () => {
      const { cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      const b = await cells.create(cell('cell-b'));
      for (const n of [3, 1, 2]) await cells.memberships.mapInstance(I(n), a.uuid, 'p');
      await cells.memberships.mapInstance(I(4), b.uuid, 'q');
      expect((await cells.memberships.instanceMappings(a.uuid)).map((m) => m.instanceUuid)).toEqual([
        I(1),
        I(2),
        I(3),
      ]);
      expect(await cells.memberships.instanceMappings(b.uuid)).toMatchObject([
        { instanceUuid: I(4), projectId: 'q' },
      ]);
      expect(await cells.memberships.count(a.uuid)).toEqual({ hosts: 0, instances: 3 });
      // Only the given cell's mapping is removed; twice is a no-op.
      expect(await cells.memberships.unmapInstance(I(2), b.uuid)).toBe(false);
      expect(await cells.memberships.unmapInstance(I(2), a.uuid)).toBe(true);
      expect(await cells.memberships.unmapInstance(I(2), a.uuid)).toBe(false);
      expect(await cells.memberships.count(a.uuid)).toEqual({ hosts: 0, instances: 2 });
      expect((await cells.memberships.instanceMappings(a.uuid)).map((m) => m.instanceUuid)).toEqual([
        I(1),
        I(3),
      ]);
    });

    it('no instance lands in a cell whose disable committed while it was being mapped: the re-check undoes it', async () => {
      const admin = ctx.open();
      const a = await admin.cells.create(cell('cell-a'));
      // The mapper read the cell (enabled); the disable commits; then the mapper writes.
      const mapper = ctx.open(
        undefined,
        beforeMappingCommit(ctx.world.mappingStore, () => admin.cells.disable('cell-a', 'draining')),
      );
      await expect(mapper.cells.memberships.mapInstance(I(1), a.uuid, 'p')).rejects.toMatchObject({
        code: 'conflict',
        retryable: false,
        message: 'cell "cell-a" was disabled meanwhile; nothing was mapped',
      });
      expect(await admin.cells.memberships.instanceMapping(I(1))).toBeUndefined();
      expect(await admin.cells.memberships.count(a.uuid)).toEqual({ hosts: 0, instances: 0 });
      expect(await admin.cells.memberships.instanceMappings(a.uuid)).toEqual([]);
    });

    it('a re-check that cannot read the cell removes the mapping: a failed map leaves nothing', async () => {
      const admin = ctx.open();
      const a = await admin.cells.create(cell('cell-a'));
      let cellReads = 0;
      // The coordinator stops answering between the write and the re-check (the check before it worked).
      const mapper = ctx.open(
        dyingCoordinator(
          ctx.world.client(),
          (op, key) => op === 'get' && key.startsWith(CELLS_PREFIX) && ++cellReads === 2,
        ),
      );
      await expect(mapper.cells.memberships.mapInstance(I(1), a.uuid, 'p')).rejects.toMatchObject({
        code: 'unavailable',
      });
      expect(await admin.cells.memberships.instanceMapping(I(1))).toBeUndefined();
      expect(await admin.cells.memberships.count(a.uuid)).toEqual({ hosts: 0, instances: 0 });
    });

    it('a store that does not answer for a while is waited out; one that lands a write unseen is found as ours', async () => {
      const admin = ctx.open();
      const a = await admin.cells.create(cell('cell-a'));
      // Two mapping writes fail as `unavailable` (a Redis restart): the second one landed first.
      let failures = 0;
      const flaky = new Proxy(ctx.world.mappingStore, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          if (prop !== 'commit') return value.bind(target);
          return async (ops: readonly WriteOp[]) => {
            const mapping = ops.some((o) => o.op === 'put' && o.key.startsWith('cells.instance-mapping/'));
            if (mapping && failures < 2) {
              if (++failures === 2) await value.call(target, ops);
              throw new CellplaneError('unavailable', 'redis unavailable during commit');
            }
            return value.call(target, ops);
          };
        },
      }) as Store;
      const mapper = ctx.open(undefined, flaky);
      let mapped: unknown;
      const pending = mapper.cells.memberships.mapInstance(I(1), a.uuid, 'p').then((m) => {
        mapped = m;
      });
      await ctx.world.eventually('the mapping is made', MAPPING_STORE_WAIT_MS, () => mapped !== undefined);
      await pending;
      expect(failures).toBe(2);
      expect(mapped).toMatchObject({ instanceUuid: I(1), cellUuid: a.uuid, projectId: 'p' });
      expect(await admin.cells.memberships.count(a.uuid)).toEqual({ hosts: 0, instances: 1 });
    });

    it('a mapping that committed before the disable stays: the cell keeps serving it', async () => {
      const { cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      const m = await cells.memberships.mapInstance(I(1), a.uuid, 'p');
      await cells.disable('cell-a');
      expect(await cells.memberships.instanceMapping(I(1))).toEqual(m);
      await expect(cells.memberships.mapInstance(I(2), a.uuid, 'p')).rejects.toMatchObject({
        code: 'conflict',
        message: 'cell "cell-a" is disabled: it takes no new instances',
      });
    });

    it('no mapping outlives its cell: a whole delete that runs while an instance is being mapped', async () => {
      const admin = ctx.open();
      const a = await admin.cells.create(cell('cell-a'));
      const mapper = ctx.open(
        undefined,
        beforeMappingCommit(ctx.world.mappingStore, () => admin.cells.delete('cell-a')),
      );
      await expect(mapper.cells.memberships.mapInstance(I(1), a.uuid, 'p')).rejects.toMatchObject({
        code: 'conflict',
        message: 'cell "cell-a" was deleted or is being deleted; nothing was mapped',
      });
      expect(await admin.cells.find('cell-a')).toBeUndefined();
      expect(await admin.cells.memberships.instanceMapping(I(1))).toBeUndefined();
      expect(await admin.cells.memberships.instanceMappings(a.uuid)).toEqual([]);
    });

    it('a delete refuses while instances map to the cell, counting them from its index', async () => {
      const { cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      for (const n of [1, 2]) await cells.memberships.mapInstance(I(n), a.uuid, 'p');
      await expect(cells.delete('cell-a')).rejects.toMatchObject({
        code: 'conflict',
        details: { hosts: 0, instances: 2 },
      });
      expect((await cells.get('cell-a')).state).toBe('ready');
      for (const n of [1, 2]) await cells.memberships.unmapInstance(I(n));
      await cells.delete('cell-a');
    });

    it('a delete that cannot count the instances (the store does not answer) refuses and leaves the cell taking them', async () => {
      const { cells } = ctx.open();
      await cells.create(cell('cell-a'));
      const down = new Proxy(ctx.world.mappingStore, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (prop === 'count')
            return async () => Promise.reject(new CellplaneError('unavailable', 'Redis down'));
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const blind = ctx.open(undefined, down);
      await expect(blind.cells.delete('cell-a')).rejects.toMatchObject({ code: 'unavailable' });
      expect(await cells.get('cell-a')).toMatchObject({ state: 'ready', disabled: false });
    });

    legacyBehaviour(ctx);
  });
}

/** Mappings an earlier version wrote to the coordinator. */
function legacyBehaviour(ctx: ReturnType<typeof useCells>): void {
  describe('mappings an earlier version left in the coordinator', () => {
    it('are read, counted (a delete refuses), listed and unmapped where they are', async () => {
      const { coord, cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      const m = await legacyMap(coord, I(2), a.uuid);
      await cells.memberships.mapInstance(I(1), a.uuid, 'p');
      expect(await cells.memberships.instanceMapping(I(2))).toEqual(m);
      expect(await cells.memberships.count(a.uuid)).toEqual({ hosts: 0, instances: 2 });
      expect((await cells.memberships.instanceMappings(a.uuid)).map((x) => x.instanceUuid)).toEqual([
        I(1),
        I(2),
      ]);
      await cells.memberships.unmapInstance(I(1));
      await expect(cells.delete('cell-a')).rejects.toMatchObject({ details: { instances: 1 } });
      expect(await cells.memberships.unmapInstance(I(2), a.uuid)).toBe(true);
      expect(await coord.list(INSTANCE_MAPPINGS_PREFIX)).toEqual([]);
      await cells.delete('cell-a');
    });

    it('move into the store: idempotent, finishing an interrupted move; a conflicting one is reported and left', async () => {
      const { coord, cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      const b = await cells.create(cell('cell-b'));
      const instances = cells.memberships.instances;
      const moved = await legacyMap(coord, I(1), a.uuid);
      const interrupted = await legacyMap(coord, I(2), a.uuid);
      await instances.restore(interrupted); // a move that died between its two steps
      const conflicting = await legacyMap(coord, I(3), a.uuid); // … while the store maps I(3) elsewhere
      await instances.restore({ ...interrupted, instanceUuid: I(3), cellUuid: b.uuid });

      expect(await moveLegacyInstanceMappings(coord, instances)).toEqual({
        moved: 1,
        alreadyMoved: 1,
        unmappedMeanwhile: 0,
        conflicts: [{ instanceUuid: I(3), etcdCell: a.uuid, storeCell: b.uuid }],
      });
      expect((await coord.list(INSTANCE_MAPPINGS_PREFIX)).map((e) => e.key)).toEqual([
        instanceMappingKey(I(3)),
      ]);
      expect(await cells.memberships.instanceMapping(I(1))).toEqual(moved);
      expect((await cells.memberships.instanceMapping(I(3)))?.cellUuid).toBe(b.uuid); // the store's wins
      // Until the operator settles it, the one left in the coordinator still counts for its cell.
      expect(await instances.ofCell(a.uuid)).toEqual([moved, interrupted, conflicting]);
      expect(await instances.count(a.uuid)).toBe(3);
      const again = await moveLegacyInstanceMappings(coord, instances);
      expect(again).toMatchObject({ moved: 0, alreadyMoved: 0, conflicts: [{ instanceUuid: I(3) }] });
    });

    it('an unmap that removes one while it is being moved leaves it in neither place', async () => {
      const { coord, cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      await legacyMap(coord, I(1), a.uuid);
      const deleter = ctx.open();
      // The mover listed the coordinator; the instance's delete unmaps it there; then the mover copies it.
      const mover = ctx.open(
        undefined,
        beforeMappingCommit(ctx.world.mappingStore, async () =>
          expect(await deleter.cells.memberships.unmapInstance(I(1), a.uuid)).toBe(true),
        ),
      );
      const report = await moveLegacyInstanceMappings(coord, mover.cells.memberships.instances);
      expect(report).toMatchObject({ moved: 0, unmappedMeanwhile: 1 });
      expect(await cells.memberships.instanceMapping(I(1))).toBeUndefined();
      expect(await cells.memberships.count(a.uuid)).toEqual({ hosts: 0, instances: 0 });
    });

    it('an unmap that looks while a whole move carries it into the store still removes it', async () => {
      const { coord, cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      await legacyMap(coord, I(1), a.uuid);
      // The deleter missed it in the store; the move runs whole; then the deleter looks in the coordinator.
      const deleter = ctx.open(
        beforeLegacyGet(ctx.world.client(), async () =>
          expect(await moveLegacyInstanceMappings(coord, cells.memberships.instances)).toMatchObject({
            moved: 1,
          }),
        ),
      );
      expect(await deleter.cells.memberships.unmapInstance(I(1), a.uuid)).toBe(true);
      expect(await cells.memberships.instanceMapping(I(1))).toBeUndefined();
      expect(await cells.memberships.count(a.uuid)).toEqual({ hosts: 0, instances: 0 });
    });

    it('one move at a time: another one holding the lock is a retryable conflict', async () => {
      const { coord, cells } = ctx.open();
      const a = await cells.create(cell('cell-a'));
      await legacyMap(coord, I(1), a.uuid);
      expect((await coord.cas(MOVE_LOCK_KEY, new Uint8Array([1]), 0)).ok).toBe(true);
      await expect(moveLegacyInstanceMappings(coord, cells.memberships.instances)).rejects.toMatchObject({
        code: 'conflict',
        retryable: true,
      });
      await coord.delete(MOVE_LOCK_KEY);
      expect(await moveLegacyInstanceMappings(coord, cells.memberships.instances)).toMatchObject({
        moved: 1,
      });
    });
  });
}
