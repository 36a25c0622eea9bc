/**
 * Cross-cell server list: order, filters, paging, errors and down cells, as tables over a
 * few small cells (fixtures in cross-cell-list-fixtures.ts, all on a VirtualClock).
 */
import { describe, expect, it } from 'vitest';
import { CrossCellLister, type CrossCellListRequest } from '../../../cells/cross-cell-list.ts';
import { selectRows } from '../../../cells/cross-cell-sort.ts';
import type { CrossCellPage, InstanceFilters, SortKey } from '../../../cells/cross-cell-types.ts';
import { CellDirectory } from '../../../cells/directory.ts';
import { CellRegistry } from '../../../cells/lifecycle.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { FakeCells, inst, makeCell } from './cross-cell-list-fixtures.ts';

const uuids = (p: CrossCellPage) => p.servers.map((s) => s.uuid);
const ids = (p: CrossCellPage) => p.servers.map((s) => Number.parseInt(s.uuid.slice(-12), 16));

/** Three cells; instance n has createdAt 1000+n, so the default order is n descending. */
function threeCells(): FakeCells {
  return new FakeCells()
    .add(makeCell('a', 1), [inst(1), inst(4, { status: 'SHUTOFF', host: 'h2' }), inst(7, { name: 'db-7' })])
    .add(makeCell('b', 2), [inst(2, { projectId: 'p2' }), inst(5, { name: 'db-5', host: null })])
    .add(makeCell('c', 3), [inst(3, { status: 'ERROR' }), inst(6, { updatedAt: 5000 })]);
}

describe('cross-cell list: order', () => {
  it('defaults to newest first (created_at desc, uuid desc), merged across cells', async () => {
    const page = await threeCells().lister().list();
    expect(ids(page)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(page.downCells).toEqual([]);
    expect(page.next).toBeUndefined();
  });

  const orders: { keys: SortKey[]; expected: number[]; why: string }[] = [
    { keys: [{ key: 'created_at', dir: 'asc' }], expected: [1, 2, 3, 4, 5, 6, 7], why: 'oldest first' },
    // names: vm-1 vm-2 vm-3 vm-4 db-5 vm-6 db-7 → db-5, db-7, then vm-1…; uuid asc breaks no ties here
    { keys: [{ key: 'name', dir: 'asc' }], expected: [5, 7, 1, 2, 3, 4, 6], why: 'by name' },
    // status desc: SHUTOFF(4) > ERROR(3) > ACTIVE(rest, uuid asc appended)
    { keys: [{ key: 'status', dir: 'desc' }], expected: [4, 3, 1, 2, 5, 6, 7], why: 'status, then uuid asc' },
    // host asc: null (5) ranks lowest, then h1…, h2 (4)
    { keys: [{ key: 'host', dir: 'asc' }], expected: [5, 1, 2, 3, 6, 7, 4], why: 'null host first in asc' },
    // project desc then created_at desc: p2 (2) first
    {
      keys: [
        { key: 'project_id', dir: 'desc' },
        { key: 'created_at', dir: 'desc' },
      ],
      expected: [2, 7, 6, 5, 4, 3, 1],
      why: 'two keys',
    },
    { keys: [{ key: 'updated_at', dir: 'desc' }], expected: [6, 7, 5, 4, 3, 2, 1], why: 'updated_at' },
  ];
  it.each(orders)('sorts $why', async ({ keys, expected }) => {
    expect(ids(await threeCells().lister().list({ sortKeys: keys }))).toEqual(expected);
  });
});

describe('cross-cell list: filters', () => {
  const table: { filters: InstanceFilters; expected: number[] }[] = [
    { filters: { status: ['ACTIVE'] }, expected: [7, 6, 5, 2, 1] },
    { filters: { status: ['ERROR', 'SHUTOFF'] }, expected: [4, 3] },
    { filters: { host: 'h2' }, expected: [4] },
    { filters: { projectId: 'p2' }, expected: [2] },
    { filters: { name: '^db-' }, expected: [7, 5] },
    { filters: { name: '7|3' }, expected: [7, 3] }, // unanchored, like Nova's re.search
    { filters: { changesSince: 1006 }, expected: [7, 6] },
    { filters: { status: ['ACTIVE'], host: 'h1', name: 'vm' }, expected: [6, 2, 1] },
  ];
  it.each(table)('filters $filters', async ({ filters, expected }) => {
    const fake = threeCells();
    expect(ids(await fake.lister().list({ filters }))).toEqual(expected);
    // every cell is asked with the same filters, so each filters on its side
    expect(fake.asked.map((a) => a.query.filters)).toEqual([filters, filters, filters]);
  });

  it('rejects a bad name regex before asking any cell', async () => {
    const fake = threeCells();
    const err = await fake
      .lister()
      .list({ filters: { name: 'vm-(' } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/^name filter "vm-\(" is not a valid regular expression/),
    });
    expect(fake.asked).toEqual([]);
  });

  it.each([
    [{ sortKeys: [{ key: 'flavor', dir: 'asc' }] }, /invalid sort key "flavor"/],
    [{ sortKeys: [{ key: 'name', dir: 'up' }] }, /invalid sort direction "up"/],
    [
      {
        sortKeys: [
          { key: 'name', dir: 'asc' },
          { key: 'name', dir: 'desc' },
        ],
      },
      /given twice/,
    ],
    [{ limit: -1 }, /limit must be a non-negative integer/],
    [{ limit: 1.5 }, /limit must be a non-negative integer/],
  ])('rejects %j as invalid', async (req, message) => {
    await expect(
      threeCells()
        .lister()
        .list(req as unknown as CrossCellListRequest),
    ).rejects.toMatchObject({ code: 'invalid', message: expect.stringMatching(message) });
  });
});

