import { describe, expect, it } from 'vitest';
import { hashString, makeRng } from '../../core/rng.ts';

describe('seeded rng', () => {
  it('replays exactly from the same seed', () => {
    const a = makeRng('req-42');
    const b = makeRng('req-42');
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
  });

  it('differs between seeds and stays in [0, 1)', () => {
    const a = makeRng(1);
    const b = makeRng(2);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Array.from({ length: 1000 }, () => b.next())).not.toEqual(xs);
  });

  it('is roughly uniform: each of 10 buckets gets 10% ± 2% of 20,000 draws', () => {
    const r = makeRng(7);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) buckets[r.int(10)]++;
    for (const n of buckets) expect(Math.abs(n - 2000)).toBeLessThan(400);
  });

  it('shuffles into a permutation', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = makeRng(3).shuffle([...xs]);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(xs);
    expect(shuffled).not.toEqual(xs);
  });

  it('hashes strings with FNV-1a', () => {
    // FNV-1a 32-bit of "" is the offset basis; of "a" is 0xe40c292c.
    expect(hashString('')).toBe(0x811c9dc5);
    expect(hashString('a')).toBe(0xe40c292c);
  });
});
