/**
 * Nova-style flavor + extra_specs + scheduler hints → RequestSpec, with precise `invalid` errors
 * (every error names the field at fault in `details.field`).
 *
 * Nova semantics kept:
 * - VCPU = flavor.vcpus, MEMORY_MB = flavor.ram, DISK_GB = disk + ephemeral + ceil(swap MB / 1024);
 *   `resources:<RC>=<n>` overrides a standard amount (0 drops it, as for boot-from-volume) or adds
 *   an extra class (VGPU, CUSTOM_*).
 * - `trait:<NAME>=required|forbidden`; `aggregate_instance_extra_specs:<key>=<requirement>`;
 *   `hw:cpu_policy=shared` (every guest's policy). Any other spec is refused as invalid with the
 *   registry's reason (core/model/extra-specs.ts): nothing is silently ignored.
 * - availability_zone `az`, `az:host` or `az:host:node` (the host/node forms force a host: admin
 *   only, like Nova's policy), force_hosts / force_nodes (admin only) and ignore_hosts.
 * - the server group comes as the group record plus its uuid in the `group` scheduler hint.
 * - granular groups `resources<N>:`, `trait<N>:` and `group_policy` (required with more than one
 *   group, as Placement requires): `RequestSpec.granular`, answered per host tree by the shard.
 */

import { CellplaneError } from '../errors.ts';
import { checkExtraSpec, groupKeyOf } from '../model/extra-specs.ts';
import {
  type AggregateSpec,
  GROUP_POLICIES,
  type GranularGroup,
  type GranularPolicy,
  type GranularSpec,
  type GroupPolicy,
  MAX_HOST_LIST,
  MAX_INSTANCES_PER_REQUEST,
  type RequestSpec,
  type ServerGroupSpec,
} from './request.ts';

export interface NovaFlavor {
  readonly vcpus: number;
  /** MB. */
  readonly ram: number;
  /** Root disk, GB. */
  readonly disk: number;
  readonly ephemeral?: number;
  /** MB. */
  readonly swap?: number;
  readonly extra_specs?: Readonly<Record<string, string>>;
}

export interface NovaGroup {
  readonly uuid: string;
  readonly policy: string;
  readonly rules?: Readonly<Record<string, unknown>>;
}

export interface NovaRequestInput {
  readonly id: string;
  readonly flavor: NovaFlavor;
  readonly num_instances?: number;
  readonly availability_zone?: string | null;
  readonly scheduler_hints?: Readonly<Record<string, unknown>>;
  readonly group?: NovaGroup | null;
  readonly ignore_hosts?: readonly string[];
  readonly force_hosts?: readonly string[];
  readonly force_nodes?: readonly string[];
  readonly is_admin?: boolean;
  /** The instance's project (Nova's RequestSpec.project_id). */
  readonly project_id?: string | null;
}

function invalid(field: string, message: string): CellplaneError {
  return new CellplaneError('invalid', `${field}: ${message}`, { details: { field } });
}

