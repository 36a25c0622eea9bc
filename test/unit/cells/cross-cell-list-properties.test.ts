/**
 * Safety properties of the cross-cell list over random cells, instances, sort orders and
 * filters (fast-check prints the seed and the shrunk case of any failure; pass `seed` in
 * RUN to replay). Values are drawn from small sets so that ties on every key are common.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeSorted } from '../../../cells/cross-cell-merge.ts';
import { compareTuples, normalizeSortKeys, selectRows, sortTuple } from '../../../cells/cross-cell-sort.ts';
import {
  type InstanceFilters,
  type InstanceSummary,
  type ListedServer,
  SORT_KEYS,
  type SortKey,
  type SortValue,
} from '../../../cells/cross-cell-types.ts';
import { FakeCells, makeCell } from './cross-cell-list-fixtures.ts';

const RUN = { numRuns: 150 };
/** Pages a paging run may take before the test calls it a loop. */
const MAX_PAGES = 500;

const instanceArb: fc.Arbitrary<InstanceSummary> = fc.record({
  uuid: fc.uuid(),
  name: fc.constantFrom('a', 'b', 'ab', 'web-1'),
  status: fc.constantFrom('ACTIVE', 'ERROR', 'SHUTOFF'),
  host: fc.constantFrom('h1', 'h2', null),
  projectId: fc.constantFrom('p1', 'p2'),
  createdAt: fc.integer({ min: 0, max: 4 }),
  updatedAt: fc.integer({ min: 0, max: 4 }),
});

/** 1–5 cells, each instance in one of them. */
const worldArb = fc
  .record({
    cells: fc.integer({ min: 1, max: 5 }),
    instances: fc.uniqueArray(fc.tuple(instanceArb, fc.nat()), { maxLength: 40, selector: ([i]) => i.uuid }),
  })
  .map(({ cells, instances }) => {
    const fake = new FakeCells();
    for (let c = 0; c < cells; c++) {
      fake.add(
        makeCell(`c${c}`, c + 1),
        instances.filter(([, n]) => n % cells === c).map(([i]) => i),
      );
    }
    return fake;
  });

const sortArb: fc.Arbitrary<SortKey[]> = fc.uniqueArray(
  fc.record({ key: fc.constantFrom(...SORT_KEYS), dir: fc.constantFrom('asc' as const, 'desc' as const) }),
  { maxLength: 3, selector: (k) => k.key },
);

const filtersArb: fc.Arbitrary<InstanceFilters> = fc.record(
  {
    status: fc.subarray(['ACTIVE', 'ERROR', 'SHUTOFF']),
    projectId: fc.constantFrom('p1', 'p2'),
    host: fc.constantFrom('h1', 'h2'),
    name: fc.constantFrom('^a', 'b$', '-'),
  },
  { requiredKeys: [] },
);

/** Written apart from the production comparator: null lowest, then natural order, per key. */
function naiveBefore(a: readonly SortValue[], b: readonly SortValue[], keys: readonly SortKey[]): number {
  for (let i = 0; i < keys.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    const asc = x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
    return keys[i]?.dir === 'desc' ? -asc : asc;
  }
  return 0;
}

/** Follows `next` links with the given limits (cycled) and returns every row seen, in order. */
async function pageThrough(
  fake: FakeCells,
  req: { sortKeys: SortKey[]; filters: InstanceFilters },
  limits: number[],
): Promise<ListedServer[]> {
  const lister = fake.lister();
  const seen: ListedServer[] = [];
  let marker: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const limit = limits[i % limits.length] as number;
    const page = await lister.list({ ...req, limit, ...(marker ? { marker } : {}) });
    seen.push(...page.servers);
    if (page.next === undefined) return seen;
    expect(page.servers).toHaveLength(limit); // a next link only follows a full page
    marker = page.next;
  }
  throw new Error(`paging did not end within ${MAX_PAGES} pages`);
}

describe('cross-cell list: safety properties', () => {
  it('safety: a k-way merge of sorted lists equals sorting their union', () => {
    const listsArb = fc.array(fc.array(fc.integer({ min: 0, max: 20 })), { maxLength: 6 });
    fc.assert(
      fc.property(listsArb, fc.nat({ max: 80 }), (raw, limit) => {
        // tag values with a unique id so that ties between lists are visible
        const lists = raw.map((l, li) =>
          [...l].sort((a, b) => a - b).map((v, i) => ({ v, id: `${li}:${i}` })),
        );
        const cmp = (a: { v: number; id: string }, b: { v: number; id: string }) =>
          a.v - b.v || (a.id < b.id ? -1 : 1);
        const merged = mergeSorted(lists, cmp, limit, (x) => x.id);
        expect(merged).toEqual(lists.flat().sort(cmp).slice(0, limit));
      }),
      RUN,
    );
  });

  it('safety: one page of every cell equals sorting and filtering the union of their instances', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, sortArb, filtersArb, async (fake, sortKeys, filters) => {
        const page = await fake.lister().list({ sortKeys, filters });
        const keys = normalizeSortKeys(sortKeys);
        const expected = selectRows(fake.all(), { filters, sortKeys: keys, limit: Number.MAX_SAFE_INTEGER });
        expect(page.servers.map((s) => s.uuid)).toEqual(expected.map((r) => r.uuid));
        const tuples = page.servers.map((s) => sortTuple(s, keys));
        for (let i = 1; i < tuples.length; i++) {
          expect(naiveBefore(tuples[i - 1] as SortValue[], tuples[i] as SortValue[], keys)).toBeLessThan(0);
        }
      }),
      RUN,
    );
  });

  it('safety: paging with random limits visits every instance exactly once, in order', async () => {
    const limitsArb = fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(worldArb, sortArb, filtersArb, limitsArb, async (fake, sortKeys, filters, limits) => {
        const seen = await pageThrough(fake, { sortKeys, filters }, limits);
        const keys = normalizeSortKeys(sortKeys);
        const expected = selectRows(fake.all(), { filters, sortKeys: keys, limit: Number.MAX_SAFE_INTEGER });
        expect(seen.map((s) => s.uuid)).toEqual(expected.map((r) => r.uuid)); // no gap, no duplicate
      }),
      RUN,
    );
  });

  it('safety: with cells down throughout, paging still visits every instance once, down ones as UNKNOWN', async () => {
    const limitsArb = fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 });
    const downArb = fc.array(fc.boolean(), { minLength: 5, maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(worldArb, sortArb, downArb, limitsArb, async (fake, sortKeys, down, limits) => {
        fake.cells.forEach((c, i) => {
          if (down[i]) fake.mode(c.name, { kind: 'fail' });
        });
        const downUuids = new Set(fake.cells.filter((_, i) => down[i]).map((c) => c.uuid));
        const seen = await pageThrough(fake, { sortKeys, filters: {} }, limits);
        const keys = normalizeSortKeys(sortKeys);
        // The documented order: live rows as they are, down rows with only uuid/project/created_at.
        const model = [...fake.rows].flatMap(([cellUuid, rows]) =>
          rows.map((r) =>
            downUuids.has(cellUuid)
              ? {
                  uuid: r.uuid,
                  projectId: r.projectId,
                  createdAt: r.createdAt,
                  status: 'UNKNOWN' as const,
                  cellUuid,
                  down: true as const,
                }
              : { ...r, cellUuid, down: false as const },
          ),
        );
        model.sort((a, b) => compareTuples(sortTuple(a, keys), sortTuple(b, keys), keys));
        expect(seen).toEqual(model);
      }),
      RUN,
    );
  });
});
