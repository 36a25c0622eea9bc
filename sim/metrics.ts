/**
 * SimMetrics: what a simulation run measured, in simulated time.
 *
 * Every event carries `t`, milliseconds since the start of the run as the simulator's virtual
 * clock saw it; nothing here reads a clock. Memory stays bounded whatever the run length:
 * - per request, only an in-flight entry (removed when the request becomes active, fails or is
 *   deleted) — 250,000 requests leave nothing behind but counters;
 * - latencies go into HDR histograms (fixed footprint, 3 significant digits);
 * - time series live in buckets whose width doubles (pairs merge) when a run outgrows the
 *   bucket limit.
 * `snapshot()` returns a plain JSON-safe object with sorted keys and arrays: the simulator
 * hashes it, so the same events give byte-identical `JSON.stringify` output.
 * Events that do not match the request protocol (scheduled before submitted, an unknown id…)
 * are counted as anomalies rather than thrown, so a faulty run still produces its report; the
 * invariant checkers read `anomalies`.
 * Big because the collector, the report type it produces and the bucket store it alone uses
 * change together: one file of ~460 lines on purpose.
 */
import * as hdr from 'hdr-histogram-js';

/** Latency summary in milliseconds; all null when nothing was recorded. */
export interface LatencyStats {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface UtilisationPoint {
  /** Start of the bucket, ms since run start. */
  tMs: number;
  /** Mean of the samples in the bucket. */
  used: number;
  capacity: number;
  /** Σused / Σcapacity over the bucket (0 when capacity is 0). */
  fraction: number;
  /** Highest used/capacity of any single sample in the bucket. */
  maxFraction: number;
}

export interface UtilisationSeries {
  cell: string;
  rc: string;
  bucketMs: number;
  /** Buckets with at least one sample, in time order. */
  points: UtilisationPoint[];
}

/** What `SimMetrics.snapshot()` returns: plain JSON, keys and arrays in a fixed order. */
export interface MetricsReport {
  /** Latest simulated time any event carried. */
  durationMs: number;
  requests: {
    submitted: number;
    /** Requests with at least one scheduling decision. */
    scheduled: number;
    active: number;
    failed: number;
    /** Delete events, of built instances and of requests still building. */
    deleted: number;
    /** Deletes that ended a request still in flight. */
    deletedInFlight: number;
    inFlight: number;
  };
  reschedules: number;
  claimConflicts: number;
  failuresByReason: Record<string, number>;
  /** active / (active + failed); null before any request ended. */
  successRate: number | null;
  byFlavor: Record<string, { submitted: number; active: number; failed: number }>;
  activeByCell: Record<string, number>;
  latencyMs: { schedule: LatencyStats; endToEnd: LatencyStats };
  /** Boots (requests turning active) per bucket; bucket i starts at i × bucketMs. */
  boots: { bucketMs: number; counts: number[] };
  utilisation: UtilisationSeries[];
  anomalies: { count: number; examples: string[] };
}

/** Code-unit order: locale-independent, so reports hash the same on every machine. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedRecord<V, R>(m: Map<string, V>, f: (v: V) => R): Record<string, R> {
  const out: Record<string, R> = {};
  for (const k of [...m.keys()].sort(compareStrings)) out[k] = f(m.get(k)!);
  return out;
}

const emptyLatency = (): LatencyStats => ({
  count: 0,
  mean: null,
  p50: null,
  p95: null,
  p99: null,
  max: null,
});

export interface SimMetricsOptions {
  /** Narrowest boots/s bucket. Default 1000 (one simulated second); never below 1. */
  bootBucketMs?: number;
  /** Most boots/s buckets kept; beyond it buckets merge pairwise. Default 10,000. */
  maxBootBuckets?: number;
  /** Narrowest utilisation bucket. Default 1000. */
  utilisationBucketMs?: number;
  /** Most utilisation buckets per (cell, resource class). Default 1,000. */
  maxUtilisationBuckets?: number;
  /** Most anomaly messages kept as examples (all are counted). Default 20. */
  maxAnomalyExamples?: number;
}

