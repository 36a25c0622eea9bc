/**
 * Replacing a provider's inventories (PUT /resource_providers/{uuid}/inventories; the single-class
 * POST/PUT/DELETE routes are this with one class added, changed or left out).
 *
 * Checks, in Placement's order: provider exists (404); generation current (409
 * `placement.concurrent_update`); every class exists (400); every record valid (400, see
 * model/inventory.ts); no class that still has allocations is removed (409
 * `placement.inventory.inuse`). Then the inventories are replaced and the generation bumped,
 * even when nothing changed (Placement does the same).
 *
 * Shrinking an inventory below its current usage is accepted, as Placement accepts it (operators
 * set reserved = total to drain a host that still runs instances): the provider is then over
 * capacity for that class, reported in `overCapacity`, and every later allocation that adds to
 * that class there is refused until usage falls back under capacity.
 */
import type { Uuid } from '../model/ids.ts';
import { capacity, type Inventory, type InventoryRules, inventoryProblem } from '../model/inventory.ts';
import { invalid, type Outcome, ok, PlacementCodes, refuse } from './errors.ts';
import { currentProvider } from './guards.ts';
import type { PlacementState, ProviderView } from './state.ts';

export interface SetInventoriesResult {
  readonly provider: ProviderView;
  /** Classes whose usage now exceeds their capacity. */
  readonly overCapacity: readonly string[];
}

export function setInventories(
  state: PlacementState,
  uuid: Uuid,
  expectedGeneration: number | undefined,
  inventories: ReadonlyMap<string, Inventory> | Readonly<Record<string, Inventory>>,
  rules: InventoryRules = {},
): Outcome<SetInventoriesResult> {
  const found = currentProvider(state, uuid, expectedGeneration);
  if (found.refusal) return found.refusal;
  const rp = found.rp;
  const next = inventories instanceof Map ? new Map(inventories) : new Map(Object.entries(inventories));
  for (const [rc, inv] of next) {
    if (!state.hasResourceClass(rc)) {
      return invalid(`Unknown resource class in inventory for resource provider ${uuid}: ${rc}`, {
        uuid,
        resourceClass: rc,
      });
    }
    const problem = inventoryProblem(inv, rules);
    if (problem) {
      return invalid(`Invalid inventory for '${rc}' on resource provider '${uuid}': ${problem}`, {
        uuid,
        resourceClass: rc,
      });
    }
  }
  const inUse = [...rp.usages.keys()].filter((rc) => !next.has(rc));
  if (inUse.length > 0) {
    return refuse(
      'conflict',
      PlacementCodes.inventoryInUse,
      `Inventory for '${inUse.join(', ')}' on resource provider '${uuid}' in use.`,
      { uuid, resourceClasses: inUse },
    );
  }
  state.replaceInventories(uuid, next);
  const overCapacity = [...next]
    .filter(([rc, inv]) => (rp.usages.get(rc) ?? 0) > capacity(inv))
    .map(([rc]) => rc);
  return ok({ provider: rp, overCapacity });
}
