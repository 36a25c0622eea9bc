/**
 * How a provider tree lives in the cell's Store: ONE record per tree, key `rp/<root uuid>`,
 * holding its providers (pre-order from the root, each with its generation) and its consumers'
 * allocations (sorted by uuid); usages are derived on load. Trees are listed in the ordered
 * index `rp.trees` (for a scheduler shard resyncing after a takeover).
 *
 * Why one record per tree rather than one per provider or consumer: a claim is per tree, so a
 * whole change is ONE put conditional on ONE store generation — the record's generation is the
 * tree's version, a commit can never half-apply, and a second writer (a stale owner) is caught
 * by that single check. A host's tree is small (a few providers, at most hundreds of consumers),
 * so rewriting it whole costs microseconds; a tree is loaded with one read.
 *
 * The record is canonical (sorted keys, sorted sets), so equal trees encode to equal bytes:
 * that is how an idempotent register or claim is recognised and not written.
 */
import { defineMessage } from '../core/codec/envelope.ts';
import { asList, asNested, asObject, int } from '../core/codec/fields.ts';
import type { Uuid } from '../core/model/ids.ts';
import { isCustomResourceClassName } from '../core/model/resource-classes.ts';
import { isCustomTraitName } from '../core/model/traits.ts';
import { PlacementState } from '../core/placement/state.ts';
import type { Store } from '../core/ports/store.ts';
import { Records } from '../core/stores/records.ts';
import { asConsumerSnapshot, type ConsumerSnapshot } from './provider-tree-messages.ts';
import {
  type Overrides,
  overridesFrom,
  overridesOut,
  type ProviderOverride,
} from './provider-tree-overrides.ts';
import {
  asProviderData,
  asUuid,
  MAX_CONSUMERS_PER_TREE,
  MAX_PROVIDERS_PER_TREE,
  type ProviderData,
  providerDataOut,
} from './provider-tree-wire.ts';

/** Key space of tree records: `rp/<root>`. */
export const TREE_SPACE = 'rp';
/** Ordered index of every root that has a record. */
export const TREE_INDEX = 'rp.trees';

export interface StoredProvider extends ProviderData {
  readonly generation: number;
}

export interface TreeRecord {
  readonly root: Uuid;
  readonly providers: readonly StoredProvider[];
  readonly consumers: readonly ConsumerSnapshot[];
  /** An operator's changes laid over the host's view at every register (provider-tree-overrides.ts). */
  readonly overrides?: readonly ProviderOverride[];
}

export const treeRecordMessage = defineMessage<TreeRecord>({
  type: 'cp.rp.record',
  major: 1,
  minor: 0,
  parse(body) {
    const p = 'cp.rp.record';
    const o = asObject(body, p);
    return {
      root: asUuid(o.root, `${p}.root`),
      providers: asList(
        o.providers,
        `${p}.providers`,
        (v, q) =>
          asNested(v, q, (f, r) => ({ ...asProviderData(f, r), generation: int(f, 'generation', r) })),
        { maxItems: MAX_PROVIDERS_PER_TREE },
      ),
      consumers: asList(o.consumers, `${p}.consumers`, (v, q) => asNested(v, q, asConsumerSnapshot), {
        maxItems: MAX_CONSUMERS_PER_TREE,
      }),
      ...withOverridesField(overridesOut(overridesFrom(o.overrides, `${p}.overrides`))),
    };
  },
});

const withOverridesField = (o: readonly ProviderOverride[] | undefined) => (o ? { overrides: o } : {});

/** The overrides a record holds, by provider. */
export function overridesOf(record: TreeRecord): Overrides {
  return new Map((record.overrides ?? []).map((o) => [o.provider, o] as const));
}

export function treeRecords(store: Store): Records<TreeRecord> {
  return new Records(store, TREE_SPACE, treeRecordMessage);
}

/** The canonical record of the tree rooted at `root` in `state`, with the operator's `overrides`. */
export function recordOf(state: PlacementState, root: Uuid, overrides: Overrides = new Map()): TreeRecord {
  const providers: StoredProvider[] = state.subtree(root).map((uuid) => {
    const rp = state.provider(uuid)!;
    const data = providerDataOut({
      uuid,
      name: rp.name,
      parentUuid: rp.parentUuid,
      inventories: Object.fromEntries(rp.inventories),
      traits: [...rp.traits],
      aggregates: [...rp.aggregates],
    });
    return { ...data, generation: rp.generation };
  });
  const consumers = [...state.consumers()]
    .sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0))
    .map((c) => {
      const allocations: Record<string, Record<string, number>> = {};
      for (const rp of [...c.allocations.keys()].sort()) {
        const byClass = c.allocations.get(rp)!;
        allocations[rp] = Object.fromEntries([...byClass].sort(([a], [b]) => (a < b ? -1 : 1)));
      }
      return { uuid: c.uuid, project: c.projectId, user: c.userId, generation: c.generation, allocations };
    });
  return { root, providers, consumers, ...withOverridesField(overridesOut(overrides)) };
}

/** Rebuilds the engine state of a tree from its record (providers parents-first: pre-order). */
export function stateOf(record: TreeRecord): PlacementState {
  const state = new PlacementState();
  for (const p of record.providers) insertProvider(state, p);
  for (const c of record.consumers) {
    const allocations = new Map<Uuid, Map<string, number>>();
    for (const [rp, byClass] of Object.entries(c.allocations))
      allocations.set(rp as Uuid, new Map(Object.entries(byClass)));
    state.writeConsumer(c.uuid as Uuid, {
      uuid: c.uuid as Uuid,
      projectId: c.project,
      userId: c.user,
      consumerType: null,
      generation: c.generation,
      allocations,
    });
  }
  // Loading bumped generations; put back the persisted ones.
  for (const p of record.providers) state.restoreGeneration(p.uuid, p.generation);
  return state;
}

/** Adds provider `p` (its parent already in `state`) with its inventories, traits and aggregates. */
export function insertProvider(state: PlacementState, p: ProviderData): void {
  for (const rc of Object.keys(p.inventories)) ensureClass(state, rc);
  for (const t of p.traits) ensureTrait(state, t);
  state.insertProvider(p.uuid, p.name, p.parentUuid);
  state.replaceInventories(p.uuid, new Map(Object.entries(p.inventories)));
  state.replaceTraits(p.uuid, p.traits);
  state.replaceAggregates(p.uuid, p.aggregates);
}

/** Custom classes and traits are per cell in Placement; a tree knows the ones it uses. */
export function ensureClass(state: PlacementState, rc: string): void {
  if (!state.hasResourceClass(rc) && isCustomResourceClassName(rc)) state.addCustomResourceClass(rc);
}

export function ensureTrait(state: PlacementState, trait: string): void {
  if (!state.hasTrait(trait) && isCustomTraitName(trait)) state.addCustomTrait(trait);
}
