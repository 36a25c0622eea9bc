/**
 * An operator's changes to a host's providers (Placement writes: `resource provider trait set`,
 * `inventory set --reserved`, `aggregate set`), kept in the tree's record beside what the host
 * registers and laid over it at every register, so the host's agent does not undo them:
 * - traits, aggregates: the operator's list replaces the host's (until set again);
 * - inventories: the operator sets reserved, allocation ratio, min/max unit and step of the
 *   classes the host reports; the total stays the host's (an operator cannot invent capacity).
 * The `adjust` ask (provider-tree.ts) applies one such change, generation-checked as Placement's
 * writes are.
 */
import { asInt, asList, asNested, asNumber, asObject, asRecord, type Fields } from '../core/codec/fields.ts';
import { CellplaneError } from '../core/errors.ts';
import type { Uuid } from '../core/model/ids.ts';
import type { Inventory } from '../core/model/inventory.ts';
import { isCustomTraitName } from '../core/model/traits.ts';
import {
  type Outcome,
  type PlacementState,
  setAggregates,
  setInventories,
  setTraits,
} from '../core/placement/operations.ts';
import { asUuid, MAX_PROVIDERS_PER_TREE, type ProviderData } from './provider-tree-wire.ts';

/** The inventory fields an operator may set (the total is the host's). */
export type InventoryTuning = Pick<
  Inventory,
  'reserved' | 'allocationRatio' | 'minUnit' | 'maxUnit' | 'stepSize'
>;

export interface ProviderOverride {
  readonly provider: Uuid;
  readonly traits?: readonly string[];
  readonly aggregates?: readonly Uuid[];
  readonly inventories?: Readonly<Record<string, InventoryTuning>>;
}

/** By provider uuid. */
export type Overrides = ReadonlyMap<Uuid, ProviderOverride>;

export interface AdjustRequest {
  readonly provider: string;
  /** The provider's generation the change was made against (Placement's optimistic check). */
  readonly generation: number;
  readonly traits?: readonly string[];
  readonly aggregates?: readonly string[];
  /** Every class's inventory, as Placement's PUT /inventories gives it. */
  readonly inventories?: Readonly<Record<string, Inventory>>;
}

const tuningOf = (inv: Inventory): InventoryTuning => ({
  reserved: inv.reserved,
  allocationRatio: inv.allocationRatio,
  minUnit: inv.minUnit,
  maxUnit: inv.maxUnit,
  stepSize: inv.stepSize,
});

/** The host's view of its providers with the operator's changes laid over it. */
export function withOverrides(providers: readonly ProviderData[], overrides: Overrides): ProviderData[] {
  if (overrides.size === 0) return [...providers];
  return providers.map((p) => {
    const o = overrides.get(p.uuid);
    if (!o) return p;
    const inventories: Record<string, Inventory> = {};
    for (const [rc, inv] of Object.entries(p.inventories)) {
      const t = o.inventories?.[rc];
      inventories[rc] = t ? { ...inv, ...t, reserved: Math.min(t.reserved, inv.total) } : inv;
    }
    return {
      ...p,
      inventories,
      traits: o.traits ? [...o.traits] : p.traits,
      aggregates: o.aggregates ? [...o.aggregates] : p.aggregates,
    };
  });
}

const refuse = (message: string): Outcome<never> => ({
  ok: false,
  error: new CellplaneError('invalid', message),
});

/**
 * Applies an operator's change to provider `req.provider` of the tree: the generation must be
 * current (else Placement's concurrent-update conflict, from the engine), inventories keep the
 * host's classes and totals. Returns what it touched and the overrides to record.
 */