function int(field: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(field, `must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

interface ExtraSpecs {
  resources: Map<string, number>;
  required: string[];
  forbidden: string[];
  aggregate: AggregateSpec[];
  /** Suffix → its granular group's resources and traits. */
  granular: Map<string, { resources: Map<string, number>; required: string[]; forbidden: string[] }>;
  policy: GranularPolicy | undefined;
}

function parseExtraSpecs(specs: Readonly<Record<string, string>>): ExtraSpecs {
  const out: ExtraSpecs = {
    resources: new Map(),
    required: [],
    forbidden: [],
    aggregate: [],
    granular: new Map(),
    policy: undefined,
  };
  for (const [key, value] of Object.entries(specs)) {
    const field = `flavor.extra_specs.${key}`;
    if (typeof value !== 'string') throw invalid(field, `must be a string, got ${JSON.stringify(value)}`);
    const verdict = checkExtraSpec(key, value);
    if (verdict.kind !== 'honoured') throw invalid(field, verdict.reason);
    const colon = key.indexOf(':');
    const scope = colon < 0 ? '' : key.slice(0, colon);
    const name = key.slice(colon + 1);
    const group = groupKeyOf(key);
    if (group && group.suffix !== '') {
      const g = out.granular.get(group.suffix) ?? { resources: new Map(), required: [], forbidden: [] };
      out.granular.set(group.suffix, g);
      if (group.scope === 'resources') g.resources.set(name, int(field, Number(value), 0, 2_147_483_647));
      else (value === 'required' ? g.required : g.forbidden).push(name);
    } else if (scope === 'resources') out.resources.set(name, int(field, Number(value), 0, 2_147_483_647));
    else if (scope === 'trait') (value === 'required' ? out.required : out.forbidden).push(name);
    else if (scope === 'aggregate_instance_extra_specs')
      out.aggregate.push({ key: name, requirement: value });
    else if (key === 'group_policy') out.policy = value as GranularPolicy;
  }
  return out;
}

/** The granular groups, checked as Placement checks them (a group without resources, a missing policy). */
function granularOf(extra: ExtraSpecs): GranularSpec | null {
  const groups: GranularGroup[] = [];
  for (const [suffix, g] of [...extra.granular].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const resources = [...g.resources]
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([rc, amount]) => Object.freeze({ rc, amount }));
    if (resources.length === 0)
      throw invalid(
        `flavor.extra_specs.resources${suffix}`,
        `request group ${suffix} asks for traits but no resources (resources${suffix}:<CLASS>=<n> missing)`,
      );
    groups.push(
      Object.freeze({
        suffix,
        resources,
        required: [...g.required].sort(),
        forbidden: [...g.forbidden].sort(),
      }),
    );
  }
  if (groups.length === 0) {
    if (extra.policy !== undefined)
      throw invalid('flavor.extra_specs.group_policy', 'given without any granular request group');
    return null;
  }
  if (groups.length > 1 && extra.policy === undefined)
    throw invalid(
      'flavor.extra_specs.group_policy',
      'required with more than one granular request group (none or isolate), as Placement requires',
    );
  return Object.freeze({ groups: Object.freeze(groups), policy: extra.policy ?? 'none' });
}

function resourcesOf(flavor: NovaFlavor, extra: ExtraSpecs): Map<string, number> {
  const vcpus = int('flavor.vcpus', flavor.vcpus, 1);
  const ram = int('flavor.ram', flavor.ram, 1);
  const disk = int('flavor.disk', flavor.disk, 0);
  const ephemeral = int('flavor.ephemeral', flavor.ephemeral ?? 0, 0);
  const swapMb = int('flavor.swap', flavor.swap ?? 0, 0);
  const base = new Map<string, number>([
    ['VCPU', vcpus],
    ['MEMORY_MB', ram],
    ['DISK_GB', disk + ephemeral + Math.ceil(swapMb / 1024)],
  ]);
  for (const [rc, n] of extra.resources) base.set(rc, n);
  return base;
}

function parseGroup(input: NovaRequestInput): ServerGroupSpec | null {
  const hint = input.scheduler_hints?.group;
  const g = input.group ?? null;
  if (hint !== undefined && typeof hint !== 'string')
    throw invalid('scheduler_hints.group', 'must be a group uuid');
  if (g === null) {
    if (hint !== undefined)
      throw invalid('scheduler_hints.group', `group ${hint} given but its record is missing`);
    return null;
  }
  if (hint !== undefined && hint !== g.uuid) {
    throw invalid('scheduler_hints.group', `hint ${hint} does not match the group record ${g.uuid}`);
  }
  if (!(GROUP_POLICIES as readonly string[]).includes(g.policy)) {
    throw invalid('group.policy', `must be one of ${GROUP_POLICIES.join(', ')}, got '${g.policy}'`);
  }
  const policy = g.policy as GroupPolicy;
  let max = 1;
  for (const [rule, v] of Object.entries(g.rules ?? {})) {
    if (rule !== 'max_server_per_host') throw invalid(`group.rules.${rule}`, 'unknown rule');
    if (policy !== 'anti-affinity')
      throw invalid('group.rules.max_server_per_host', 'only for anti-affinity');
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    max = int('group.rules.max_server_per_host', n, 1);
  }
  return Object.freeze({ id: g.uuid, policy, maxServerPerHost: max });
}

function hostList(field: string, v: readonly string[] | undefined): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > MAX_HOST_LIST)
    throw invalid(field, `must be a list of at most ${MAX_HOST_LIST} names`);
  for (const h of v)
    if (typeof h !== 'string' || h.length === 0) throw invalid(field, 'names must be non-empty strings');
  return [...new Set(v)];
}

/** Parses one Nova-style request; throws CellplaneError('invalid') naming the field at fault. */
export function parseNovaRequest(input: NovaRequestInput): RequestSpec {
  if (typeof input.id !== 'string' || input.id.length === 0)
    throw invalid('id', 'must be a non-empty string');
  if (!input.flavor || typeof input.flavor !== 'object') throw invalid('flavor', 'is required');
  const extra = parseExtraSpecs(input.flavor.extra_specs ?? {});
  const resources = [...resourcesOf(input.flavor, extra)]
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([rc, amount]) => Object.freeze({ rc, amount }));
  const forceHosts = hostList('force_hosts', input.force_hosts);
  const forceNodes = hostList('force_nodes', input.force_nodes);
  let az: string | null = input.availability_zone ?? null;
  if (az !== null) {
    const [zone = '', host = '', node = '', ...rest] = az.split(':');
    if (rest.length > 0)
      throw invalid('availability_zone', `expected 'az', 'az:host' or 'az:host:node', got '${az}'`);
    if (host) forceHosts.push(host);
    if (node) forceNodes.push(node);
    az = zone === '' ? null : zone;
  }
  if ((forceHosts.length > 0 || forceNodes.length > 0) && input.is_admin !== true) {
    throw invalid('force_hosts', 'forcing a host or node is an admin-only operation');
  }
  return Object.freeze({
    id: input.id,
    numInstances: int('num_instances', input.num_instances ?? 1, 1, MAX_INSTANCES_PER_REQUEST),
    resources: Object.freeze(resources),
    requiredTraits: Object.freeze(extra.required.sort()),
    forbiddenTraits: Object.freeze(extra.forbidden.sort()),
    aggregateSpecs: Object.freeze(extra.aggregate),
    availabilityZone: az,
    projectId: input.project_id ?? null,
    granular: granularOf(extra),
    group: parseGroup(input),
    ignoreHosts: Object.freeze(hostList('ignore_hosts', input.ignore_hosts)),
    forceHosts: Object.freeze([...new Set(forceHosts)]),
    forceNodes: Object.freeze([...new Set(forceNodes)]),
  });
}
