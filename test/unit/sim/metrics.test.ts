/**
 * SimMetrics: request outcomes, latencies, boots/s buckets, utilisation and the determinism of
 * the snapshot. Times are simulated ms passed in by the test; nothing reads a clock.
 */
import { describe, expect, it } from 'vitest';
import { SimMetrics, TimeBuckets } from '../../../sim/metrics.ts';

describe('SimMetrics request outcomes', () => {
  it('measures schedule and end-to-end latency of one request', () => {
    const m = new SimMetrics();
    m.requestSubmitted('r1', 100, { flavor: 'small' });
    m.requestScheduled('r1', 110); // schedule latency 10 ms
    m.requestActive('r1', 130, { cell: 'c1', host: 'h1' }); // end-to-end 30 ms
    const s = m.snapshot();
    expect(s.requests).toEqual({
      submitted: 1,
      scheduled: 1,
      active: 1,
      failed: 0,
      deleted: 0,
      deletedInFlight: 0,
      inFlight: 0,
    });
    expect(s.latencyMs.schedule).toMatchObject({ count: 1 });
    expect(s.latencyMs.schedule.p50).toBeCloseTo(10, 1);
    expect(s.latencyMs.endToEnd.p99).toBeCloseTo(30, 1);
    expect(s.latencyMs.endToEnd.max).toBeCloseTo(30, 1);
    expect(s.activeByCell).toEqual({ c1: 1 });
    expect(s.byFlavor).toEqual({ small: { submitted: 1, active: 1, failed: 0 } });
    expect(s.successRate).toBe(1);
    expect(s.durationMs).toBe(130);
  });

  it('keeps sub-millisecond latencies (virtual time can be fractional)', () => {
    const m = new SimMetrics();
    m.requestSubmitted('r', 0, { flavor: 'f' });
    m.requestScheduled('r', 0.25);
    expect(m.snapshot().latencyMs.schedule.p50).toBeCloseTo(0.25, 3);
  });

  it('records schedule latency for the first decision only; reschedules and conflicts are counted', () => {
    const m = new SimMetrics();
    m.requestSubmitted('r', 0, { flavor: 'f' });
    m.requestScheduled('r', 5);
    m.claimConflict('r');
    m.reschedule('r');
    m.requestScheduled('r', 50);
    m.requestActive('r', 80, { cell: 'c', host: 'h' });
    const s = m.snapshot();
    expect(s.latencyMs.schedule.count).toBe(1);
    expect(s.latencyMs.schedule.max).toBeCloseTo(5, 2);
    expect(s.reschedules).toBe(1);
    expect(s.claimConflicts).toBe(1);
    expect(s.requests.scheduled).toBe(1);
  });

  it('counts failures by reason, sorted, and a success rate over ended requests', () => {
    const m = new SimMetrics();
    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (const id of ids) m.requestSubmitted(id, 0, { flavor: id === 'e' ? 'big' : 'small' });
    m.requestFailed('a', 1, 'NoValidHost');
    m.requestFailed('b', 2, 'BuildAbortException');
    m.requestFailed('c', 3, 'NoValidHost');
    m.requestActive('d', 4, { cell: 'c1', host: 'h' });
    const s = m.snapshot();
    expect(Object.keys(s.failuresByReason)).toEqual(['BuildAbortException', 'NoValidHost']);
    expect(s.failuresByReason).toEqual({ BuildAbortException: 1, NoValidHost: 2 });
    expect(s.successRate).toBeCloseTo(1 / 4); // 1 active / (1 active + 3 failed)
    expect(s.requests.inFlight).toBe(1); // 'e' is still building
    expect(s.byFlavor).toEqual({
      big: { submitted: 1, active: 0, failed: 0 },
      small: { submitted: 4, active: 1, failed: 3 },
    });
  });

  it('ends a request deleted while building; a delete after active only counts', () => {
    const m = new SimMetrics();
    m.requestSubmitted('building', 0, { flavor: 'f' });
    m.requestSubmitted('built', 0, { flavor: 'f' });
    m.requestActive('built', 10, { cell: 'c', host: 'h' });
    m.deleted('building', 20);
    m.deleted('built', 30);
    const s = m.snapshot();
    expect(s.requests).toMatchObject({ deleted: 2, deletedInFlight: 1, inFlight: 0 });
    expect(m.inFlightCount).toBe(0);
  });

  it('counts protocol anomalies instead of throwing, keeping a few examples', () => {
    const m = new SimMetrics({ maxAnomalyExamples: 2 });
    m.requestScheduled('ghost', 1);
    m.requestSubmitted('dup', 2, { flavor: 'f' });
    m.requestSubmitted('dup', 3, { flavor: 'f' });
    m.requestFailed('ghost', 4, 'x');
    const s = m.snapshot();
    expect(s.anomalies.count).toBe(3);
    expect(s.anomalies.examples).toEqual([
      'request ghost scheduled but not in flight (t=1)',
      'request dup submitted twice (t=3)',
    ]);
  });

  it('flags events out of order as an anomaly (negative latency)', () => {
    const m = new SimMetrics();
    m.requestSubmitted('r', 100, { flavor: 'f' });
    m.requestScheduled('r', 50);
    expect(m.snapshot().anomalies.count).toBe(1);
    expect(m.snapshot().latencyMs.schedule.count).toBe(0);
  });

  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY])('rejects simulated time %s', (t) => {
    const m = new SimMetrics();
    expect(() => m.requestSubmitted('r', t, { flavor: 'f' })).toThrow(
      /simulated time must be a finite number/,
    );
  });

  it('reports empty latencies as null, not zero', () => {
    const s = new SimMetrics().snapshot();
    expect(s.latencyMs.schedule).toEqual({
      count: 0,
      mean: null,
      p50: null,
      p95: null,
      p99: null,
      max: null,
    });
    expect(s.successRate).toBeNull();
  });
});