export function applyAdjust(
  state: PlacementState,
  root: Uuid,
  overrides: Overrides,
  req: AdjustRequest,
): Outcome<{ providers: Uuid[]; removed: Uuid[]; overrides: Overrides }> {
  const uuid = req.provider as Uuid;
  if (!state.subtree(root).includes(uuid))
    return { ok: false, error: new CellplaneError('notFound', `provider ${uuid} is not in tree ${root}`) };
  const rp = state.provider(uuid)!;
  const prev = overrides.get(uuid) ?? { provider: uuid };
  let next: ProviderOverride = prev;
  let generation: number | undefined = req.generation;
  if (req.inventories) {
    const have = [...rp.inventories.keys()].sort();
    const want = Object.keys(req.inventories).sort();
    if (have.join() !== want.join())
      return refuse(
        `the resource classes of provider ${rp.name} are its host's (${have.join(', ') || 'none'}); an operator may change their reserved amount, allocation ratio and units, not add or remove classes`,
      );
    for (const [rc, inv] of Object.entries(req.inventories))
      if (inv.total !== rp.inventories.get(rc)!.total)
        return refuse(
          `the total of ${rc} on provider ${rp.name} is its host's (${rp.inventories.get(rc)!.total})`,
        );
    const out = setInventories(state, uuid, generation, req.inventories);
    if (!out.ok) return out;
    generation = undefined;
    next = {
      ...next,
      inventories: Object.fromEntries(
        Object.entries(req.inventories).map(([rc, inv]) => [rc, tuningOf(inv)]),
      ),
    };
  }
  if (req.traits) {
    for (const t of req.traits) if (!state.hasTrait(t) && isCustomTraitName(t)) state.addCustomTrait(t);
    const out = setTraits(state, uuid, generation, req.traits);
    if (!out.ok) return out;
    generation = undefined;
    next = { ...next, traits: [...req.traits].sort() };
  }
  if (req.aggregates) {
    const out = setAggregates(state, uuid, generation, req.aggregates as Uuid[]);
    if (!out.ok) return out;
    next = { ...next, aggregates: [...req.aggregates].sort() as Uuid[] };
  }
  const all = new Map(overrides);
  all.set(uuid, next);
  return { ok: true, value: { providers: [uuid], removed: [], overrides: all } };
}

/** Overrides of providers still in the tree (a provider the host stopped reporting loses its). */
export function liveOverrides(state: PlacementState, root: Uuid, overrides: Overrides): Overrides {
  const live = new Set(state.subtree(root));
  return new Map([...overrides].filter(([u]) => live.has(u)));
}

// ---- the record's form --------------------------------------------------------------------

function asTuning(v: unknown, p: string): InventoryTuning {
  const o = asObject(v, p);
  return {
    reserved: asInt(o.reserved, `${p}.reserved`, { min: 0 }),
    allocationRatio: asNumber(o.allocationRatio, `${p}.allocationRatio`),
    minUnit: asInt(o.minUnit, `${p}.minUnit`, { min: 1 }),
    maxUnit: asInt(o.maxUnit, `${p}.maxUnit`, { min: 1 }),
    stepSize: asInt(o.stepSize, `${p}.stepSize`, { min: 1 }),
  };
}

function asOverride(o: Fields, p: string): ProviderOverride {
  return {
    provider: asUuid(o.provider, `${p}.provider`),
    ...(o.traits ? { traits: asList(o.traits, `${p}.traits`, (x) => String(x)) } : {}),
    ...(o.aggregates ? { aggregates: asList(o.aggregates, `${p}.aggregates`, asUuid) } : {}),
    ...(o.inventories ? { inventories: asRecord(o.inventories, `${p}.inventories`, asTuning) } : {}),
  };
}

/** The record's `overrides` field (absent in records written before them: none). */
export function overridesFrom(v: unknown, p: string): Overrides {
  if (v === undefined || v === null) return new Map();
  const list = asList(v, p, (x, q) => asNested(x, q, asOverride), { maxItems: MAX_PROVIDERS_PER_TREE });
  return new Map(list.map((o) => [o.provider, o] as const));
}

/** The record's `overrides` field, canonical (sorted), or undefined when there are none. */
export function overridesOut(overrides: Overrides): ProviderOverride[] | undefined {
  if (overrides.size === 0) return undefined;
  return [...overrides.values()].sort((a, b) =>
    a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0,
  );
}
