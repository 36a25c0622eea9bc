/**
 * SimMetrics at fleet scale: the HDR histograms stay within 1% of exact percentiles, and
 * 250,000 requests leave no per-request state behind.
 */
import { describe, expect, it } from 'vitest';
import { SimMetrics } from '../../../sim/metrics.ts';

/** A small deterministic PRNG (mulberry32) so the sample is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exact percentile with HDR's rank rule: the value at rank ceil(p% × n). */
function exact(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('latency histograms', () => {
  it('report p50/p95/p99/max/mean within 1% of the exact values (seed 42)', () => {
    const rand = rng(42);
    const m = new SimMetrics();
    const e2e: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      // log-normal-ish latencies from 1 ms to ~60 s, in whole and fractional ms
      const latency = Math.round(Math.exp(rand() * Math.log(60_000)) * 1000) / 1000;
      m.requestSubmitted(`r${i}`, i, { flavor: 'f' });
      m.requestActive(`r${i}`, i + latency, { cell: 'c', host: 'h' });
      e2e.push(latency);
    }
    e2e.sort((a, b) => a - b);
    const got = m.snapshot().latencyMs.endToEnd;
    const mean = e2e.reduce((a, b) => a + b, 0) / e2e.length;
    expect(got.count).toBe(20_000);
    for (const [name, want, have] of [
      ['p50', exact(e2e, 50), got.p50],
      ['p95', exact(e2e, 95), got.p95],
      ['p99', exact(e2e, 99), got.p99],
      ['max', e2e.at(-1)!, got.max],
      ['mean', mean, got.mean],
    ] as const) {
      expect(Math.abs(have! - want) / want, `${name}: got ${have}, exact ${want}`).toBeLessThanOrEqual(0.01);
    }
  });
});

describe('bounded memory', () => {
  it('keeps nothing per request after 250,000 requests end', () => {
    const m = new SimMetrics();
    const N = 250_000;
    let peakInFlight = 0;
    for (let i = 0; i < N; i++) {
      const t = i * 4; // 1000 s of simulated time
      m.requestSubmitted(`r${i}`, t, { flavor: `f${i % 5}` });
      m.requestScheduled(`r${i}`, t + 1);
      if (i % 10 === 0) m.requestFailed(`r${i}`, t + 2, 'NoValidHost');
      else m.requestActive(`r${i}`, t + 3, { cell: `c${i % 4}`, host: `h${i % 1000}` });
      if (i % 100 === 0) m.sampleUtilisation(t, `c${i % 4}`, { VCPU: { used: i % 97, capacity: 100 } });
      peakInFlight = Math.max(peakInFlight, m.inFlightCount);
    }
    expect(peakInFlight).toBe(0); // each request ended before the next: nothing accumulates
    const s = m.snapshot();
    expect(s.requests).toMatchObject({ submitted: N, active: N - N / 10, failed: N / 10, inFlight: 0 });
    // The report's size depends on buckets, flavors and cells — not on the number of requests.
    expect(JSON.stringify(s).length).toBeLessThan(200_000);
  });
});
