/**
 * The Store port's contract (core/ports/store.ts), run against every adapter:
 * store.memory.test.ts and store.real.test.ts. Each test gets a fresh, empty store from
 * the factory (for Redis: a unique key prefix), and every store opened is closed after it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../core/errors.ts';
import type { CommitResult, Store, WriteOp } from '../../core/ports/store.ts';
import { storeIndexContract } from './store-index.contract.ts';

export type StoreFactory = () => Promise<Store>;

export const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export function put(key: string, value: Uint8Array, expectedGeneration?: number): WriteOp {
  return expectedGeneration === undefined
    ? { op: 'put', key, value }
    : { op: 'put', key, value, expectedGeneration };
}

export function generationsOf(res: CommitResult): Record<string, number> {
  if (!res.ok) throw new Error(`commit conflicted: ${JSON.stringify(res.conflicts)}`);
  return { ...res.generations };
}

export async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a rejection with code ${code}`).toBeDefined();
  expect(hasCode(err, code as never), `got ${String(err)}`).toBe(true);
}

/** Gives each test a fresh store and closes every store opened during it. */
export function useStores(make: StoreFactory): { store: () => Store; open: StoreFactory } {
  const opened: Store[] = [];
  let current: Store | undefined;
  const open = async () => {
    const s = await make();
    opened.push(s);
    return s;
  };
  beforeEach(async () => {
    current = await open();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  return { store: () => current!, open };
}

export function storeContract(label: string, make: StoreFactory): void {
  describe(`Store contract: ${label}`, () => {
    const { store, open } = useStores(make);

    describe('generations and compare-and-set', () => {
      it('creates at generation 1 and adds 1 on every put', async () => {
        expect(await store().get('k')).toBeUndefined();
        expect(generationsOf(await store().commit([put('k', text('one'))]))).toEqual({ k: 1 });
        expect(generationsOf(await store().commit([put('k', text('two'))]))).toEqual({ k: 2 });
        expect(await store().get('k')).toEqual({ key: 'k', value: text('two'), generation: 2 });
      });

      it('creates with expectedGeneration 0 only when the key does not exist', async () => {
        expect(generationsOf(await store().commit([put('k', text('a'), 0)]))).toEqual({ k: 1 });
        const res = await store().commit([put('k', text('b'), 0)]);
        expect(res).toEqual({ ok: false, conflicts: [{ key: 'k', expected: 0, actual: 1 }] });
        expect((await store().get('k'))?.value).toEqual(text('a'));
      });

      it('accepts a put at the current generation and refuses a stale one', async () => {
        await store().commit([put('k', text('v1'))]);
        expect(generationsOf(await store().commit([put('k', text('v2'), 1)]))).toEqual({ k: 2 });
        // A second writer that read generation 1 has lost the race.
        const stale = await store().commit([put('k', text('stale'), 1)]);
        expect(stale).toEqual({ ok: false, conflicts: [{ key: 'k', expected: 1, actual: 2 }] });
        expect(await store().get('k')).toEqual({ key: 'k', value: text('v2'), generation: 2 });
      });

      it('refuses an expectation on a missing key with actual 0', async () => {
        const res = await store().commit([put('nope', text('x'), 3)]);
        expect(res).toEqual({ ok: false, conflicts: [{ key: 'nope', expected: 3, actual: 0 }] });
        expect(await store().get('nope')).toBeUndefined();
      });

      it('deletes (generation 0 in the result) and re-creates at generation 1', async () => {
        await store().commit([put('k', text('a')), put('k', text('b'))]);
        expect(await store().commit([{ op: 'delete', key: 'k', expectedGeneration: 1 }])).toEqual({
          ok: false,
          conflicts: [{ key: 'k', expected: 1, actual: 2 }],
        });
        expect(
          generationsOf(await store().commit([{ op: 'delete', key: 'k', expectedGeneration: 2 }])),
        ).toEqual({
          k: 0,
        });
        expect(await store().get('k')).toBeUndefined();
        expect(generationsOf(await store().commit([put('k', text('c'), 0)]))).toEqual({ k: 1 });
      });

      it('deletes a missing key without an expectation (and with expectation 0)', async () => {
        expect(generationsOf(await store().commit([{ op: 'delete', key: 'ghost' }]))).toEqual({ ghost: 0 });
        const res = await store().commit([{ op: 'delete', key: 'ghost', expectedGeneration: 0 }]);
        expect(generationsOf(res)).toEqual({ ghost: 0 });
        expect(await store().scanKeys('')).toEqual([]);
      });

      it('lets exactly one of many concurrent creators win', async () => {
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => store().commit([put('leader', text(`w${i}`), 0)])),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        for (const r of results.filter((r) => !r.ok)) {
          expect(r).toEqual({ ok: false, conflicts: [{ key: 'leader', expected: 0, actual: 1 }] });
        }
      });

      it('loses no update when concurrent writers read-modify-write with retries', async () => {
        const writers = 6;
        const each = 5;
        const bump = async () => {
          for (let attempt = 0; attempt < 500; attempt++) {
            const cur = await store().get('counter');
            const n = cur ? Number(new TextDecoder().decode(cur.value)) : 0;
            const res = await store().commit([put('counter', text(String(n + 1)), cur?.generation ?? 0)]);
            if (res.ok) return;
          }
          throw new Error('too many conflicts');
        };
        await Promise.all(
          Array.from({ length: writers }, async () => {
            for (let i = 0; i < each; i++) await bump();
          }),
        );
        const final = await store().get('counter');
        expect(new TextDecoder().decode(final!.value)).toBe(String(writers * each));
        expect(final!.generation).toBe(writers * each);
      });
    });

    describe('atomic multi-key commits', () => {
      it('applies puts, deletes, checks and index ops together and reports written keys only', async () => {
        await store().commit([put('a', text('a1')), put('gone', text('x')), put('guard', text('g'))]);
        const res = await store().commit([
          { op: 'check', key: 'guard', expectedGeneration: 1 },
          put('a', text('a2'), 1),
          put('b', text('b1'), 0),
          { op: 'delete', key: 'gone' },
          { op: 'index', index: 'by-name', member: 'a' },
          { op: 'index', index: 'by-name', member: 'b' },
        ]);
        expect(generationsOf(res)).toEqual({ a: 2, b: 1, gone: 0 });
        expect(await store().getMany(['a', 'b', 'gone', 'guard'])).toEqual([
          { key: 'a', value: text('a2'), generation: 2 },
          { key: 'b', value: text('b1'), generation: 1 },
          undefined,
          { key: 'guard', value: text('g'), generation: 1 },
        ]);
        expect(await store().list('by-name', { limit: 10 })).toEqual({
          members: ['a', 'b'],
          next: undefined,
        });
      });

      it('writes nothing — values, deletes or index ops — when any check fails, and reports every conflict', async () => {
        await store().commit([put('a', text('a1')), put('c', text('c1')), put('guard', text('g'))]);
        await store().commit([put('guard', text('g2'))]);
        await store().commit([{ op: 'index', index: 'idx', member: 'keep' }]);
        const res = await store().commit([
          put('a', text('a2'), 1),
          put('new', text('n')),
          { op: 'delete', key: 'c' },
          { op: 'index', index: 'idx', member: 'added' },
          { op: 'unindex', index: 'idx', member: 'keep' },
          { op: 'check', key: 'guard', expectedGeneration: 1 },
          put('c', text('c2'), 0),
        ]);
        expect(res.ok).toBe(false);
        if (res.ok) return;
        expect(res.conflicts).toEqual(
          expect.arrayContaining([
            { key: 'guard', expected: 1, actual: 2 },
            { key: 'c', expected: 0, actual: 1 },
          ]),
        );
        expect(res.conflicts).toHaveLength(2);
        expect(await store().getMany(['a', 'new', 'c'])).toEqual([
          { key: 'a', value: text('a1'), generation: 1 },
          undefined,
          { key: 'c', value: text('c1'), generation: 1 },
        ]);
        expect(await store().list('idx', { limit: 10 })).toEqual({ members: ['keep'], next: undefined });
        expect(await store().count('idx')).toBe(1);
      });

      it('evaluates every check against the state before the commit, then applies ops in order', async () => {
        const res = await store().commit([put('k', text('1'), 0), put('k', text('2'), 0)]);
        expect(generationsOf(res)).toEqual({ k: 2 });
        expect((await store().get('k'))?.value).toEqual(text('2'));
        const res2 = await store().commit([
          { op: 'delete', key: 'k', expectedGeneration: 2 },
          put('k', text('again'), 2),
        ]);
        expect(generationsOf(res2)).toEqual({ k: 1 });
      });

      it('commits nothing for an empty or check-only commit', async () => {
        expect(generationsOf(await store().commit([]))).toEqual({});
        const res = await store().commit([{ op: 'check', key: 'none', expectedGeneration: 0 }]);
        expect(generationsOf(res)).toEqual({});
        expect(await store().scanKeys('')).toEqual([]);
      });
    });

    describe('values and names', () => {
      it('round-trips binary values: every byte, 0x00 and 0xff runs, empty, and views into larger buffers', async () => {
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        const big = new Uint8Array(10);
        big.set([0xff, 0x00, 0xff], 4);
        const view = big.subarray(4, 7);
        await store().commit([
          put('all', all),
          put('zeros', bytes(0, 0, 0)),
          put('ffs', bytes(0xff, 0xff)),
          put('empty', new Uint8Array(0)),
          put('view', view),
        ]);
        const got = await store().getMany(['all', 'zeros', 'ffs', 'empty', 'view']);
        expect(got.map((e) => e && [...e.value])).toEqual([
          [...all],
          [0, 0, 0],
          [0xff, 0xff],
          [],
          [0xff, 0x00, 0xff],
        ]);
        expect(got[3]?.generation).toBe(1); // an empty value still exists
      });

      it('stores a copy: mutating the buffer after the commit changes nothing stored', async () => {
        const v = bytes(1, 2, 3);
        await store().commit([put('k', v)]);
        v[0] = 99;
        expect((await store().get('k'))?.value).toEqual(bytes(1, 2, 3));
      });

      it('handles keys with glob characters, colons, spaces and unicode, and scans them literally', async () => {
        const keys = ['a*b', 'a?b', 'a[b]', 'a:b', 'a b', 'a\\b', 'aé', 'a😀', 'a\uFB00', 'ab', 'a[', '*'];
        await store().commit(keys.map((k, i) => put(k, bytes(i))));
        const got = await store().getMany(keys);
        expect(got.map((e) => e?.value[0])).toEqual(keys.map((_, i) => i));
        expect(await store().scanKeys('a*')).toEqual(['a*b']);
        expect(await store().scanKeys('a?')).toEqual(['a?b']);
        expect(await store().scanKeys('a[')).toEqual(['a[', 'a[b]']);
        expect(await store().scanKeys('*')).toEqual(['*']);
        // UTF-8 byte order: ' ' * : ? [ \ b, then é (C3 A9), ﬀ (EF AC 80), 😀 (F0 9F …).
        const inOrder = ['a b', 'a*b', 'a:b', 'a?b', 'a[', 'a[b]', 'a\\b', 'ab', 'aé', 'a\uFB00', 'a😀'];
        expect(await store().scanKeys('a')).toEqual(inOrder);
      });

      it('scans keys by prefix, sorted, without deleted keys', async () => {
        await store().commit(
          ['host/3', 'host/1', 'host/2', 'inst/1', 'hostile'].map((k) => put(k, bytes(1))),
        );
        await store().commit([{ op: 'delete', key: 'host/2' }]);
        expect(await store().scanKeys('host/')).toEqual(['host/1', 'host/3']);
        expect(await store().scanKeys('')).toEqual(['host/1', 'host/3', 'hostile', 'inst/1']);
        expect(await store().scanKeys('zzz')).toEqual([]);
      });

      it('returns getMany results in the order asked, undefined for missing keys', async () => {
        await store().commit([put('x', bytes(1)), put('y', bytes(2))]);
        const got = await store().getMany(['y', 'missing', 'x', 'y']);
        expect(got.map((e) => e?.key)).toEqual(['y', undefined, 'x', 'y']);
        expect(await store().getMany([])).toEqual([]);
      });

      it('rejects malformed input as invalid before writing anything', async () => {
        await expectCode(store().commit([put('ok', bytes(1)), put('', bytes(1))]), 'invalid');
        await expectCode(store().commit([put('bad', bytes(1), -1)]), 'invalid');
        await expectCode(store().commit([put('half\uD800', bytes(1))]), 'invalid');
        await expectCode(store().commit([{ op: 'index', index: 'i', member: '' }]), 'invalid');
        await expectCode(store().get(''), 'invalid');
        await expectCode(store().list('i', { limit: 0 }), 'invalid');
        await expectCode(store().list('i', { limit: 1.5 }), 'invalid');
        expect(await store().get('ok')).toBeUndefined();
      });
    });

    describe('isolation and lifecycle', () => {
      it('keeps two stores from the factory apart', async () => {
        const other = await open();
        await store().commit([put('shared-name', bytes(1)), { op: 'index', index: 'i', member: 'm' }]);
        expect(await other.get('shared-name')).toBeUndefined();
        expect(await other.count('i')).toBe(0);
        expect(await other.scanKeys('')).toEqual([]);
      });

      it('refuses every call after close with code closed', async () => {
        const s = await open();
        await s.close();
        await expectCode(s.get('k'), 'closed');
        await expectCode(s.commit([put('k', bytes(1))]), 'closed');
        await expectCode(s.list('i', { limit: 1 }), 'closed');
        await s.close(); // idempotent
      });
    });

    storeIndexContract(store);
  });
}
