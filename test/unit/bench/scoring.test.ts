/**
 * The scoring benchmark's kernel: it must give exactly core/scheduler's rank() answer (same hosts,
 * same totals, ties to the lower index), also when the hosts are cut into ranges scored apart and
 * merged — which is what the piscina pool does. The pool itself is exercised by the suite's own
 * check (no worker threads here); no timing assertions.
 */
import { describe, expect, it } from 'vitest';
import { poolVerdict } from '../../../bench/suites/scoring.ts';
import {
  emptyRanges,
  mergeTop,
  prepareProfiles,
  rankTop,
  scoreAll,
  scoringFleet,
  shareArray,
  sharedSnapshot,
  type TopK,
  topDifference,
  topInRange,
  WEIGHERS,
  WEIGHING_PROFILES,
  weightRange,
  widenRange,
} from '../../../bench/suites/scoring-kernel.ts';
import { decodeTop, splitRange } from '../../../bench/suites/scoring-pool.ts';
import { Snapshot } from '../../../core/scheduler/snapshot.ts';
import { fromHosts } from '../../../core/scheduler/snapshot-build.ts';

/** What ScoringPool.score does, in one thread: ranges, widened min/max, per-range top-k, merge. */
function scoreSplit(ws: Parameters<typeof scoreAll>[0], n: number, k: number, parts: number): TopK {
  const ranges = emptyRanges(1);
  for (const [from, to] of splitRange(n, parts)) {
    const part = emptyRanges(1);
    weightRange(ws, from, to, part);
    widenRange(ranges, part);
  }
  return mergeTop(
    splitRange(n, parts).map(([from, to]) => topInRange(ws, ranges, 0, from, to, k)),
    k,
  );
}

describe('scoring kernel', () => {
  it('equals rank() for every profile, k and split (seeded fleet of 500 hosts)', () => {
    const n = 500;
    const prepared = prepareProfiles(sharedSnapshot(n, 'scoring-test-1'));
    expect(prepared).toHaveLength(WEIGHING_PROFILES.length);
    for (const ws of prepared)
      for (const k of [1, 3, 10]) {
        const expected = rankTop(ws, n, k);
        expect(expected.hosts).toHaveLength(k);
        expect(topDifference(scoreAll(ws, n, k), expected)).toBeUndefined();
        for (const parts of [2, 3, 7])
          expect(topDifference(scoreSplit(ws, n, k, parts), expected)).toBeUndefined();
      }
  });

  it('breaks ties toward the lower host index, as rank() does', () => {
    // 6 identical hosts: every weigher's range is 0, so every score is 0 and every total ties.
    const hosts = Array.from({ length: 6 }, (_, i) => ({
      name: `h${i}`,
      resources: { VCPU: { total: 8 }, MEMORY_MB: { total: 1024 }, DISK_GB: { total: 10 } },
    }));
    const [ws] = prepareProfiles(new Snapshot(fromHosts(hosts).cols));
    expect(scoreAll(ws!, 6, 3)).toEqual({ hosts: [0, 1, 2], totals: [0, 0, 0] });
    expect(scoreSplit(ws!, 6, 3, 2)).toEqual({ hosts: [0, 1, 2], totals: [0, 0, 0] });
    expect(topDifference(scoreAll(ws!, 6, 3), rankTop(ws!, 6, 3))).toBeUndefined();
  });

  it('keeps fewer than k when a range has fewer hosts', () => {
    const [ws] = prepareProfiles(sharedSnapshot(5, 'scoring-test-2'));
    expect(scoreAll(ws!, 5, 10).hosts).toHaveLength(5);
  });

  it('reports a difference in hosts, order or totals', () => {
    const a = { hosts: [1, 2], totals: [300, 200] };
    expect(topDifference(a, { hosts: [1, 2], totals: [300, 200] })).toBeUndefined();
    expect(topDifference(a, { hosts: [2, 1], totals: [300, 200] })).toBe('[1:300 2:200] vs [2:300 1:200]');
    expect(topDifference(a, { hosts: [1, 2], totals: [300, 201] })).toContain('2:201');
    expect(topDifference(a, { hosts: [1], totals: [300] })).toBeDefined();
  });

  it('merges parts by total, then host index', () => {
    const merged = mergeTop(
      [
        { hosts: [7, 9], totals: [250, 100] },
        { hosts: [2, 3], totals: [250, 180] },
      ],
      3,
    );
    expect(merged).toEqual({ hosts: [2, 7, 3], totals: [250, 250, 180] });
  });
});

describe('scoring inputs and pool helpers', () => {
  it('builds the same fleet from the same seed, and a different one from another', () => {
    expect(scoringFleet(20, 's')).toEqual(scoringFleet(20, 's'));
    expect(scoringFleet(20, 's')).not.toEqual(scoringFleet(20, 't'));
  });

  it('copies typed arrays into SharedArrayBuffers', () => {
    const a = Float64Array.of(1.5, -2, 3);
    const s = shareArray(a);
    expect(s.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect([...s]).toEqual([1.5, -2, 3]);
    const snap = sharedSnapshot(10, 'scoring-test-3');
    expect(snap.column('VCPU')!.capacity.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(snap.cols.failedBuilds.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('splits 0..n-1 into contiguous ranges that cover it once', () => {
    expect(splitRange(10, 3)).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(splitRange(1, 2)).toEqual([
      [0, 0],
      [0, 1],
    ]);
    expect(() => splitRange(10, 0)).toThrow(/parts must be a positive integer/);
  });

  it('decodes a worker answer: k (host, total) pairs per request, −1 = none', () => {
    const k = 2;
    const answer = Float64Array.of(4, 120, 9, 80, 3, 50, -1, -1);
    expect(decodeTop(answer, 0, k)).toEqual({ hosts: [4, 9], totals: [120, 80] });
    expect(decodeTop(answer, 1, k)).toEqual({ hosts: [3], totals: [50] });
  });

  it('widens min/max ranges per weigher', () => {
    const into = emptyRanges(1);
    expect(into).toHaveLength(2 * WEIGHERS);
    widenRange(into, Float64Array.of(1, 5, 0, 0, 2, 2, -1, 3));
    widenRange(into, Float64Array.of(0, 4, -1, 1, 2, 2, -2, 0));
    expect([...into]).toEqual([0, 5, -1, 1, 2, 2, -2, 3]);
  });
});

describe('pool verdict', () => {
  it('says plainly whether the pool pays off, with a ±10% break-even band', () => {
    expect(poolVerdict(50_000, '64 per round trip', 1.8)).toBe(
      '50,000 hosts, 64 per round trip: **pays off** (1.80× the requests/s of 1 thread)',
    );
    expect(poolVerdict(1000, '1 per round trip', 0.16)).toBe(
      '1,000 hosts, 1 per round trip: **does not pay off** (0.16×)',
    );
    expect(poolVerdict(10_000, '1 per round trip', 1.05)).toMatch(/break-even \(1\.05×\)/);
    expect(poolVerdict(10_000, 'x', Number.NaN)).toBe('10,000 hosts, x: not measured');
  });
});