describe('SimMetrics boots per second', () => {
  it('buckets boots per simulated second, zero-filled up to the last event', () => {
    const m = new SimMetrics();
    const boot = (id: string, t: number) => {
      m.requestSubmitted(id, Math.max(0, t - 5), { flavor: 'f' });
      m.requestActive(id, t, { cell: 'c', host: 'h' });
    };
    boot('a', 100);
    boot('b', 900);
    boot('c', 2500);
    m.requestSubmitted('late', 4200, { flavor: 'f' });
    // seconds: [0,1) → 2, [1,2) → 0, [2,3) → 1, [3,4) → 0, [4,5) → 0 (covers t=4200)
    expect(m.snapshot().boots).toEqual({ bucketMs: 1000, counts: [2, 0, 1, 0, 0] });
  });

  it('merges bucket pairs when a run outgrows the limit, keeping every boot', () => {
    const m = new SimMetrics({ maxBootBuckets: 10 });
    for (let s = 0; s < 25; s++) {
      m.requestSubmitted(`r${s}`, s * 1000, { flavor: 'f' });
      m.requestActive(`r${s}`, s * 1000 + 1, { cell: 'c', host: 'h' });
    }
    // 25 one-second buckets > 10 → 2 s (13 buckets) > 10 → 4 s: ceil(25/4) = 7 buckets of 4,4,4,4,4,4,1
    expect(m.snapshot().boots).toEqual({ bucketMs: 4000, counts: [4, 4, 4, 4, 4, 4, 1] });
  });

  it('never keeps more than 10,000 buckets, even for a simulated month', () => {
    const m = new SimMetrics();
    const month = 30 * 24 * 3600 * 1000;
    for (let i = 0; i <= 1000; i++) {
      const t = (month / 1000) * i;
      m.requestSubmitted(`r${i}`, t, { flavor: 'f' });
      m.requestActive(`r${i}`, t, { cell: 'c', host: 'h' });
    }
    const { bucketMs, counts } = m.snapshot().boots;
    expect(counts.length).toBeLessThanOrEqual(10_000);
    expect(counts.length * bucketMs).toBeGreaterThan(month);
    expect(Math.log2(bucketMs / 1000) % 1).toBe(0); // a power-of-two multiple of one second
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1001);
  });
});

