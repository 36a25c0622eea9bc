/** Placement's JSON shapes for providers, inventories and resource classes, per microversion. */
import type { Inventory } from '../../core/model/inventory.ts';
import type { ProviderView } from '../../core/placement/operations.ts';
import type { Microversion } from './microversion.ts';

export const providerPath = (uuid: string) => `/resource_providers/${uuid}`;
export const resourceClassPath = (name: string) => `/resource_classes/${name}`;

function links(rp: ProviderView, v: Microversion) {
  const self = providerPath(rp.uuid);
  const rels = ['inventories', 'usages'];
  if (v.atLeast(1)) rels.push('aggregates');
  if (v.atLeast(6)) rels.push('traits');
  if (v.atLeast(11)) rels.push('allocations');
  return [{ rel: 'self', href: self }, ...rels.map((rel) => ({ rel, href: `${self}/${rel}` }))];
}

export function providerJson(rp: ProviderView, v: Microversion): Record<string, unknown> {
  const out: Record<string, unknown> = {
    uuid: rp.uuid,
    name: rp.name,
    generation: rp.generation,
    links: links(rp, v),
  };
  if (v.atLeast(14)) {
    out.parent_provider_uuid = rp.parentUuid;
    out.root_provider_uuid = rp.rootUuid;
  }
  return out;
}

export function inventoryJson(inv: Inventory): Record<string, number> {
  return {
    total: inv.total,
    reserved: inv.reserved,
    min_unit: inv.minUnit,
    max_unit: inv.maxUnit,
    step_size: inv.stepSize,
    allocation_ratio: inv.allocationRatio,
  };
}

export interface InventoryBody {
  total: number;
  reserved?: number;
  min_unit?: number;
  max_unit?: number;
  step_size?: number;
  allocation_ratio?: number;
}

/** A request body's inventory with Placement's defaults filled in. */
export function inventoryFromBody(b: InventoryBody): Inventory {
  return {
    total: b.total,
    reserved: b.reserved ?? 0,
    minUnit: b.min_unit ?? 1,
    maxUnit: b.max_unit ?? 2_147_483_647,
    stepSize: b.step_size ?? 1,
    allocationRatio: b.allocation_ratio ?? 1.0,
  };
}

export function inventoriesJson(rp: ProviderView) {
  const inventories: Record<string, Record<string, number>> = {};
  for (const [rc, inv] of rp.inventories) inventories[rc] = inventoryJson(inv);
  return { inventories, resource_provider_generation: rp.generation };
}

export function resourceClassJson(name: string) {
  return { name, links: [{ rel: 'self', href: resourceClassPath(name) }] };
}
