/**
 * Helpers for the allocation-candidate tables: fixture names for UUIDs and a compact, sorted
 * rendering of results, so a table row reads 'cn1_numa0:VCPU=2 | cn1_pf0:SRIOV_NET_VF=1 [1:cn1_numa0 2:cn1_pf0]'.
 */
import type { Uuid } from '../../../core/model/ids.ts';
import type { AllocationRequest, Candidates } from '../../../core/placement/candidates.ts';
import { uuidFor } from '../../builders.ts';

const names = new Map<string, string>();

/** Registers fixture names so results print them instead of UUIDs. */
export function nameAll(...fixtureNames: string[]): void {
  for (const n of fixtureNames) names.set(uuidFor(n), n);
}

export const nameOf = (uuid: Uuid): string => names.get(uuid) ?? uuid;

/** 'rp:CLASS=n,… | rp2:…' with providers and classes sorted. */
export function showAllocations(r: AllocationRequest): string {
  return [...r.allocations]
    .map(
      ([rp, m]) =>
        `${nameOf(rp)}:${[...m]
          .map(([rc, n]) => `${rc}=${n}`)
          .sort()
          .join(',')}`,
    )
    .sort()
    .join(' | ');
}

/** '[suffix:rp,rp suffix2:rp]' with '' shown as '_'. */
export function showMappings(r: AllocationRequest): string {
  const parts = [...r.mappings]
    .map(([s, rps]) => `${s === '' ? '_' : s}:${[...rps].map(nameOf).sort().join(',')}`)
    .sort();
  return `[${parts.join(' ')}]`;
}

/** Every candidate as 'allocations [mappings]', sorted (Placement's own order is a set's). */
export function showAll(c: Candidates): string[] {
  return c.allocationRequests.map((r) => `${showAllocations(r)} ${showMappings(r)}`).sort();
}

export function summaryNames(c: Candidates): string[] {
  return [...c.providerSummaries.keys()].map(nameOf).sort();
}
