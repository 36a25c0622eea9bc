/**
 * The scheduler shard's ask (`cp.<cell>.sched.<shard>`, served by the shard's current leader):
 * `selectHosts` — "select N hosts for this request spec". Versioned envelopes (STYLE.md §7):
 * new fields must be optional so an older reader still parses a newer writer's message.
 *
 * The request carries the Nova-style fields core/scheduler's `parseNovaRequest` takes (flavor
 * with extra_specs, availability zone, hints, server group, ignore/force hosts), the request id
 * (also the seed of the placement: a request replays exactly on the same snapshot), the number
 * of instances and how many alternates to return per instance.
 *
 * The reply is data either way (STYLE.md §5): `outcome: 'selected'` with one selection per
 * instance, or `'noValidHost'` with `retryable` and the explain summary saying why. Each
 * selection and alternate names the host, its root provider, the per-provider allocations to
 * claim on the provider-tree actor and the generations of those providers in the shard's
 * snapshot (the claim's `expectedGenerations`: a stale snapshot is refused with `conflict`,
 * and the caller moves on to the next alternate).
 */
import { defineMessage, type MessageType } from '../core/codec/envelope.ts';
import {
  asList,
  asNested,
  asObject,
  asOneOf,
  asRecord,
  asString,
  boolean,
  type Fields,
  int,
  list,
  number,
  optBoolean,
  optInt,
  optNested,
  optString,
  optStrings,
  string,
  strings,
} from '../core/codec/fields.ts';
import { CellplaneError } from '../core/errors.ts';
import type { CapacitySummary, ZoneCapacity } from '../core/scheduler/capacity-summary.ts';
import { MAX_ALTERNATES } from '../core/scheduler/profile.ts';
import { MAX_HOST_LIST, MAX_INSTANCES_PER_REQUEST } from '../core/scheduler/request.ts';
import type { NovaFlavor, NovaGroup, NovaRequestInput } from '../core/scheduler/request-parse.ts';
import {
  type Allocations,
  asAllocations,
  asGenerations,
  asUuid,
  type Generations,
} from './provider-tree-wire.ts';
import { type AskType, defineAsk } from './runtime/protocol.ts';

/** Actor kind of scheduler shards: address `sched/<shard number>` in the cell's scope. */
export const SCHEDULER_SHARD_KIND = 'sched';
/** Extra specs one flavor may carry on the wire. */
export const MAX_EXTRA_SPECS = 256;
/** Lines of rejection summary a reply carries (most frequent first). */
export const MAX_EXPLAIN_LINES = 32;

export interface SelectRequest {
  /** The request id: seeds the placement, so the same request on the same snapshot replays exactly. */
  readonly id: string;
  readonly flavor: NovaFlavor;
  readonly numInstances: number;
  /** Alternates per instance (default: the profile's, Nova's 2). */
  readonly alternates?: number;
  readonly availabilityZone?: string | null;
  readonly schedulerHints?: Readonly<Record<string, unknown>>;
  readonly group?: NovaGroup | null;
  readonly ignoreHosts?: readonly string[];
  readonly forceHosts?: readonly string[];
  readonly forceNodes?: readonly string[];
  /** Forcing a host or node is admin only (as in Nova). */
  readonly isAdmin?: boolean;
  /** The instance's project (aggregates isolated per tenant, `filter_tenant_id`). */
  readonly projectId?: string;
  /**
   * Hosts already running members of `group`, once per member (the conductor knows them from its
   * instance records; the shard's snapshot does not track group membership). The affinity
   * stages count them as if they were in the snapshot.
   */
  readonly groupHosts?: readonly string[];
}

/** One host for one instance: what to claim, where, and against which generations. */
export interface HostPick {
  readonly host: string;
  readonly node: string;
  /** Root provider uuid: the provider-tree actor to claim on. */
  readonly root: string;
  /** Per provider of the tree: the amounts one instance needs (the claim's `allocations`). */
  readonly allocations: Allocations;
  /** Generations of those providers in the shard's snapshot (the claim's `expectedGenerations`). */
  readonly generations: Generations;
}

export interface InstanceSelection extends HostPick {
  readonly instance: number;
  /** Next-best hosts, best first: fallbacks on a claim conflict or a failed spawn. */
  readonly alternates: readonly HostPick[];
}