describe('cross-cell list: paging', () => {
  it('pages with marker and limit; next is the last uuid of a page that has more after it', async () => {
    const lister = threeCells().lister();
    const p1 = await lister.list({ limit: 3 });
    expect(ids(p1)).toEqual([7, 6, 5]);
    expect(p1.next).toBe(inst(5).uuid);
    const p2 = await lister.list({ limit: 3, marker: p1.next as string });
    expect(ids(p2)).toEqual([4, 3, 2]);
    const p3 = await lister.list({ limit: 3, marker: p2.next as string });
    expect(ids(p3)).toEqual([1]);
    expect(p3.next).toBeUndefined();
  });

  it('gives no next link when the page is exactly the rest', async () => {
    const page = await threeCells().lister().list({ limit: 7 });
    expect(page.servers).toHaveLength(7);
    expect(page.next).toBeUndefined();
  });

  it('caps the limit at maxLimit and asks each cell for one row more than the page', async () => {
    const fake = threeCells();
    const page = await fake.lister({ maxLimit: 2 }).list({ limit: 50 });
    expect(ids(page)).toEqual([7, 6]);
    expect(fake.asked.map((a) => a.query.limit)).toEqual([3, 3, 3]);
    expect(await fake.lister().list({ limit: 0 })).toEqual({ servers: [], downCells: [] });
  });

  it.each([
    ['an unknown uuid', '10000000-0000-4000-8000-0000000000ff'],
    ['not a uuid', 'vm-1'],
  ])('refuses a marker that is %s: invalid (400) "marker [x] not found", as Nova', async (_, marker) => {
    await expect(threeCells().lister().list({ marker })).rejects.toMatchObject({
      code: 'invalid',
      message: `marker [${marker}] not found`,
    });
  });

  it("refuses another project's instance as marker when listing one project", async () => {
    const marker = inst(2).uuid; // project p2
    await expect(
      threeCells()
        .lister()
        .list({ marker, filters: { projectId: 'p1' } }),
    ).rejects.toMatchObject({
      code: 'invalid',
      message: `marker [${marker}] not found`,
    });
  });

  it('refuses a marker whose instance is mapped but gone from its cell', async () => {
    const fake = threeCells();
    fake.gone.add(inst(1).uuid);
    const marker = inst(1).uuid;
    await expect(fake.lister().list({ marker })).rejects.toMatchObject({
      code: 'invalid',
      message: `marker [${marker}] not found`,
    });
  });
});

