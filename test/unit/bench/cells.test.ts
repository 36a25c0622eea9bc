/**
 * The cells benchmark's pure helpers: the seeded fleet and its usage, the latency recorder, the
 * bounded pool, the argument checks and the target verdict. (The measurements themselves are
 * not tested: no timing assertions.)
 */
import { describe, expect, it } from 'vitest';
import {
  FULL_SHARE,
  feasibleCount,
  HOST_CAPACITY,
  hostName,
  hostSpecs,
  SELECT_FLAVOR,
  treeFor,
  usageClaim,
  usageFor,
} from '../../../bench/suites/cells-fleet.ts';
import { LatencyRecorder, lastJsonLine, perSecond } from '../../../bench/suites/cells-latency.ts';
import { selectNotes, verdict } from '../../../bench/suites/cells-notes.ts';
import { parseMode, parsePositive, parseRange, pool } from '../../../bench/suites/cells-process.ts';

describe('cells fleet', () => {
  it('names hosts in order and gives a third of them AVX2', () => {
    const specs = hostSpecs('cell1', 6);
    expect(specs.map((s) => s.hostname)).toEqual([1, 2, 3, 4, 5, 6].map((i) => `cell1-cn0000${i}`));
    expect(specs.filter((s) => s.traits?.includes('HW_CPU_X86_AVX2')).map((s) => s.hostname)).toEqual([
      'cell1-cn00001',
      'cell1-cn00004',
    ]);
  });

  it('builds a one-provider tree whose capacity is HOST_CAPACITY', () => {
    const { root, providers } = treeFor(hostSpecs('cell1', 1)[0]!);
    expect(providers).toHaveLength(1);
    expect(providers[0]!.uuid).toBe(root);
    const inv = providers[0]!.inventories;
    // VCPU 32 × 4 = 128; RAM 131,072 − 512 reserved = 130,560; disk 2,000.
    expect((inv.VCPU!.total - inv.VCPU!.reserved) * inv.VCPU!.allocationRatio).toBe(HOST_CAPACITY.VCPU);
    expect(inv.MEMORY_MB!.total - inv.MEMORY_MB!.reserved).toBe(HOST_CAPACITY.MEMORY_MB);
  });

  it('usage is seeded by name, within capacity, and about FULL_SHARE of hosts cannot fit the flavor', () => {
    const names = Array.from({ length: 2000 }, (_, i) => hostName('cell1', i));
    expect(usageFor(names[7]!)).toEqual(usageFor(names[7]!));
    expect(usageFor(names[7]!, 'other seed')).not.toEqual(usageFor(names[7]!));
    for (const n of names) {
      const u = usageFor(n);
      expect(u.VCPU).toBeLessThanOrEqual(HOST_CAPACITY.VCPU);
      expect(u.MEMORY_MB).toBeLessThanOrEqual(HOST_CAPACITY.MEMORY_MB);
      expect(u.DISK_GB).toBeLessThanOrEqual(HOST_CAPACITY.DISK_GB);
    }
    const tooFull = names.length - feasibleCount(names);
    // FULL_SHARE of 2,000 = 200 expected; a seeded draw, so allow ±60.
    expect(Math.abs(tooFull - FULL_SHARE * names.length)).toBeLessThan(60);
  });

  it("claims the usage on the host's root provider, leaving out zero amounts", () => {
    const spec = hostSpecs('cell1', 1)[0]!;
    const { root } = treeFor(spec);
    const claim = usageClaim(spec.hostname, root);
    const u = usageFor(spec.hostname);
    const want = Object.fromEntries(Object.entries(u).filter(([, v]) => v > 0));
    expect(claim.allocations).toEqual({ [root]: want });
    expect(claim.consumer).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(SELECT_FLAVOR.ram).toBe(8192);
  });
});

describe('LatencyRecorder', () => {
  it('reports nearest-rank percentiles within HDR precision, and max', () => {
    const r = new LatencyRecorder();
    for (let i = 1; i <= 100; i++) r.record(i); // 1..100 ms
    const s = r.summary();
    expect(s.count).toBe(100);
    // p50 of 1..100 = 50 ms, p99 = 99 ms, max = 100 ms (3 significant digits: ±0.1%).
    expect(s.p50Ms).toBeCloseTo(50, 0);
    expect(s.p99Ms).toBeCloseTo(99, 0);
    expect(s.maxMs).toBeCloseTo(100, 0);
  });

  it('is NaN when empty and refuses a negative latency', () => {
    expect(new LatencyRecorder().summary().p99Ms).toBeNaN();
    expect(() => new LatencyRecorder().record(-1)).toThrow(/>= 0/);
  });

  it('perSecond: 500 in 2,000 ms = 250/s; none in 0 ms is NaN', () => {
    expect(perSecond(500, 2000)).toBe(250);
    expect(perSecond(0, 0)).toBeNaN();
  });

  it('lastJsonLine takes the last line and names the child when it is not JSON', () => {
    expect(lastJsonLine<{ a: number }>('noise\n{"a":1}\n', 'x')).toEqual({ a: 1 });
    expect(() => lastJsonLine('oops', 'cells-select.ts')).toThrow(/cells-select.ts: expected a JSON result/);
  });
});

describe('pool', () => {
  it('never runs more than inFlight at once and does every item', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await pool([1, 2, 3, 4, 5, 6, 7], 3, async (x) => {
      running++;
      peak = Math.max(peak, running);
      await Promise.resolve();
      await Promise.resolve();
      done.push(x);
      running--;
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('rethrows the first failure and starts nothing after it', async () => {
    const started: number[] = [];
    const p = pool([1, 2, 3, 4], 1, async (x) => {
      started.push(x);
      if (x === 2) throw new Error('boom 2');
    });
    await expect(p).rejects.toThrow('boom 2');
    expect(started).toEqual([1, 2]);
  });

  it('refuses a non-positive limit', async () => {
    await expect(pool([1], 0, async () => {})).rejects.toThrow(/inFlight/);
  });
});

describe('arguments and verdict', () => {
  it('parses modes, counts and ranges with clear errors', () => {
    expect(parseMode('nats')).toBe('nats');
    expect(() => parseMode('redis')).toThrow('mode must be "embedded" or "nats", got "redis"');
    expect(parsePositive('hosts', '1000')).toBe(1000);
    expect(() => parsePositive('hosts', '0')).toThrow('hosts must be a positive integer, got "0"');
    expect(parseRange('spawn-ms', '1-5')).toEqual({ minMs: 1, maxMs: 5 });
    expect(() => parseRange('spawn-ms', '5-1')).toThrow(/must look like 1-5/);
  });

  it('the target is p99 strictly under 5 ms', () => {
    expect(verdict(4.99)).toBe('**holds**');
    expect(verdict(5)).toBe('**missed**');
  });

  it('notes show a failed child with its reason and command', () => {
    const md = selectNotes(
      [10_000],
      new Map([['nats/10000', { ok: false, reason: 'Error: nats exited', cmd: 'node x nats 10000' }]]),
    );
    expect(md).toContain('failed: Error: nats exited');
    expect(md).toContain('nats: failed');
    expect(md).toContain('`node x nats 10000`');
  });
});
