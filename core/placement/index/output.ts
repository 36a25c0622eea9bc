/**
 * Builds the reference's `Candidates` shape from slots: one AllocationRequest per combination
 * and the provider summaries of every tree that kept a candidate (read from the state's views,
 * so inventories and traits come out in the same order as the reference's).
 */
import type { Uuid } from '../../model/ids.ts';
import { capacity } from '../../model/inventory.ts';
import type { AllocationRequest, ProviderSummary } from '../candidates.ts';
import type { CandidateIndex } from './candidate-index.ts';
import type { CandidateSlots } from './slots.ts';

/** Every candidate in `found` as an AllocationRequest, in order. */
export function toRequests(found: CandidateSlots): AllocationRequest[] {
  const out: AllocationRequest[] = [];
  for (let k = 0; k < found.count; k++) out.push(toRequest(found, k));
  return out;
}

/** Candidate `k`: per provider its classes, in the order the classes were requested. */
function toRequest(found: CandidateSlots, k: number): AllocationRequest {
  const { index: ix, classes, amounts } = found;
  const allocations = new Map<Uuid, Map<string, number>>();
  for (let c = 0; c < classes.length; c++) {
    const uuid = ix.uuidOf[found.giver(k, c)]!;
    let byClass = allocations.get(uuid);
    if (!byClass) {
      byClass = new Map();
      allocations.set(uuid, byClass);
    }
    byClass.set(classes[c]!, amounts[c]!);
  }
  return {
    rootUuid: ix.uuidOf[found.rootOf(k)]!,
    allocations,
    mappings: new Map([['', [...allocations.keys()]]]),
  };
}

export function summaries(
  ix: CandidateIndex,
  requests: readonly AllocationRequest[],
): Map<Uuid, ProviderSummary> {
  const out = new Map<Uuid, ProviderSummary>();
  let last: Uuid | undefined;
  for (const req of requests) {
    if (req.rootUuid === last || out.has(req.rootUuid)) continue;
    last = req.rootUuid;
    for (const slot of ix.treeOf(ix.slotOf.get(req.rootUuid)!)) {
      const rp = ix.state.provider(ix.uuidOf[slot]!)!;
      const resources = new Map<string, { capacity: number; used: number }>();
      for (const [rc, inv] of rp.inventories)
        resources.set(rc, { capacity: capacity(inv), used: rp.usages.get(rc) ?? 0 });
      out.set(rp.uuid, {
        uuid: rp.uuid,
        rootUuid: rp.rootUuid,
        parentUuid: rp.parentUuid,
        traits: [...rp.traits],
        resources,
      });
    }
  }
  return out;
}
