/**
 * Compute quotas: the resources Nova's os-quota-sets shows per microversion, their defaults, and
 * the pure check POST /servers will run before accepting a build (Nova's TooManyInstances):
 *   "Quota exceeded for cores: Requested 4, but already used 18 of 20 cores"
 * Over-quota resources are listed sorted and joined with ", " as Nova's
 * `_get_over_quota_detail` does. A limit of -1 is unlimited.
 */

export interface QuotaResource {
  readonly name: string;
  /** Nova's default limit. */
  readonly default: number;
  /** Last microversion minor that still shows it (2.36 dropped network quotas, 2.57 files). */
  readonly untilMinor?: number;
}

export const QUOTA_RESOURCES: readonly QuotaResource[] = [
  { name: 'cores', default: 20 },
  { name: 'fixed_ips', default: -1, untilMinor: 35 },
  { name: 'floating_ips', default: 10, untilMinor: 35 },
  { name: 'injected_file_content_bytes', default: 10240, untilMinor: 56 },
  { name: 'injected_file_path_bytes', default: 255, untilMinor: 56 },
  { name: 'injected_files', default: 5, untilMinor: 56 },
  { name: 'instances', default: 10 },
  { name: 'key_pairs', default: 100 },
  { name: 'metadata_items', default: 128 },
  { name: 'ram', default: 51200 },
  { name: 'security_group_rules', default: 20, untilMinor: 35 },
  { name: 'security_groups', default: 10, untilMinor: 35 },
  { name: 'server_group_members', default: 10 },
  { name: 'server_groups', default: 10 },
];

/** Largest limit accepted (Nova's db.MAX_INT). */
export const MAX_QUOTA_LIMIT = 0x7fffffff;

export function resourcesAt(minor: number): QuotaResource[] {
  return QUOTA_RESOURCES.filter((r) => r.untilMinor === undefined || minor <= r.untilMinor);
}

/** The resources whose usage the later POST /servers counts: instances, cores (vCPUs), ram (MiB). */
export interface InstanceCounts {
  readonly instances: number;
  readonly cores: number;
  readonly ram: number;
}

export const ZERO_COUNTS: InstanceCounts = Object.freeze({ instances: 0, cores: 0, ram: 0 });

/** Where a project's live usage comes from (the cells' instance records, later). */
export interface UsageSource {
  /** Current usage of `projectId`; must not include requests not yet accepted. */
  usage(projectId: string): Promise<InstanceCounts>;
}

/** A UsageSource over a map, for tests and until the servers API exists. */
export class MemoryUsageSource implements UsageSource {
  private readonly byProject = new Map<string, InstanceCounts>();

  set(projectId: string, counts: InstanceCounts): void {
    this.byProject.set(projectId, counts);
  }

  async usage(projectId: string): Promise<InstanceCounts> {
    return this.byProject.get(projectId) ?? ZERO_COUNTS;
  }
}

export type QuotaVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly overs: readonly (keyof InstanceCounts)[]; readonly message: string };

const CHECKED: readonly (keyof InstanceCounts)[] = ['cores', 'instances', 'ram'];

/**
 * Would `request` more (on top of `usage`) exceed `limits`? Pure. Like Nova's check_deltas every
 * counted resource is checked, so usage already above a lowered limit refuses any request.
 */
export function checkQuota(
  usage: InstanceCounts,
  limits: Readonly<Record<string, number>>,
  request: InstanceCounts,
): QuotaVerdict {
  const overs = CHECKED.filter((r) => {
    const limit = limits[r] ?? -1;
    return limit >= 0 && usage[r] + request[r] > limit;
  });
  if (overs.length === 0) return { ok: true };
  const join = (f: (r: keyof InstanceCounts) => number | string) => overs.map(f).join(', ');
  const names = overs.join(', ');
  return {
    ok: false,
    overs,
    message: `Quota exceeded for ${names}: Requested ${join((r) => request[r])}, but already used ${join((r) => usage[r])} of ${join((r) => limits[r]!)} ${names}`,
  };
}

/**
 * How many instances of `perInstance` still fit (Nova's headroom for a multi-create with
 * min_count/max_count); Infinity when nothing limits them.
 */
export function instancesThatFit(
  usage: InstanceCounts,
  limits: Readonly<Record<string, number>>,
  perInstance: Omit<InstanceCounts, 'instances'>,
): number {
  let fit = Number.POSITIVE_INFINITY;
  const each: InstanceCounts = { instances: 1, ...perInstance };
  for (const r of CHECKED) {
    const limit = limits[r] ?? -1;
    if (limit < 0 || each[r] === 0) continue;
    fit = Math.min(fit, Math.max(0, Math.floor((limit - usage[r]) / each[r])));
  }
  return fit;
}

/** Effective limits of a project: its own over the defaults. */
export function effectiveLimits(
  defaults: Readonly<Record<string, number>>,
  own: Readonly<Record<string, number>>,
): Record<string, number> {
  return { ...defaults, ...own };
}

export function defaultLimits(overrides: Readonly<Record<string, number>> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of QUOTA_RESOURCES) out[r.name] = overrides[r.name] ?? r.default;
  return out;
}
