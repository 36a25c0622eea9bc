/**
 * Single-request latencies of the cells suite in an HDR histogram (hdr-histogram-js, as the
 * simulator's metrics use it): microsecond integers, 3 significant digits, so p50/p99/max are
 * within 0.1% whatever the count; and the results the suite's child processes print (one JSON
 * line, the last on stdout) for the parent to put in RESULTS.md.
 */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** Latencies recorded in µs; one recorder per measured phase. */
export class LatencyRecorder {
  private readonly h = hdr.build({
    useWebAssembly: false,
    bitBucketSize: 'packed',
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000, // a minute in µs; autoResize covers longer
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });

  /** One request's duration in milliseconds (performance.now() differences); at least 1 µs. */
  record(ms: number): void {
    if (!(ms >= 0)) throw new Error(`latency must be a number >= 0, got ${ms}`);
    this.h.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  summary(): LatencySummary {
    const h = this.h;
    if (h.totalCount === 0)
      return { count: 0, p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN, meanMs: Number.NaN };
    const ms = (us: number) => us / 1000;
    return {
      count: h.totalCount,
      p50Ms: ms(h.getValueAtPercentile(50)),
      p99Ms: ms(h.getValueAtPercentile(99)),
      maxMs: ms(h.maxValue),
      meanMs: ms(h.mean),
    };
  }
}

/** Per second, for `count` things done in `ms` milliseconds (NaN when no time passed). */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.NaN;
}

/** What `cells-select.ts` prints: one size, one mode. */
export interface SelectResult {
  readonly mode: 'embedded' | 'nats';
  readonly hosts: number;
  /** Hosts the shard reported when serving (must equal `hosts`). */
  readonly shardTrees: number;
  /** Hosts with room for the request (the rest are filtered). */
  readonly feasible: number;
  readonly warmup: number;
  readonly latency: LatencySummary;
  /** Requests ÷ wall time of the measured loop (sequential: one in flight). */
  readonly requestsPerS: number;
  /** Registering the trees and claiming their usage through the tree actors. */
  readonly loadMs: number;
  /** From the shard's start to serving (takeover: election + resync from the store). */
  readonly takeoverMs: number;
  /** The explain of the last reply: hosts, evaluated and feasible. */
  readonly explain: { readonly hosts: number; readonly evaluated: number; readonly feasible: number };
  readonly where: string;
}

/** What `cells-boots.ts` prints. */
export interface BootResult {
  readonly mode: 'embedded' | 'nats';
  readonly cells: number;
  readonly hostsPerCell: number;
  readonly servers: number;
  readonly concurrency: number;
  readonly spawnMs: string;
  /** Time to 202 for every POST (the timed phase's start to the last 202). */
  readonly acceptMs: number;
  /** The timed phase's start to the last server leaving BUILD. */
  readonly settleMs: number;
  readonly acceptedPerS: number;
  readonly settledPerS: number;
  readonly active: number;
  readonly errors: number;
  /** Distinct fault messages of ERROR servers (cut short). */
  readonly faults: readonly string[];
  /** POST /servers latency (to the 202). */
  readonly post: LatencySummary;
  /** How completion was detected. */
  readonly settledBy: string;
  readonly startMs: number;
  readonly where: string;
}

/** The last stdout line of a child, parsed; a clear error when it is not JSON. */
export function lastJsonLine<T>(stdout: string, what: string): T {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${what}: expected a JSON result as the last output line, got "${line.slice(0, 200)}"`);
  }
}