describe('cross-cell list: down cells', () => {
  it('a cell that does not answer in time comes back as UNKNOWN minimal records, in place', async () => {
    const fake = threeCells().mode('b', { kind: 'hang' });
    const pending = fake.lister({ cellTimeoutMs: 3000 }).list();
    let done: CrossCellPage | undefined;
    void pending.then((p) => {
      done = p;
    });
    await fake.clock.advance(2999);
    expect(done).toBeUndefined(); // still waiting for b
    await fake.clock.advance(1);
    const page = await pending;
    expect(ids(page)).toEqual([7, 6, 5, 4, 3, 2, 1]); // default order: exact, from the mappings
    expect(page.servers.filter((s) => s.down)).toEqual([
      {
        uuid: inst(5).uuid,
        projectId: 'p1',
        createdAt: 1005,
        status: 'UNKNOWN',
        cellUuid: makeCell('b', 2).uuid,
        down: true,
      },
      {
        uuid: inst(2).uuid,
        projectId: 'p2',
        createdAt: 1002,
        status: 'UNKNOWN',
        cellUuid: makeCell('b', 2).uuid,
        down: true,
      },
    ]);
    expect(page.downCells).toEqual([
      { cellUuid: makeCell('b', 2).uuid, name: 'b', error: expect.objectContaining({ code: 'timeout' }) },
    ]);
    expect(fake.clock.pending).toBe(0); // every per-cell timer was cleared
  });

  it('a slow cell that answers within the timeout is not down', async () => {
    const fake = threeCells().mode('c', { kind: 'delay', ms: 2000 });
    const pending = fake.lister({ cellTimeoutMs: 3000 }).list();
    await fake.clock.advance(2000);
    const page = await pending;
    expect(page.downCells).toEqual([]);
    expect(page.servers.every((s) => !s.down)).toBe(true);
  });

  it.each([
    ['fails', { kind: 'fail' } as const, 'unavailable'],
    ['returns rows out of order', { kind: 'reversed' } as const, 'internal'],
  ])('a cell that %s is down, with its error', async (_, mode, code) => {
    const page = await threeCells().mode('a', mode).lister().list();
    expect(page.downCells.map((d) => [d.name, d.error.code])).toEqual([['a', code]]);
    expect(page.servers.filter((s) => s.down).map((s) => s.uuid)).toEqual([7, 4, 1].map((n) => inst(n).uuid));
  });

  it('places unknown fields at the null end: first for asc, last for desc', async () => {
    const fake = threeCells().mode('b', { kind: 'fail' });
    // name asc: b's instances (5, 2) have no known name → first, by uuid asc
    expect(ids(await fake.lister().list({ sortKeys: [{ key: 'name', dir: 'asc' }] }))).toEqual([
      2, 5, 7, 1, 3, 4, 6,
    ]);
    // status desc: unknown last, in uuid order
    expect(ids(await fake.lister().list({ sortKeys: [{ key: 'status', dir: 'desc' }] }))).toEqual([
      4, 3, 1, 6, 7, 2, 5,
    ]);
  });

  it('filters minimal records by project only (the mapping knows nothing else)', async () => {
    const fake = threeCells().mode('b', { kind: 'fail' });
    expect(ids(await fake.lister().list({ filters: { projectId: 'p2' } }))).toEqual([2]);
    // status=ERROR: c's 3 matches; b's instances may match, so they are listed as UNKNOWN
    expect(ids(await fake.lister().list({ filters: { status: ['ERROR'] } }))).toEqual([5, 3, 2]);
  });

  it('a marker in a down cell resolves to its minimal record; that cell is asked once', async () => {
    const fake = threeCells().mode('b', { kind: 'fail' });
    const page = await fake.lister().list({ marker: inst(5).uuid, limit: 2 });
    expect(ids(page)).toEqual([4, 3]);
    expect(page.downCells.map((d) => d.name)).toEqual(['b']);
    expect(fake.asked.map((a) => a.cell)).toEqual(['a', 'c']);
    expect(ids(await fake.lister().list({ marker: page.next as string }))).toEqual([2, 1]);
  });
});

describe('cross-cell list with the real cell directory and memberships', () => {
  it('still lists the instances of a disabled cell (it keeps serving them)', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const coord = new MemoryCoordinationServer(clock).client();
    const registry = new CellRegistry(coord, { clock, mappingStore: new MemoryStore() });
    const memberships = registry.memberships;
    const a = await registry.create({ name: 'cell-a', transport: 'cp.a', store: 'redis://127.0.0.1:1' });
    const b = await registry.create({ name: 'cell-b', transport: 'cp.b', store: 'redis://127.0.0.1:2' });
    const rows = new Map([
      [a.uuid, [inst(1), inst(3)]],
      [b.uuid, [inst(2)]],
    ]);
    for (const [cell, list] of rows)
      for (const r of list) await memberships.mapInstance(r.uuid, cell, r.projectId);
    await registry.disable('cell-b', 'maintenance');
    const dir = await CellDirectory.open(coord);
    try {
      expect(dir.accepting().map((c) => c.name)).toEqual(['cell-a']);
      const source = {
        list: async (cell: { uuid: string }, q: Parameters<typeof selectRows>[1]) =>
          selectRows(rows.get(cell.uuid) ?? [], q),
        get: async (cell: { uuid: string }, uuid: string) =>
          rows.get(cell.uuid)?.find((r) => r.uuid === uuid),
      };
      const lister = new CrossCellLister({ cells: dir, mappings: memberships, source, clock });
      const page = await lister.list({ sortKeys: [{ key: 'created_at', dir: 'asc' }], limit: 2 });
      expect(ids(page)).toEqual([1, 2]);
      expect(
        uuids(
          await lister.list({ sortKeys: [{ key: 'created_at', dir: 'asc' }], marker: page.next as string }),
        ),
      ).toEqual([inst(3).uuid]);
    } finally {
      await dir.close();
      await coord.close();
    }
  });
});