describe('TimeBuckets', () => {
  it('rejects limits that cannot work', () => {
    expect(() => new TimeBuckets(0, 10, (a: number, b: number) => a + b)).toThrow(/bucket width/);
    expect(() => new TimeBuckets(1000, 1, (a: number, b: number) => a + b)).toThrow(/bucket limit/);
  });
});

describe('SimMetrics utilisation', () => {
  it('averages samples per bucket and keeps the peak, per cell and resource class, sorted', () => {
    const m = new SimMetrics();
    m.sampleUtilisation(0, 'cell-b', { VCPU: { used: 10, capacity: 100 } });
    m.sampleUtilisation(0, 'cell-a', {
      VCPU: { used: 20, capacity: 100 },
      MEMORY_MB: { used: 512, capacity: 1024 },
    });
    m.sampleUtilisation(500, 'cell-a', { VCPU: { used: 60, capacity: 100 } });
    m.sampleUtilisation(1500, 'cell-a', { VCPU: { used: 50, capacity: 200 } });
    const u = m.snapshot().utilisation;
    expect(u.map((s) => `${s.cell}/${s.rc}`)).toEqual(['cell-a/MEMORY_MB', 'cell-a/VCPU', 'cell-b/VCPU']);
    expect(u[1]!.points).toEqual([
      // bucket [0,1000): used (20+60)/2 = 40, capacity 100, fraction 80/200 = 0.4, peak 0.6
      { tMs: 0, used: 40, capacity: 100, fraction: 0.4, maxFraction: 0.6 },
      { tMs: 1000, used: 50, capacity: 200, fraction: 0.25, maxFraction: 0.25 },
    ]);
  });

  it('bounds each series and flags bad samples', () => {
    const m = new SimMetrics({ maxUtilisationBuckets: 100 });
    for (let t = 0; t < 1_000_000; t += 1000) m.sampleUtilisation(t, 'c', { VCPU: { used: 1, capacity: 2 } });
    m.sampleUtilisation(5, 'c', { VCPU: { used: Number.NaN, capacity: 2 } });
    const s = m.snapshot();
    expect(s.utilisation[0]!.points.length).toBeLessThanOrEqual(100);
    expect(s.utilisation[0]!.points.every((p) => p.fraction === 0.5)).toBe(true);
    expect(s.anomalies.count).toBe(1);
  });
});

describe('SimMetrics snapshot determinism', () => {
  function run(order: 'forward' | 'reverse'): string {
    const m = new SimMetrics();
    const ids = Array.from({ length: 50 }, (_, i) => `r${i}`);
    for (const [i, id] of ids.entries()) m.requestSubmitted(id, i, { flavor: `f${i % 3}` });
    const ending = order === 'forward' ? ids : [...ids].reverse();
    for (const id of ending) {
      const n = Number(id.slice(1));
      if (n % 4 === 0) m.requestFailed(id, 100, `reason-${n % 3}`);
      else m.requestActive(id, 100 + n, { cell: `c${n % 2}`, host: 'h' });
    }
    m.sampleUtilisation(10, order === 'forward' ? 'c1' : 'c0', { VCPU: { used: 1, capacity: 2 } });
    m.sampleUtilisation(10, order === 'forward' ? 'c0' : 'c1', { VCPU: { used: 1, capacity: 2 } });
    return JSON.stringify(m.snapshot());
  }

  it('gives byte-identical JSON for the same events', () => {
    expect(run('forward')).toBe(run('forward'));
  });

  it('sorts maps, so the order reasons and cells first appeared does not change the bytes', () => {
    const a = JSON.parse(run('forward'));
    const b = JSON.parse(run('reverse'));
    expect(JSON.stringify(a.failuresByReason)).toBe(JSON.stringify(b.failuresByReason));
    expect(JSON.stringify(a.activeByCell)).toBe(JSON.stringify(b.activeByCell));
    expect(JSON.stringify(a.utilisation)).toBe(JSON.stringify(b.utilisation));
  });
});
