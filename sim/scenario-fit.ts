/**
 * Could a request ever fit anywhere in the fleet? A coarse, Placement-shaped check used to reject
 * scenarios whose flavors (or trace rows) no host could take even when empty:
 *
 * - one host = a root provider (VCPU, MEMORY_MB, DISK_GB, custom resources, root traits) and one
 *   provider per device (SR-IOV PF: vfs SRIOV_NET_VF; GPU: vgpus VGPU or 1 PGPU; FPGA: 1 FPGA);
 *   a bare-metal node offers only 1 unit of its CUSTOM_BAREMETAL_* class;
 * - each resource class must come from a single provider (Placement's unnumbered group), so the
 *   limit is the biggest provider's amount: min(total, int((total - reserved) * ratio));
 * - required traits may sit on the root or any device; forbidden traits are checked on the root.
 */

import { groupKeyOf } from '../core/model/extra-specs.ts';
import type { Flavor, FleetSpec, HostProfile } from './scenario-types.ts';

export interface Demand {
  /** Per class, the most any one provider must give (the unnumbered group's or a granular group's). */
  readonly resources: Readonly<Record<string, number>>;
  /** Per class, what one instance takes in all (granular groups added up): the capacity count. */
  readonly total: Readonly<Record<string, number>>;
  readonly required: readonly string[];
  readonly forbidden: readonly string[];
}

/**
 * Nova's request from a flavor: vcpus/ram/disk, overridden or extended by resources:<RC>, and
 * the granular groups' resources<N>:<RC> and trait<N>:<T>=required (each group on one provider;
 * a granular group's forbidden traits are its provider's business, not checked here).
 */
export function flavorDemand(f: Flavor): Demand {
  const resources: Record<string, number> = { VCPU: f.vcpus, MEMORY_MB: f.ramMb, DISK_GB: f.diskGb };
  const granular: Array<[string, number]> = [];
  const required: string[] = [];
  const forbidden: string[] = [];
  for (const [k, v] of Object.entries(f.extraSpecs)) {
    const g = groupKeyOf(k);
    if (!g) continue;
    const { scope, suffix, name } = g;
    if (scope === 'resources' && suffix === '') resources[name] = Number(v);
    else if (scope === 'resources') granular.push([name, Number(v)]);
    else if (v === 'required') required.push(name);
    else if (v === 'forbidden' && suffix === '') forbidden.push(name);
  }
  for (const [k, v] of Object.entries(resources)) if (v === 0) delete resources[k];
  const total: Record<string, number> = { ...resources };
  for (const [rc, n] of granular) {
    if (n === 0) continue;
    total[rc] = (total[rc] ?? 0) + n;
    resources[rc] = Math.max(resources[rc] ?? 0, n);
  }
  return { resources, total, required, forbidden };
}

interface Offer {
  readonly profile: string;
  readonly limits: Readonly<Record<string, number>>;
  readonly rootTraits: ReadonlySet<string>;
  readonly allTraits: ReadonlySet<string>;
}

function limit(total: number, reserved: number, ratio: number): number {
  return Math.max(0, Math.min(total, Math.trunc((total - reserved) * ratio)));
}

/** What one host of `p` offers a single request, with `ratios` (per-cell overrides applied). */
export function offerOf(p: HostProfile, ratios: HostProfile['allocationRatios']): Offer {
  const limits: Record<string, number> = {};
  const deviceTraits: string[] = [];
  if (p.baremetal !== null) {
    limits[p.baremetal.resourceClass] = 1;
  } else {
    limits.VCPU = limit(p.vcpus, p.reserved.vcpus, ratios.vcpu);
    limits.MEMORY_MB = limit(p.ramMb, p.reserved.ramMb, ratios.ram);
    limits.DISK_GB = limit(p.diskGb, p.reserved.diskGb, ratios.disk);
    Object.assign(limits, p.customResources);
    const max = (rc: string, n: number) => {
      limits[rc] = Math.max(limits[rc] ?? 0, n);
    };
    for (const pf of p.devices.sriov) {
      max('SRIOV_NET_VF', pf.vfs);
      deviceTraits.push(...pf.traits);
    }
    for (const g of p.devices.gpus) {
      max(g.mode === 'vgpu' ? 'VGPU' : 'PGPU', g.unitsPerGpu);
      deviceTraits.push(...g.traits);
    }
    for (const f of p.devices.fpgas) {
      max('FPGA', 1);
      deviceTraits.push(...f.traits);
    }
  }
  const rootTraits = new Set(p.traits);
  return { profile: p.name, limits, rootTraits, allTraits: new Set([...p.traits, ...deviceTraits]) };
}

/** Why `d` can never fit on a host offering `o`, or null when it can. */
export function whyNot(d: Demand, o: Offer): string | null {
  const reasons: string[] = [];
  for (const t of d.required) if (!o.allTraits.has(t)) reasons.push(`lacks trait ${t}`);
  for (const t of d.forbidden) if (o.rootTraits.has(t)) reasons.push(`has forbidden trait ${t}`);
  for (const [rc, n] of Object.entries(d.resources)) {
    const have = o.limits[rc] ?? 0;
    if (n > have)
      reasons.push(have === 0 ? `offers no ${rc}` : `needs ${amount(rc, n)} > ${amount(rc, have)}`);
  }
  return reasons.length === 0 ? null : reasons.join(', ');
}

function amount(rc: string, n: number): string {
  if (rc === 'MEMORY_MB' && n % 1024 === 0) return `${n / 1024} GiB RAM`;
  if (rc === 'MEMORY_MB') return `${n} MiB RAM`;
  if (rc === 'DISK_GB') return `${n} GiB disk`;
  return `${n} ${rc}`;
}

/** Distinct offers of the hosts that exist (count > 0), across all cells. */
export function fleetOffers(fleet: FleetSpec): Offer[] {
  const seen = new Map<string, Offer>();
  for (const c of fleet.cells) {
    for (const g of c.hostGroups) {
      const p = fleet.profiles[g.profile];
      if (p === undefined) continue;
      const key = `${g.profile}|${g.allocationRatios.vcpu}|${g.allocationRatios.ram}|${g.allocationRatios.disk}`;
      if (!seen.has(key)) seen.set(key, offerOf(p, g.allocationRatios));
    }
  }
  return [...seen.values()];
}

/** Why no host in the fleet could ever take `d` (summarised), or null when one could. */
export function fleetMisfit(d: Demand, offers: readonly Offer[]): string | null {
  if (offers.length === 0) return 'the fleet has no hosts';
  const perOffer = offers.map((o) => ({ o, why: whyNot(d, o) }));
  if (perOffer.some((x) => x.why === null)) return null;
  for (const t of d.required) {
    if (!offers.some((o) => o.allTraits.has(t))) return `requires trait ${t} that no host profile has`;
  }
  for (const [rc, n] of Object.entries(d.resources)) {
    const best = Math.max(...offers.map((o) => o.limits[rc] ?? 0));
    if (best === 0) return `needs ${rc} that no host profile offers`;
    if (n > best) return `needs ${amount(rc, n)} but the largest host offers ${amount(rc, best)}`;
  }
  const byProfile = new Map<string, string>();
  for (const { o, why } of perOffer) if (!byProfile.has(o.profile)) byProfile.set(o.profile, why!);
  return `no host profile has all it needs: ${[...byProfile].map(([p, w]) => `${p} ${w}`).join('; ')}`;
}
