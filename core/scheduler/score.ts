/**
 * Scoring: each weigher's raw weights over the feasible hosts are normalised to integers 0..100
 * (min → 0, max → 100, all equal → 0: Nova's normalisation, scaled and rounded so scores compare
 * exactly and replay bit-for-bit), then total = Σ multiplier × score. Ties go to the host found
 * first in the shuffled order, so equal hosts are picked at random, reproducibly per request.
 */

import type { ScoredHost } from './explain.ts';
import type { PreparedWeigher, Weigher } from './stage.ts';

export const MAX_SCORE = 100;

export interface PreparedWeighing {
  readonly weigher: Weigher;
  readonly prepared: PreparedWeigher;
}

/** Integer scores 0..100 for `raw` (same length). */
export function normalise(raw: Float64Array): Uint8Array {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of raw) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const out = new Uint8Array(raw.length);
  const range = max - min;
  if (!(range > 0) || !Number.isFinite(range)) return out;
  for (let i = 0; i < raw.length; i++) out[i] = Math.round((MAX_SCORE * (raw[i]! - min)) / range);
  return out;
}

export interface Ranking {
  /** Positions into `hosts`, best first. */
  readonly order: readonly number[];
  readonly totals: Float64Array;
  /** Per weigher, per position. */
  readonly scores: readonly Uint8Array[];
}

/** Scores `hosts` (in discovery order) and ranks them. */
export function rank(hosts: readonly number[], weighings: readonly PreparedWeighing[]): Ranking {
  const n = hosts.length;
  const totals = new Float64Array(n);
  const scores = weighings.map(({ weigher, prepared }) => {
    const raw = new Float64Array(n);
    for (let i = 0; i < n; i++) raw[i] = prepared.weigh(hosts[i]!);
    const s = normalise(raw);
    for (let i = 0; i < n; i++) totals[i] = totals[i]! + weigher.multiplier * s[i]!;
    return s;
  });
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => totals[b]! - totals[a]! || a - b);
  return { order, totals, scores };
}

/** The explanation lines of the best `k` ranked hosts. */
export function topScores(
  r: Ranking,
  hosts: readonly number[],
  weighings: readonly PreparedWeighing[],
  name: (h: number) => string,
  k: number,
): ScoredHost[] {
  return r.order.slice(0, k).map((pos) => ({
    host: name(hosts[pos]!),
    total: r.totals[pos]!,
    parts: weighings.map(({ weigher }, w) => {
      const score = r.scores[w]![pos]!;
      return {
        stage: weigher.name,
        score,
        multiplier: weigher.multiplier,
        weighted: weigher.multiplier * score,
      };
    }),
  }));
}