export interface SubmitInfo {
  flavor: string;
  cell?: string;
}

export interface ActiveInfo {
  cell: string;
  host: string;
}

/** One resource class at one sampling instant. */
export interface ClassUsage {
  used: number;
  capacity: number;
}

interface InFlight {
  submittedMs: number;
  flavor: string;
  scheduledMs: number | undefined;
}

interface FlavorCounts {
  submitted: number;
  active: number;
  failed: number;
}

/** Latencies are recorded in microseconds (integers) and reported in milliseconds. */
const US_PER_MS = 1000;

function newHistogram(): hdr.Histogram {
  return hdr.build({
    useWebAssembly: false,
    bitBucketSize: 'packed',
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000, // one simulated hour in µs; autoResize covers longer
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

function latencyStats(h: hdr.Histogram): LatencyStats {
  if (h.totalCount === 0) return emptyLatency();
  const ms = (us: number) => us / US_PER_MS;
  return {
    count: h.totalCount,
    mean: ms(h.mean),
    p50: ms(h.getValueAtPercentile(50)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
  };
}

/**
 * Fixed-count time buckets whose width doubles when an event falls past the last bucket.
 * `merge` combines two adjacent buckets (it must be associative: a + b then + c = a + (b + c)).
 */
export class TimeBuckets<T> {
  private width: number;
  private readonly cells: (T | undefined)[] = [];

  constructor(
    baseWidthMs: number,
    private readonly maxBuckets: number,
    private readonly merge: (a: T, b: T) => T,
  ) {
    if (!(baseWidthMs >= 1) || !Number.isFinite(baseWidthMs)) {
      throw new RangeError(`bucket width must be a finite number >= 1 ms, got ${baseWidthMs}`);
    }
    if (!Number.isInteger(maxBuckets) || maxBuckets < 2) {
      throw new RangeError(`bucket limit must be an integer >= 2, got ${maxBuckets}`);
    }
    this.width = baseWidthMs;
  }

  get widthMs(): number {
    return this.width;
  }

  get length(): number {
    return this.cells.length;
  }

  add(t: number, value: T): void {
    let i = Math.floor(t / this.width);
    while (i >= this.maxBuckets) {
      this.coarsen();
      i = Math.floor(t / this.width);
    }
    while (this.cells.length <= i) this.cells.push(undefined);
    const cur = this.cells[i];
    this.cells[i] = cur === undefined ? value : this.merge(cur, value);
  }

  /** Extends the series with empty buckets so it covers `t` (the end of the run). */
  extendTo(t: number): void {
    let i = Math.floor(t / this.width);
    while (i >= this.maxBuckets) {
      this.coarsen();
      i = Math.floor(t / this.width);
    }
    while (this.cells.length <= i) this.cells.push(undefined);
  }

  values(): readonly (T | undefined)[] {
    return this.cells;
  }

  private coarsen(): void {
    const next: (T | undefined)[] = [];
    for (let i = 0; i < this.cells.length; i += 2) {
      const a = this.cells[i];
      const b = this.cells[i + 1];
      next.push(a === undefined ? b : b === undefined ? a : this.merge(a, b));
    }
    this.cells.length = 0;
    this.cells.push(...next);
    this.width *= 2;
  }
}

interface UtilBucket {
  sumUsed: number;
  sumCapacity: number;
  samples: number;
  maxFraction: number;
}

const mergeUtil = (a: UtilBucket, b: UtilBucket): UtilBucket => ({
  sumUsed: a.sumUsed + b.sumUsed,
  sumCapacity: a.sumCapacity + b.sumCapacity,
  samples: a.samples + b.samples,
  maxFraction: Math.max(a.maxFraction, b.maxFraction),
});

export class SimMetrics {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly scheduleLatency = newHistogram();
  private readonly endToEndLatency = newHistogram();
  private readonly boots: TimeBuckets<number>;
  /** One TimeBuckets per `${cell}\u0000${rc}`; all share the same base width and limit. */
  private readonly utilisation = new Map<
    string,
    { cell: string; rc: string; series: TimeBuckets<UtilBucket> }
  >();
  private readonly failures = new Map<string, number>();
  private readonly byFlavor = new Map<string, FlavorCounts>();
  private readonly activeByCell = new Map<string, number>();
  private readonly anomalyExamples: string[] = [];
  private anomalyCount = 0;
  private counts = { submitted: 0, scheduled: 0, active: 0, failed: 0, deleted: 0, deletedInFlight: 0 };
  private reschedules = 0;
  private claimConflicts = 0;
  private lastEventMs = 0;
  private readonly opts: Required<SimMetricsOptions>;

  constructor(options: SimMetricsOptions = {}) {
    this.opts = {
      bootBucketMs: options.bootBucketMs ?? 1000,
      maxBootBuckets: options.maxBootBuckets ?? 10_000,
      utilisationBucketMs: options.utilisationBucketMs ?? 1000,
      maxUtilisationBuckets: options.maxUtilisationBuckets ?? 1000,
      maxAnomalyExamples: options.maxAnomalyExamples ?? 20,
    };
    this.boots = new TimeBuckets(this.opts.bootBucketMs, this.opts.maxBootBuckets, (a, b) => a + b);
    // Fail now on a bad utilisation option rather than at the first sample.
    new TimeBuckets(this.opts.utilisationBucketMs, this.opts.maxUtilisationBuckets, mergeUtil);
  }

  /** Number of requests submitted and not yet active, failed or deleted. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  requestSubmitted(id: string, t: number, info: SubmitInfo): void {
    this.at(t);
    if (this.inFlight.has(id)) {
      this.anomaly(`request ${id} submitted twice (t=${t})`);
      return;
    }
    this.inFlight.set(id, { submittedMs: t, flavor: info.flavor, scheduledMs: undefined });
    this.counts.submitted++;
    this.flavor(info.flavor).submitted++;
  }

  /** A scheduling decision. Schedule latency counts the first decision only (retries show in e2e). */
  requestScheduled(id: string, t: number): void {
    this.at(t);
    const r = this.inFlight.get(id);
    if (!r) {
      this.anomaly(`request ${id} scheduled but not in flight (t=${t})`);
      return;
    }
    if (r.scheduledMs !== undefined) return;
    r.scheduledMs = t;
    this.counts.scheduled++;
    this.recordLatency(this.scheduleLatency, t - r.submittedMs, id);
  }

  requestActive(id: string, t: number, info: ActiveInfo): void {
    this.at(t);
    const r = this.inFlight.get(id);
    if (!r) {
      this.anomaly(`request ${id} active but not in flight (t=${t})`);
      return;
    }
    this.inFlight.delete(id);
    this.counts.active++;
    this.flavor(r.flavor).active++;
    this.activeByCell.set(info.cell, (this.activeByCell.get(info.cell) ?? 0) + 1);
    this.recordLatency(this.endToEndLatency, t - r.submittedMs, id);
    this.boots.add(t, 1);
  }

  requestFailed(id: string, t: number, reason: string): void {
    this.at(t);
    const r = this.inFlight.get(id);
    if (!r) {
      this.anomaly(`request ${id} failed but not in flight (t=${t}, reason: ${reason})`);
      return;
    }
    this.inFlight.delete(id);
    this.counts.failed++;
    this.flavor(r.flavor).failed++;
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  reschedule(_id: string): void {
    this.reschedules++;
  }

  claimConflict(_id: string): void {
    this.claimConflicts++;
  }

  /** An instance deleted. If it was still building, its request ends here too. */
  deleted(id: string, t: number): void {
    this.at(t);
    this.counts.deleted++;
    if (this.inFlight.delete(id)) this.counts.deletedInFlight++;
  }

  /** Usage of each resource class of one cell at simulated time `t`. */
  sampleUtilisation(t: number, cell: string, classes: Record<string, ClassUsage>): void {
    this.at(t);
    for (const rc of Object.keys(classes)) {
      const u = classes[rc]!;
      if (!Number.isFinite(u.used) || !Number.isFinite(u.capacity) || u.capacity < 0) {
        this.anomaly(`utilisation sample for ${cell}/${rc} is not finite or has negative capacity (t=${t})`);
        continue;
      }
      const key = `${cell}\u0000${rc}`;
      let entry = this.utilisation.get(key);
      if (!entry) {
        const series = new TimeBuckets(
          this.opts.utilisationBucketMs,
          this.opts.maxUtilisationBuckets,
          mergeUtil,
        );
        entry = { cell, rc, series };
        this.utilisation.set(key, entry);
      }
      const fraction = u.capacity > 0 ? u.used / u.capacity : 0;
      entry.series.add(t, { sumUsed: u.used, sumCapacity: u.capacity, samples: 1, maxFraction: fraction });
    }
  }

  snapshot(): MetricsReport {
    const end = this.lastEventMs;
    this.boots.extendTo(end);
    const bootCounts = this.boots.values().map((c) => c ?? 0);
    const failuresByReason = sortedRecord(this.failures, (n) => n);
    const totalFailures = this.counts.failed;
    return {
      durationMs: end,
      requests: { ...this.counts, inFlight: this.inFlight.size },
      reschedules: this.reschedules,
      claimConflicts: this.claimConflicts,
      failuresByReason,
      successRate:
        this.counts.active + totalFailures > 0
          ? this.counts.active / (this.counts.active + totalFailures)
          : null,
      byFlavor: sortedRecord(this.byFlavor, (c) => ({ ...c })),
      activeByCell: sortedRecord(this.activeByCell, (n) => n),
      latencyMs: {
        schedule: latencyStats(this.scheduleLatency),
        endToEnd: latencyStats(this.endToEndLatency),
      },
      boots: { bucketMs: this.boots.widthMs, counts: bootCounts },
      utilisation: this.utilisationSeries(),
      anomalies: { count: this.anomalyCount, examples: [...this.anomalyExamples] },
    };
  }

  private utilisationSeries(): UtilisationSeries[] {
    const entries = [...this.utilisation.values()].sort(
      (a, b) => compareStrings(a.cell, b.cell) || compareStrings(a.rc, b.rc),
    );
    return entries.map(({ cell, rc, series }) => {
      const points: UtilisationSeries['points'] = [];
      series.values().forEach((b, i) => {
        if (!b) return;
        points.push({
          tMs: i * series.widthMs,
          used: b.sumUsed / b.samples,
          capacity: b.sumCapacity / b.samples,
          fraction: b.sumCapacity > 0 ? b.sumUsed / b.sumCapacity : 0,
          maxFraction: b.maxFraction,
        });
      });
      return { cell, rc, bucketMs: series.widthMs, points };
    });
  }

  private flavor(name: string): FlavorCounts {
    let c = this.byFlavor.get(name);
    if (!c) {
      c = { submitted: 0, active: 0, failed: 0 };
      this.byFlavor.set(name, c);
    }
    return c;
  }

  private recordLatency(h: hdr.Histogram, ms: number, id: string): void {
    if (ms < 0) {
      this.anomaly(`request ${id} has a negative latency (${ms} ms): events out of order`);
      return;
    }
    h.recordValue(Math.round(ms * US_PER_MS));
  }

  /** Validates a simulated time: a caller bug (NaN, negative) throws at once. */
  private at(t: number): void {
    if (!Number.isFinite(t) || t < 0) {
      throw new RangeError(`simulated time must be a finite number of ms >= 0 since run start, got ${t}`);
    }
    if (t > this.lastEventMs) this.lastEventMs = t;
  }

  private anomaly(message: string): void {
    this.anomalyCount++;
    if (this.anomalyExamples.length < this.opts.maxAnomalyExamples) this.anomalyExamples.push(message);
  }
}
