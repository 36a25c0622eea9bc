/**
 * Read-side summaries: what a provider has used (GET /resource_providers/{uuid}/usages), what a
 * project or user has used (GET /usages), and who holds what on a provider
 * (GET /resource_providers/{uuid}/allocations). Provider usages are kept incrementally by the
 * state; project usages scan the consumers (O(consumers), an index can take this over).
 */
import type { Uuid } from '../model/ids.ts';
import { capacity } from '../model/inventory.ts';
import type { PlacementState, ProviderView } from './state.ts';

/** Used amount of every class the provider has inventory of (0 included), plus any other used class. */
export function providerUsages(rp: ProviderView): Record<string, number> {
  const out: Record<string, number> = {};
  for (const rc of rp.inventories.keys()) out[rc] = 0;
  for (const [rc, used] of rp.usages) out[rc] = used;
  return out;
}

export interface UsageFilter {
  readonly projectId: string;
  readonly userId?: string;
  /** Microversion 1.38: only consumers of this type; 'unknown' matches consumers without one. */
  readonly consumerType?: string;
}

/** Summed allocations of the matching consumers, per class (classes with 0 omitted). */
export function projectUsages(state: PlacementState, filter: UsageFilter): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of state.consumers()) {
    if (c.projectId !== filter.projectId) continue;
    if (filter.userId !== undefined && c.userId !== filter.userId) continue;
    if (filter.consumerType !== undefined && (c.consumerType ?? 'unknown') !== filter.consumerType) continue;
    for (const byClass of c.allocations.values()) {
      for (const [rc, amount] of byClass) out[rc] = (out[rc] ?? 0) + amount;
    }
  }
  return out;
}

/** Amounts per class held on `rp`, per consumer. */
export function providerAllocations(
  state: PlacementState,
  rp: ProviderView,
): Map<Uuid, ReadonlyMap<string, number>> {
  const out = new Map<Uuid, ReadonlyMap<string, number>>();
  for (const consumerUuid of rp.consumers) {
    const held = state.consumer(consumerUuid)?.allocations.get(rp.uuid);
    if (held) out.set(consumerUuid, held);
  }
  return out;
}

/** Capacity left per class (negative when an inventory was shrunk below its usage). */
export function providerFree(rp: ProviderView): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [rc, inv] of rp.inventories) out[rc] = capacity(inv) - (rp.usages.get(rc) ?? 0);
  return out;
}
