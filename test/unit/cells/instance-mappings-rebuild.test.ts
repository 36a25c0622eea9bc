/**
 * Instance mappings rebuilt from the cells' records after the API layer's store lost them
 * (cells/instance-mappings-rebuild.ts): every record gets its mapping back, one purged by a
 * delete meanwhile does not keep one, an instance mapped to another cell is left alone, and a
 * cell that cannot be read is named (the repair runs again).
 */
import { describe, expect, it } from 'vitest';
import { rebuildInstanceMappings } from '../../../cells/instance-mappings-rebuild.ts';
import { InstanceStore, newInstanceRecord } from '../../../cells/instances.ts';
import { CellRegistry } from '../../../cells/lifecycle.ts';
import type { CellRecord } from '../../../cells/mapping.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { CellplaneError } from '../../../core/errors.ts';
import type { Store, WriteOp } from '../../../core/ports/store.ts';

const I = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const CREATED = '2030-01-01T00:00:00.000Z';
const FLAVOR = { id: '1', name: 't', vcpus: 1, ram: 512, disk: 1, ephemeral: 0, swap: 0, extraSpecs: {} };

async function world(mappingStore: Store = new MemoryStore()) {
  const clock = new VirtualClock(Date.parse(CREATED));
  const coordinator = new MemoryCoordinationServer(clock).client();
  const registry = new CellRegistry(coordinator, { clock, mappingStore });
  const cells = [
    await registry.create({ name: 'cell1', transport: 'cp.cell1', store: 'memory://cell1' }),
    await registry.create({ name: 'cell2', transport: 'cp.cell2', store: 'memory://cell2' }),
  ];
  const stores = new Map(cells.map((c) => [c.uuid, new InstanceStore(new MemoryStore())]));
  const record = (cell: CellRecord, n: number, projectId = 'p') =>
    stores.get(cell.uuid)!.create(
      newInstanceRecord(
        {
          uuid: I(n),
          name: `s${n}`,
          projectId,
          userId: 'u',
          flavor: FLAVOR,
          imageRef: 'i',
          requestId: 'r',
        },
        CREATED,
      ),
    );
  const source = { cells: () => cells, instances: async (c: CellRecord) => stores.get(c.uuid)! };
  return { registry, cells, stores, record, source, mappings: registry.memberships.instances };
}

describe('rebuildInstanceMappings', () => {
  it('gives every record its mapping back: its cell, its project, mappedAt = its creation', async () => {
    const w = await world();
    await w.record(w.cells[0]!, 1, 'p1');
    await w.record(w.cells[0]!, 2, 'p2');
    await w.record(w.cells[1]!, 3, 'p1');
    expect(await rebuildInstanceMappings(w.source, w.mappings)).toEqual({
      restored: 3,
      elsewhere: [],
      failed: [],
    });
    expect(await w.mappings.ofCell(w.cells[0]!.uuid)).toEqual([
      { instanceUuid: I(1), cellUuid: w.cells[0]!.uuid, projectId: 'p1', mappedAt: Date.parse(CREATED) },
      { instanceUuid: I(2), cellUuid: w.cells[0]!.uuid, projectId: 'p2', mappedAt: Date.parse(CREATED) },
    ]);
    expect(await w.mappings.count(w.cells[1]!.uuid)).toBe(1);
    // Run again: nothing to do.
    expect(await rebuildInstanceMappings(w.source, w.mappings)).toMatchObject({ restored: 0 });
  });

  it('does not map back a record a delete purged meanwhile (its unmap found nothing to remove)', async () => {
    const inner = new MemoryStore();
    let purge: (() => Promise<unknown>) | undefined;
    // Before the mapping of I(2) is written back, its delete purges the record.
    const hooked = new Proxy(inner, {
      get(t, prop) {
        const v = Reflect.get(t, prop, t);
        if (prop !== 'commit') return typeof v === 'function' ? v.bind(t) : v;
        return async (ops: readonly WriteOp[]) => {
          if (purge && ops.some((o) => o.op === 'put' && o.key.endsWith(I(2)))) {
            const p = purge;
            purge = undefined;
            await p();
          }
          return inner.commit(ops);
        };
      },
    });
    const w = await world(hooked);
    for (const n of [1, 2, 3]) await w.record(w.cells[0]!, n);
    const records = w.stores.get(w.cells[0]!.uuid)!;
    purge = async () => records.purge((await records.get(I(2)))!);
    expect(await rebuildInstanceMappings(w.source, w.mappings)).toMatchObject({ restored: 2 });
    expect((await w.mappings.ofCell(w.cells[0]!.uuid)).map((m) => m.instanceUuid)).toEqual([I(1), I(3)]);
  });

  it('leaves an instance mapped to another cell alone, and names a cell it could not read', async () => {
    const w = await world();
    await w.record(w.cells[0]!, 1);
    await w.registry.memberships.mapInstance(I(1), w.cells[1]!.uuid, 'p');
    const down = {
      ...w.source,
      instances: async (c: CellRecord) => {
        if (c.name === 'cell2') throw new CellplaneError('unavailable', 'store down');
        return w.stores.get(c.uuid)!;
      },
    };
    expect(await rebuildInstanceMappings(down, w.mappings)).toEqual({
      restored: 0,
      elsewhere: [I(1)],
      failed: [{ cell: 'cell2', error: 'store down' }],
    });
    expect((await w.mappings.get(I(1)))?.cellUuid).toBe(w.cells[1]!.uuid);
  });
});
