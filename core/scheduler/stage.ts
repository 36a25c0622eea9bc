/**
 * The extension points of the pipeline: one tiny interface each (Kubernetes scheduler framework
 * style), and a registry of named stage factories with typed arguments that profiles select by
 * name (profile.ts). Stages are pure: they read the snapshot and the request, never the clock,
 * randomness or I/O.
 *
 * Per request (and again per instance of a batch, after the previous instance was assumed) the
 * pipeline calls `prepare`: a stage turns the request into a cheap per-host function, or returns
 * null when it cannot matter for this request (no traits asked → the traits filter is skipped).
 */

import { CellplaneError } from '../errors.ts';
import type { RequestSpec } from './request.ts';
import type { Snapshot } from './snapshot.ts';
import type { Status } from './status.ts';

export interface StageContext {
  readonly snapshot: Snapshot;
  readonly request: RequestSpec;
}

export interface PreparedFilter {
  /**
   * OK (the shared constant: the pass path must not allocate) or a rejection built in `prepare`.
   * Must be a pure function of the host's snapshot columns (and overlay) and the request.
   */
  readonly test: (host: number) => Status;
  /**
   * When set, no host outside `hosts` can pass (Kubernetes' PreFilterResult): the pipeline
   * evaluates only these and counts every other host as rejected with `status`.
   */
  readonly only?: { readonly hosts: readonly number[]; readonly status: Status };
}

export interface Filter {
  readonly kind: 'filter';
  readonly name: string;
  /**
   * True when `test` reads only class attributes (service state, traits, aggregates, zone — see
   * snapshot.ts): its answer for one host is cached for every host of the same class, for the
   * rest of the request. Its rejections should use `unschedulableAndUnresolvable`.
   */
  readonly classCacheable: boolean;
  /** Relative cost of one `test` call (1 = an array read); the pipeline runs cheaper filters first. */
  readonly cost: number;
  prepare(ctx: StageContext): PreparedFilter | null;
}

export interface PreparedWeigher {
  /** Raw weight of a feasible host, finite; higher is better before the multiplier is applied. */
  readonly weigh: (host: number) => number;
  /** Hosts to evaluate before the shuffled rest, so a small limit still sees them (soft affinity). */
  readonly prefer?: readonly number[];
}

/**
 * A weigher. The pipeline normalises raw weights over the feasible hosts to integers 0..100
 * (min → 0, max → 100, all equal → 0, as Nova's normalisation) and adds multiplier × score.
 * A positive multiplier prefers high raw weights (spread, for free-capacity weighers); a negative
 * one prefers low ones (pack).
 */
export interface Weigher {
  readonly kind: 'weigher';
  readonly name: string;
  readonly multiplier: number;
  prepare(ctx: StageContext): PreparedWeigher | null;
}

export type Stage = Filter | Weigher;

/** A named stage constructor with typed arguments, parsed from a profile's plain data. */
export interface StageFactory<A = unknown> {
  readonly name: string;
  readonly kind: Stage['kind'];
  /** One line for `cellplane scheduler stages` and the README. */
  readonly doc: string;
  /** Validates and fills defaults; throws CellplaneError('invalid') naming the argument. */
  parseArgs(raw: Readonly<Record<string, unknown>>): A;
  create(args: A): Stage;
}

/** Erases the argument type so factories of different stages share one registry. */
export function defineStage<A>(f: StageFactory<A>): StageFactory {
  return f as unknown as StageFactory;
}

export class StageRegistry {
  private readonly factories = new Map<string, StageFactory>();

  constructor(factories: readonly StageFactory[] = []) {
    for (const f of factories) this.register(f);
  }

  register(f: StageFactory): this {
    if (this.factories.has(f.name))
      throw new CellplaneError('invalid', `stage ${f.name} is already registered`);
    this.factories.set(f.name, f);
    return this;
  }

  get(name: string): StageFactory | undefined {
    return this.factories.get(name);
  }

  names(): string[] {
    return [...this.factories.keys()].sort();
  }
}