/** The pipeline's explanation, flattened for the wire (core/scheduler/explain.ts). */
export interface ExplainSummary {
  readonly profile: string;
  /** The shard snapshot's generation (grows with every change applied to it). */
  readonly snapshotGeneration: number;
  readonly hosts: number;
  readonly evaluated: number;
  readonly feasible: number;
  readonly skipped: readonly string[];
  /** "stage: reason ×n", most frequent first, at most MAX_EXPLAIN_LINES. */
  readonly rejected: readonly string[];
  readonly resolvableRejections: number;
}

export interface SelectReply {
  readonly requestId: string;
  readonly shard: number;
  readonly outcome: 'selected' | 'noValidHost';
  /** noValidHost only: false when the same request will not fit on a retry either. */
  readonly retryable: boolean;
  readonly message: string;
  /** One per instance, in instance order; empty on noValidHost. */
  readonly selections: readonly InstanceSelection[];
  readonly explain: ExplainSummary;
}

function message<T>(type: string, parse: (o: Fields, path: string) => T): MessageType<T> {
  return defineMessage<T>({ type, major: 1, minor: 0, parse: (b) => parse(asObject(b, type), type) });
}

const hostList = (o: Fields, key: string, p: string) => optStrings(o, key, p, { maxItems: MAX_HOST_LIST });

function asFlavor(o: Fields, p: string): NovaFlavor {
  const extra = o.extra_specs ?? {};
  const specs = asRecord(extra, `${p}.extra_specs`, (v, q) => asString(v, q));
  if (Object.keys(specs).length > MAX_EXTRA_SPECS)
    throw new CellplaneError('invalid', `${p}.extra_specs has more than ${MAX_EXTRA_SPECS} entries`);
  const ephemeral = optInt(o, 'ephemeral', p);
  const swap = optInt(o, 'swap', p);
  return {
    vcpus: int(o, 'vcpus', p),
    ram: int(o, 'ram', p),
    disk: int(o, 'disk', p),
    ...(ephemeral === undefined ? {} : { ephemeral }),
    ...(swap === undefined ? {} : { swap }),
    extra_specs: specs,
  };
}

function asGroup(o: Fields, p: string): NovaGroup {
  const rules = o.rules === undefined || o.rules === null ? undefined : asObject(o.rules, `${p}.rules`);
  return { uuid: string(o, 'uuid', p), policy: string(o, 'policy', p), ...(rules ? { rules } : {}) };
}

function parseSelect(o: Fields, p: string): SelectRequest {
  const out: Record<string, unknown> = {
    id: string(o, 'id', p, { minLength: 1, maxLength: 255 }),
    flavor: asNested(o.flavor, `${p}.flavor`, asFlavor),
    numInstances: int(o, 'numInstances', p, { min: 1, max: MAX_INSTANCES_PER_REQUEST }),
  };
  const alternates = optInt(o, 'alternates', p, { min: 0, max: MAX_ALTERNATES });
  if (alternates !== undefined) out.alternates = alternates;
  if (o.availabilityZone !== undefined) out.availabilityZone = optString(o, 'availabilityZone', p) ?? null;
  if (o.schedulerHints !== undefined && o.schedulerHints !== null)
    out.schedulerHints = asObject(o.schedulerHints, `${p}.schedulerHints`);
  if (o.group !== undefined) out.group = optNested(o, 'group', p, asGroup) ?? null;
  for (const k of ['ignoreHosts', 'forceHosts', 'forceNodes', 'groupHosts'] as const) {
    const v = hostList(o, k, p);
    if (v !== undefined) out[k] = v;
  }
  const admin = optBoolean(o, 'isAdmin', p);
  if (admin !== undefined) out.isAdmin = admin;
  const project = optString(o, 'projectId', p, { maxLength: 255 });
  if (project !== undefined) out.projectId = project;
  return out as unknown as SelectRequest;
}

