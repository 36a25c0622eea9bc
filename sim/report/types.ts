/**
 * The input of every report renderer: plain data the simulator assembles at the end of a run.
 * Renderers never compute simulation results; they only lay these numbers out.
 */
import type { CapacityTable, Fragmentation } from '../capacity.ts';
import type { MetricsReport } from '../metrics.ts';

export interface ScenarioSummary {
  name: string;
  seed: number | string;
  /** `virtual` (seeded, embedded adapters) or `real` (NATS/etcd/Redis), as the simulator names it. */
  mode: string;
  /** Hash of the metrics snapshot, for comparing replays. */
  hash?: string;
  /** Any further scalar facts (hosts, cells, duration…): shown as a key/value list. */
  [key: string]: unknown;
}

export interface SimReport {
  scenario: ScenarioSummary;
  metrics: MetricsReport;
  capacity: CapacityTable;
  fragmentation: Fragmentation;
  invariants: { checks: number; violations: string[] };
}

/** What the report's times are: simulated (virtual mode) or wall-clock (real time). */
export function timeKind(r: SimReport): 'simulated' | 'wall-clock' {
  return r.scenario.mode === 'real' ? 'wall-clock' : 'simulated';
}

/** Scenario keys shown in the header rather than in the free-form list. */
export const HEADER_KEYS: ReadonlySet<string> = new Set(['name', 'seed', 'mode', 'hash']);

/** The free-form part of the scenario summary, sorted by key, values as display strings. */
export function scenarioExtras(s: ScenarioSummary): [string, string][] {
  return Object.keys(s)
    .filter((k) => !HEADER_KEYS.has(k) && s[k] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => {
      const v = s[k];
      return [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v))];
    });
}

/** Boots per simulated second in each bucket of the boots series. */
export function bootsPerSecond(m: MetricsReport): number[] {
  const perSecond = 1000 / m.boots.bucketMs;
  return m.boots.counts.map((c) => c * perSecond);
}

/** Short human form of a duration in ms: 950 ms, 12.5 s, 3 m 20 s, 2 h 05 m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${round(ms, 1)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${round(s, 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}

/** A number with at most `digits` decimals and no trailing zeros (stable across locales). */
export function round(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  const f = 10 ** digits;
  return String(Math.round(n * f) / f);
}
