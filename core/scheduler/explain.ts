/**
 * Rejection is data: every request accumulates what was evaluated, what each stage rejected and
 * why (counts per stage and reason), the host-class cache's hits, and the top scores with their
 * per-stage parts. `explain`, the simulator's failure report and metrics all read this object;
 * it is plain JSON-able data. Counts are summed over the instances of a batch (each instance
 * evaluates hosts anew).
 */

import type { Status } from './status.ts';

/** Scored hosts kept per placement in the explanation. */
export const EXPLAIN_TOP_SCORES = 5;

export interface ScorePart {
  readonly stage: string;
  /** Normalised score, integer 0..100. */
  readonly score: number;
  readonly multiplier: number;
  /** multiplier × score. */
  readonly weighted: number;
}

export interface ScoredHost {
  readonly host: string;
  readonly total: number;
  readonly parts: readonly ScorePart[];
}

export interface PlacementExplain {
  readonly instance: number;
  /** Hosts left after the stages' `only` restrictions. */
  readonly candidates: number;
  readonly evaluated: number;
  readonly feasible: number;
  readonly limit: number;
  /** True when the limit stopped the scan before every candidate was evaluated. */
  readonly stoppedEarly: boolean;
  readonly top: readonly ScoredHost[];
}

export interface Explain {
  readonly requestId: string;
  readonly profile: string;
  readonly snapshotGeneration: number;
  readonly hosts: number;
  readonly outcome: 'selected' | 'noValidHost';
  readonly evaluated: number;
  readonly feasible: number;
  readonly classCache: { readonly hits: number; readonly misses: number };
  /** Stages that could not matter for this request (their prepare returned null). */
  readonly skipped: readonly string[];
  /** stage → reason → hosts rejected. */
  readonly rejected: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Rejections whose code is `unschedulable` (might pass after a state change). */
  readonly resolvableRejections: number;
  readonly placements: readonly PlacementExplain[];
}

/** Mutable accumulator the pipeline writes into; `finish` freezes it into an Explain. */
export class ExplainRecorder {
  evaluated = 0;
  feasible = 0;
  cacheHits = 0;
  cacheMisses = 0;
  resolvable = 0;
  private readonly skipped = new Set<string>();
  private readonly rejected = new Map<string, Map<string, number>>();
  private readonly placements: PlacementExplain[] = [];

  constructor(
    private readonly requestId: string,
    private readonly profile: string,
    private readonly generation: number,
    private readonly hosts: number,
  ) {}

  skip(stage: string): void {
    this.skipped.add(stage);
  }

  reject(s: Status, count = 1): void {
    if (count <= 0) return;
    let per = this.rejected.get(s.stage);
    if (!per) {
      per = new Map();
      this.rejected.set(s.stage, per);
    }
    per.set(s.reason, (per.get(s.reason) ?? 0) + count);
    if (s.code === 'unschedulable') this.resolvable += count;
  }

  placement(p: PlacementExplain): void {
    this.placements.push(p);
    this.evaluated += p.evaluated;
    this.feasible += p.feasible;
  }

  finish(outcome: Explain['outcome']): Explain {
    const rejected: Record<string, Record<string, number>> = {};
    for (const [stage, per] of this.rejected) rejected[stage] = Object.fromEntries(per);
    return {
      requestId: this.requestId,
      profile: this.profile,
      snapshotGeneration: this.generation,
      hosts: this.hosts,
      outcome,
      evaluated: this.evaluated,
      feasible: this.feasible,
      classCache: { hits: this.cacheHits, misses: this.cacheMisses },
      skipped: [...this.skipped],
      rejected,
      resolvableRejections: this.resolvable,
      placements: this.placements,
    };
  }
}

/** One line per stage and reason, most frequent first: "resources: insufficient VCPU ×12". */
export function summarize(e: Explain): string[] {
  const lines: [string, number][] = [];
  for (const [stage, per] of Object.entries(e.rejected)) {
    for (const [reason, n] of Object.entries(per)) lines.push([`${stage}: ${reason}`, n]);
  }
  return lines.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([l, n]) => `${l} ×${n}`);
}
