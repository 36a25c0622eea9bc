/**
 * The request spec the pipeline runs: what one boot (of `numInstances` servers) needs. It is the
 * scheduler's own normalised form, built by `parseNovaRequest` (request-parse.ts) from a Nova-style
 * flavor + extra_specs + scheduler hints, or directly by tests and the simulator.
 *
 * Invariants (the parser guarantees them; hand-built specs must keep them):
 * - `resources` lists each resource class once, amounts are positive integers, sorted by class;
 * - a trait is in at most one of `requiredTraits` / `forbiddenTraits`;
 * - `group.maxServerPerHost` is 1 unless the policy is anti-affinity.
 */

export const GROUP_POLICIES = ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'] as const;
export type GroupPolicy = (typeof GROUP_POLICIES)[number];

/** Largest `num_instances` one request may ask for (Nova bounds it by quota only; we name a limit). */
export const MAX_INSTANCES_PER_REQUEST = 1000;
/** Largest ignore/force host list one request may carry. */
export const MAX_HOST_LIST = 1000;

export interface ResourceAmount {
  readonly rc: string;
  readonly amount: number;
}

/** One `aggregate_instance_extra_specs:<key>` = `<requirement>` (requirement may start with an operator). */
export interface AggregateSpec {
  readonly key: string;
  readonly requirement: string;
}

/**
 * One granular request group (`resources<N>:`, `trait<N>:` in the flavor): its resources come
 * from ONE provider of the host's tree, which must have its required traits and none of its
 * forbidden ones. Placement's semantics; the shard answers it with the Placement engine on the
 * host's tree (actors/scheduler-shard-granular.ts), through `Snapshot.treeFit`.
 */
export interface GranularGroup {
  readonly suffix: string;
  readonly resources: readonly ResourceAmount[];
  readonly required: readonly string[];
  readonly forbidden: readonly string[];
}

export type GranularPolicy = 'none' | 'isolate';

export interface GranularSpec {
  readonly groups: readonly GranularGroup[];
  /** `group_policy`: `isolate` puts each group on a different provider. */
  readonly policy: GranularPolicy;
}

export interface ServerGroupSpec {
  readonly id: string;
  readonly policy: GroupPolicy;
  /** Anti-affinity's `max_server_per_host` rule (Nova microversion 2.64); 1 otherwise. */
  readonly maxServerPerHost: number;
}

export interface RequestSpec {
  /** The request id; also the seed of the request's host shuffle, so a placement replays exactly. */
  readonly id: string;
  readonly numInstances: number;
  /** Per instance. */
  readonly resources: readonly ResourceAmount[];
  readonly requiredTraits: readonly string[];
  readonly forbiddenTraits: readonly string[];
  readonly aggregateSpecs: readonly AggregateSpec[];
  readonly availabilityZone: string | null;
  /** The instance's project (tenant-isolation); null when the caller did not say. */
  readonly projectId: string | null;
  /** Granular request groups; null for a request without any (the columns answer it alone). */
  readonly granular: GranularSpec | null;
  readonly group: ServerGroupSpec | null;
  /** Host names never to use (Nova's ignore_hosts). */
  readonly ignoreHosts: readonly string[];
  /** Admin only: the hosts (by host name) / nodes (by node name) to choose among. */
  readonly forceHosts: readonly string[];
  readonly forceNodes: readonly string[];
}

/** A request with nothing but an id and resources; the rest empty. For code that builds specs directly. */
export function makeRequestSpec(id: string, fields: Partial<Omit<RequestSpec, 'id'>> = {}): RequestSpec {
  return Object.freeze({
    id,
    numInstances: 1,
    resources: [],
    requiredTraits: [],
    forbiddenTraits: [],
    aggregateSpecs: [],
    availabilityZone: null,
    projectId: null,
    granular: null,
    group: null,
    ignoreHosts: [],
    forceHosts: [],
    forceNodes: [],
    ...fields,
  });
}

/** The amount of `rc` one instance needs (0 when not requested). */
export function amountOf(req: RequestSpec, rc: string): number {
  for (const r of req.resources) if (r.rc === rc) return r.amount;
  return 0;
}
