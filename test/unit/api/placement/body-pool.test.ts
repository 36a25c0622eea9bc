/** api/placement/body-pool.ts: reuse by size, whole buffers only, a bounded number kept. */
import { describe, expect, it } from 'vitest';
import { BodyPool } from '../../../../api/placement/body-pool.ts';

describe('BodyPool', () => {
  it('hands a returned buffer out again, the smallest that fits', () => {
    const pool = new BodyPool(4, 1024);
    const a = pool.take(5000);
    const b = pool.take(2000);
    expect(a.buffer).not.toBe(b.buffer);
    pool.give(a.subarray(0, 10)); // a view gives back its whole buffer
    pool.give(b);
    expect(pool.size).toBe(2);
    expect(pool.take(1500).buffer).toBe(b.buffer);
    expect(pool.take(1500).buffer).toBe(a.buffer);
    expect(pool.size).toBe(0);
  });

  it('never keeps a buffer twice, nor small or foreign-pool ones, nor more than `keep`', () => {
    const pool = new BodyPool(2, 1024);
    const a = pool.take(4096);
    pool.give(a);
    pool.give(a);
    expect(pool.size).toBe(1);
    pool.give(Buffer.alloc(100)); // below minBytes
    expect(pool.size).toBe(1);
    pool.give(pool.take(8192 * 4)); // smaller than nothing kept yet: kept
    pool.give(Buffer.allocUnsafeSlow(8192 * 8)); // full: replaces the smallest
    expect(pool.size).toBe(2);
    expect(pool.take(8192 * 8).byteLength).toBe(8192 * 8);
  });
});
