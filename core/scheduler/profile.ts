/**
 * A profile names the stages a scheduler runs, with their arguments, plus the limit and the
 * number of alternates (Kubernetes' scheduler profiles; Nova's enabled_filters/weight_classes).
 * `buildProfile` validates everything once and returns a frozen Profile; a bad profile is an
 * `invalid` error naming the stage or field, raised at startup, never mid-request.
 */

import { CellplaneError } from '../errors.ts';
import type { RawArgs } from './args.ts';
import type { Filter, StageRegistry, Weigher } from './stage.ts';
import { builtinRegistry } from './stages/index.ts';

/**
 * How many feasible hosts to find before scoring (Nomad's limit iterator):
 * 'log2' → max(2, ceil(log2(candidates))); a number → that many; 'all' → every feasible host.
 * Never fewer than 1 + alternates, so alternates have hosts to come from.
 */
export type LimitSpec = 'log2' | 'all' | number;

/** Nova's max_attempts (3) less the selected host. */
export const DEFAULT_ALTERNATES = 2;
export const MAX_ALTERNATES = 16;

export interface StageRef {
  readonly name: string;
  readonly args?: RawArgs;
}

export interface ProfileSpec {
  readonly name: string;
  readonly filters: readonly (string | StageRef)[];
  readonly weighers: readonly (string | StageRef)[];
  readonly limit?: LimitSpec;
  readonly alternates?: number;
}

export interface Profile {
  readonly name: string;
  readonly filters: readonly Filter[];
  readonly weighers: readonly Weigher[];
  readonly limit: LimitSpec;
  readonly alternates: number;
}

/**
 * Nova's defaults, adapted: its enabled_filters (ComputeFilter, AvailabilityZoneFilter, the two
 * server-group filters, …) plus what Placement does for Nova before the filters run (resources,
 * traits) and what Nova does around them (ignore/force hosts); aggregate-extra-specs is skipped
 * for requests without aggregate extra specs, so it costs nothing when unused. Unlike Nova's
 * defaults, tenant-isolation (AggregateMultiTenancyIsolation) and isolated-aggregates
 * (enable_isolated_aggregate_filtering) are on: metadata an operator set must not be ignored;
 * both cost nothing while no aggregate carries their keys. Weighers: Nova's
 * all_weighers with its default multipliers (metrics has no settings: skipped until configured).
 */
export const DEFAULT_PROFILE_SPEC: ProfileSpec = Object.freeze({
  name: 'default',
  filters: [
    'compute',
    'availability-zone',
    'traits',
    'aggregate-extra-specs',
    'tenant-isolation',
    'isolated-aggregates',
    'ignore-hosts',
    'force-hosts',
    'affinity',
    'anti-affinity',
    'resources',
    'provider-tree',
  ],
  weighers: ['ram', 'cpu', 'disk', 'build-failure', 'metrics', 'soft-affinity', 'soft-anti-affinity'],
  limit: 'log2',
  alternates: DEFAULT_ALTERNATES,
});

function invalid(field: string, message: string): CellplaneError {
  return new CellplaneError('invalid', `profile ${field}: ${message}`, { details: { field } });
}

function build<K extends 'filter' | 'weigher'>(
  registry: StageRegistry,
  kind: K,
  refs: readonly (string | StageRef)[],
): (K extends 'filter' ? Filter : Weigher)[] {
  const seen = new Set<string>();
  return refs.map((r) => {
    const ref = typeof r === 'string' ? { name: r } : r;
    const f = registry.get(ref.name);
    if (!f) throw invalid(`${kind}s`, `unknown stage '${ref.name}' (known: ${registry.names().join(', ')})`);
    if (f.kind !== kind) throw invalid(`${kind}s`, `stage '${ref.name}' is a ${f.kind}, not a ${kind}`);
    if (seen.has(ref.name)) throw invalid(`${kind}s`, `stage '${ref.name}' is listed twice`);
    seen.add(ref.name);
    return f.create(f.parseArgs(ref.args ?? {})) as K extends 'filter' ? Filter : Weigher;
  });
}

export function buildProfile(spec: ProfileSpec, registry: StageRegistry = builtinRegistry()): Profile {
  if (!spec.name) throw invalid('name', 'must be non-empty');
  const limit = spec.limit ?? 'log2';
  if (limit !== 'log2' && limit !== 'all' && !(Number.isInteger(limit) && limit >= 1)) {
    throw invalid('limit', `must be 'log2', 'all' or an integer >= 1, got ${JSON.stringify(limit)}`);
  }
  const alternates = spec.alternates ?? DEFAULT_ALTERNATES;
  if (!Number.isInteger(alternates) || alternates < 0 || alternates > MAX_ALTERNATES) {
    throw invalid('alternates', `must be an integer in 0..${MAX_ALTERNATES}, got ${alternates}`);
  }
  return Object.freeze({
    name: spec.name,
    filters: Object.freeze(build(registry, 'filter', spec.filters)),
    weighers: Object.freeze(build(registry, 'weigher', spec.weighers)),
    limit,
    alternates,
  });
}

/** How many feasible hosts to collect for one placement among `candidates` hosts. */
export function feasibleLimit(limit: LimitSpec, candidates: number, alternates: number): number {
  const base =
    limit === 'all'
      ? Number.POSITIVE_INFINITY
      : limit === 'log2'
        ? Math.max(2, Math.ceil(Math.log2(candidates)))
        : limit;
  return Math.max(base, 1 + alternates);
}
