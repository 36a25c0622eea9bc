/**
 * The ordered-index half of the Store contract (called from store.contract.ts inside its
 * describe, so it shares the fresh-store-per-test fixture).
 */
import { describe, expect, it } from 'vitest';
import type { ListOptions, Store, WriteOp } from '../../core/ports/store.ts';

const PAGE = 37;
const MEMBERS = 1000;
/** Ops per commit while loading the big index (well under MAX_COMMIT_OPS). */
const LOAD_BATCH = 250;

/** Pages through `index` from the start, returning every page. */
async function allPages(store: Store, index: string, opts: Omit<ListOptions, 'after'>): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await store.list(index, after === undefined ? opts : { ...opts, after });
    pages.push(page.members);
    if (page.next === undefined) return pages;
    expect(page.next).toBe(page.members.at(-1));
    after = page.next;
  }
  throw new Error('paging did not end');
}

/** A deterministic shuffle (no Math.random in tests): i * 617 mod 1000 visits every i once. */
const shuffled = (n: number): number[] => Array.from({ length: n }, (_, i) => (i * 617) % n);

export function storeIndexContract(store: () => Store): void {
  describe('ordered indexes', () => {
    it(`pages through ${MEMBERS} members ${PAGE} at a time, each exactly once, in order, both ways`, async () => {
      const members = shuffled(MEMBERS).map((i) => `2026-11-23T10:${String(i).padStart(4, '0')}|id-${i}`);
      for (let i = 0; i < members.length; i += LOAD_BATCH) {
        const ops: WriteOp[] = members
          .slice(i, i + LOAD_BATCH)
          .map((member) => ({ op: 'index', index: 'big', member }));
        expect((await store().commit(ops)).ok).toBe(true);
      }
      const sorted = [...members].sort();
      expect(await store().count('big')).toBe(MEMBERS);

      const forward = await allPages(store(), 'big', { limit: PAGE });
      expect(forward).toHaveLength(Math.ceil(MEMBERS / PAGE)); // 28 pages: 27 × 37 + 1
      expect(forward.slice(0, -1).every((p) => p.length === PAGE)).toBe(true);
      expect(forward.flat()).toEqual(sorted);

      const backward = await allPages(store(), 'big', { limit: PAGE, reverse: true });
      expect(backward.flat()).toEqual([...sorted].reverse());
    });

    it('ends with next undefined when the last page is exactly full', async () => {
      await store().commit(
        ['a', 'b', 'c', 'd'].map((member): WriteOp => ({ op: 'index', index: 'i', member })),
      );
      expect(await store().list('i', { limit: 2 })).toEqual({ members: ['a', 'b'], next: 'b' });
      expect(await store().list('i', { limit: 2, after: 'b' })).toEqual({
        members: ['c', 'd'],
        next: undefined,
      });
      expect(await store().list('i', { limit: 4 })).toEqual({
        members: ['a', 'b', 'c', 'd'],
        next: undefined,
      });
      expect(await store().list('i', { limit: 2, reverse: true, after: 'c' })).toEqual({
        members: ['b', 'a'],
        next: undefined,
      });
    });

    it('starts strictly after a marker that is not (or no longer) a member', async () => {
      await store().commit(['b', 'd', 'f'].map((member): WriteOp => ({ op: 'index', index: 'i', member })));
      expect((await store().list('i', { limit: 10, after: 'c' })).members).toEqual(['d', 'f']);
      expect((await store().list('i', { limit: 10, after: 'c', reverse: true })).members).toEqual(['b']);
      expect((await store().list('i', { limit: 10, after: 'f' })).members).toEqual([]);
      expect((await store().list('i', { limit: 10, after: '0' })).members).toEqual(['b', 'd', 'f']);
      expect(await store().list('empty', { limit: 10 })).toEqual({ members: [], next: undefined });
    });

    it('indexes idempotently, unindexes missing members quietly, and counts', async () => {
      await store().commit([
        { op: 'index', index: 'i', member: 'm' },
        { op: 'index', index: 'i', member: 'm' },
        { op: 'unindex', index: 'i', member: 'never' },
        { op: 'unindex', index: 'nothing', member: 'x' },
      ]);
      expect(await store().count('i')).toBe(1);
      expect(await store().count('nothing')).toBe(0);
      await store().commit([{ op: 'unindex', index: 'i', member: 'm' }]);
      expect(await store().count('i')).toBe(0);
      expect(await store().list('i', { limit: 5 })).toEqual({ members: [], next: undefined });
    });

    it('orders members with special characters by UTF-8 bytes', async () => {
      // Byte order: ' '(20) *(2A) :(3A) ?(3F) [(5B) a(61) é(C3 A9) ﬀ(EF AC 80) 😀(F0 9F 98 80).
      // JS's default sort would put 😀 (surrogates D83D…) before ﬀ (FB00).
      const expected = [' sp', '*star', ':colon', '?q', '[br', 'a', 'é', '\uFB00', '😀'];
      const ops = [...expected].reverse().map((member): WriteOp => ({ op: 'index', index: 'u*?[', member }));
      await store().commit(ops);
      expect((await store().list('u*?[', { limit: 100 })).members).toEqual(expected);
      expect((await store().list('u*?[', { limit: 100, reverse: true })).members).toEqual(
        [...expected].reverse(),
      );
      expect((await store().list('u*?[', { limit: 2, after: '\uFB00' })).members).toEqual(['😀']);
      expect((await store().list('u*?[', { limit: 2, after: '[br' })).members).toEqual(['a', 'é']);
      expect(await store().count('u*?[')).toBe(expected.length);
    });
  });
}