/** The core parser's input (`parseNovaRequest`) for a wire request. */
export function novaInputOf(req: SelectRequest): NovaRequestInput {
  return {
    id: req.id,
    flavor: req.flavor,
    num_instances: req.numInstances,
    availability_zone: req.availabilityZone ?? null,
    group: req.group ?? null,
    is_admin: req.isAdmin ?? false,
    ...(req.projectId ? { project_id: req.projectId } : {}),
    ...(req.schedulerHints ? { scheduler_hints: req.schedulerHints } : {}),
    ...(req.ignoreHosts ? { ignore_hosts: req.ignoreHosts } : {}),
    ...(req.forceHosts ? { force_hosts: req.forceHosts } : {}),
    ...(req.forceNodes ? { force_nodes: req.forceNodes } : {}),
  };
}

function asPick(o: Fields, p: string): HostPick {
  return {
    host: string(o, 'host', p),
    node: string(o, 'node', p),
    root: asUuid(o.root, `${p}.root`),
    allocations: asAllocations(o.allocations, `${p}.allocations`),
    generations: asGenerations(o.generations, `${p}.generations`),
  };
}

function asSelection(o: Fields, p: string): InstanceSelection {
  return {
    ...asPick(o, p),
    instance: int(o, 'instance', p, { min: 0 }),
    alternates: list(o, 'alternates', p, (v, q) => asNested(v, q, asPick), { maxItems: MAX_ALTERNATES }),
  };
}

function asExplain(o: Fields, p: string): ExplainSummary {
  return {
    profile: string(o, 'profile', p),
    snapshotGeneration: int(o, 'snapshotGeneration', p),
    hosts: int(o, 'hosts', p),
    evaluated: int(o, 'evaluated', p),
    feasible: int(o, 'feasible', p),
    skipped: strings(o, 'skipped', p),
    rejected: strings(o, 'rejected', p, { maxItems: MAX_EXPLAIN_LINES }),
    resolvableRejections: number(o, 'resolvableRejections', p),
  };
}

export const selectHosts: AskType<SelectRequest, SelectReply> = defineAsk(
  message('cp.sched.select', parseSelect),
  message('cp.sched.selected', (o, p) => ({
    requestId: string(o, 'requestId', p),
    shard: int(o, 'shard', p, { min: 0 }),
    outcome: asOneOf(o.outcome, `${p}.outcome`, ['selected', 'noValidHost'] as const),
    retryable: boolean(o, 'retryable', p),
    message: string(o, 'message', p),
    selections: asList(o.selections, `${p}.selections`, (v, q) => asNested(v, q, asSelection), {
      maxItems: MAX_INSTANCES_PER_REQUEST,
    }),
    explain: asNested(o.explain, `${p}.explain`, asExplain),
  })),
);

// ---- capacity summaries (for the cell router) ----------------------------------------------

/** Traits a capacity report may list per zone (os-traits has ~300 standard ones, plus custom). */
export const MAX_REPORTED_TRAITS = 10_000;

/** Published by each shard leader every few seconds on `capacitySubject(cell)`. */
export interface CapacityReport extends CapacitySummary {
  readonly cell: string;
  readonly shard: number;
  /** The leader's clock when it was taken (ms since the epoch). */
  readonly atMs: number;
}

export function capacitySubject(cell: string): string {
  return `cp.${cell}.capacity`;
}

function asAmounts(v: unknown, p: string): Record<string, number> {
  return asRecord(v ?? {}, p, (x, q) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0)
      throw new CellplaneError('invalid', `${q} must be a number >= 0`);
    return x;
  });
}

function asZone(o: Fields, p: string): ZoneCapacity {
  const traits = optStrings(o, 'traits', p, { maxItems: MAX_REPORTED_TRAITS });
  return {
    hosts: int(o, 'hosts', p, { min: 0 }),
    free: asAmounts(o.free, `${p}.free`),
    largest: asAmounts(o.largest, `${p}.largest`),
    ...(traits ? { traits } : {}),
  };
}

export const capacityReport: MessageType<CapacityReport> = message('cp.sched.capacity', (o, p) => ({
  ...asZone(o, p),
  cell: string(o, 'cell', p, { minLength: 1 }),
  shard: int(o, 'shard', p, { min: 0 }),
  atMs: number(o, 'atMs', p),
  total: int(o, 'total', p, { min: 0 }),
  zones: asRecord(o.zones ?? {}, `${p}.zones`, (v, q) => asNested(v, q, asZone)),
}));
