/**
 * What the provider-tree actor does to its tree, as pure functions over the Placement engine's
 * state (no I/O): register (create/update/remove providers to match the host's view), claim
 * (with the idempotent-retry rule), release, and the read-outs (snapshot, generations, free
 * capacity, the conflict answer).
 *
 * A refused operation may leave `state` half-changed (register runs several engine writes): the
 * actor throws such a state away and rebuilds it from the last committed record.
 */
import { CellplaneError } from '../core/errors.ts';
import type { Uuid } from '../core/model/ids.ts';
import type { Inventory } from '../core/model/inventory.ts';
import { PlacementCodes } from '../core/placement/errors.ts';
import {
  createProvider,
  deleteAllocations,
  deleteProvider,
  type Outcome,
  type PlacementState,
  type ProviderView,
  providerFree,
  providerUsages,
  setAggregates,
  setInventories,
  setTraits,
  updateProvider,
  writeAllocations,
} from '../core/placement/operations.ts';
import type {
  ClaimRequest,
  ConflictReason,
  ConsumerSnapshot,
  ProviderSnapshot,
  TreeSnapshot,
} from './provider-tree-messages.ts';
import { ensureClass, ensureTrait, recordOf } from './provider-tree-store.ts';
import { type Amounts, type Generations, type ProviderData, providerDataOut } from './provider-tree-wire.ts';

/** What a change touched: the providers its event carries. */
export interface Touched {
  readonly providers: readonly Uuid[];
  readonly removed: readonly Uuid[];
}

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const refused = (code: 'invalid', message: string): Outcome<never> => ({
  ok: false,
  error: new CellplaneError(code, message),
});

export function isKnown(state: PlacementState, root: Uuid): boolean {
  return state.provider(root) !== undefined;
}

// ---- register -----------------------------------------------------------------------------

/** The providers parents-first, after checking there is one root (`root`) and no stray parent. */
function registerOrder(root: Uuid, providers: readonly ProviderData[]): Outcome<ProviderData[]> {
  const byUuid = new Map<Uuid, ProviderData>();
  const children = new Map<Uuid, ProviderData[]>();
  for (const p of providers) {
    if (byUuid.has(p.uuid)) return refused('invalid', `provider ${p.uuid} appears twice`);
    byUuid.set(p.uuid, p);
    if (p.parentUuid !== null) children.set(p.parentUuid, [...(children.get(p.parentUuid) ?? []), p]);
  }
  const top = byUuid.get(root);
  if (!top || top.parentUuid !== null)
    return refused('invalid', `the tree must contain its root ${root}, without a parent`);
  const order: ProviderData[] = [top];
  for (let i = 0; i < order.length; i++) order.push(...(children.get(order[i]!.uuid) ?? []));
  if (order.length !== byUuid.size) {
    const stray = [...byUuid.keys()].filter((u) => !order.some((p) => p.uuid === u));
    return refused('invalid', `providers not under root ${root}: ${stray.join(', ')}`);
  }
  return ok(order);
}

/**
 * Makes the tree exactly `providers`: creates the new ones, renames/re-parents/updates the
 * others (only what differs, so generations move only on a real change), removes the missing
 * ones (refused while they hold allocations). Idempotent.
 */
export function applyRegister(
  state: PlacementState,
  root: Uuid,
  providers: readonly ProviderData[],
): Outcome<Touched> {
  const order = registerOrder(root, providers);
  if (!order.ok) return order;
  const wanted = new Set(order.value.map((p) => p.uuid));
  const leaving = state
    .subtree(root)
    .filter((u) => !wanted.has(u))
    .reverse(); // descendants before their ancestors
  const postponed: Uuid[] = [];
  for (const u of leaving) {
    if (state.provider(u)!.children.size > 0) {
      postponed.push(u); // a child of it stays in the tree: it moves away first
      continue;
    }
    const out = deleteProvider(state, u);
    if (!out.ok) return out;
  }
  for (const p of order.value) {
    const out = upsertProvider(state, p);
    if (!out.ok) return out;
  }
  for (const u of postponed) {
    const out = deleteProvider(state, u);
    if (!out.ok) return out;
  }
  return ok({ providers: state.subtree(root), removed: leaving });
}

function upsertProvider(state: PlacementState, p: ProviderData): Outcome<unknown> {
  for (const rc of Object.keys(p.inventories)) ensureClass(state, rc);
  for (const t of p.traits) ensureTrait(state, t);
  const rp = state.provider(p.uuid);
  const placed = !rp
    ? createProvider(state, { uuid: p.uuid, name: p.name, parentUuid: p.parentUuid })
    : rp.name !== p.name || rp.parentUuid !== p.parentUuid
      ? updateProvider(state, p.uuid, { name: p.name, parentUuid: p.parentUuid, allowReparenting: true })
      : ok(rp);
  if (!placed.ok) return placed;
  const now = placed.value;
  if (!sameInventories(now.inventories, p.inventories)) {
    const out = setInventories(state, p.uuid, undefined, p.inventories);
    if (!out.ok) return out;
  }
  if (!sameSet(now.traits, p.traits)) {
    const out = setTraits(state, p.uuid, undefined, p.traits);
    if (!out.ok) return out;
  }
  if (!sameSet(now.aggregates, p.aggregates)) return setAggregates(state, p.uuid, undefined, p.aggregates);
  return ok(undefined);
}

const INVENTORY_FIELDS = ['total', 'reserved', 'minUnit', 'maxUnit', 'stepSize', 'allocationRatio'] as const;

function sameInventories(a: ReadonlyMap<string, Inventory>, b: Readonly<Record<string, Inventory>>): boolean {
  const keys = Object.keys(b);
  if (a.size !== keys.length) return false;
  return keys.every((rc) => {
    const x = a.get(rc);
    return x !== undefined && INVENTORY_FIELDS.every((f) => x[f] === b[rc]![f]);
  });
}

function sameSet(a: ReadonlySet<string>, b: readonly string[]): boolean {
  const s = new Set(b);
  return a.size === s.size && [...s].every((x) => a.has(x));
}

// ---- claim and release --------------------------------------------------------------------

export interface ClaimDone extends Touched {
  readonly replayed: boolean;
}

/** The consumer already holds exactly this (a retry of a claim that was committed). */
function isReplay(state: PlacementState, req: ClaimRequest): boolean {
  const c = state.consumer(req.consumer as Uuid);
  if (!c || c.projectId !== req.project || c.userId !== req.user) return false;
  const asked = Object.entries(req.allocations).filter(([, byClass]) => Object.keys(byClass).length > 0);
  if (asked.length !== c.allocations.size) return false;
  return asked.every(([rp, byClass]) => {
    const held = c.allocations.get(rp as Uuid);
    const classes = Object.entries(byClass);
    return (
      held !== undefined && held.size === classes.length && classes.every(([rc, n]) => held.get(rc) === n)
    );
  });
}

/**
 * Checks, in order: the tree is known (else a `generation` conflict at version 0: the pick came
 * from a snapshot that still holds a tree the store no longer has — lost with the store, or never
 * registered; the caller moves to its next alternate and the host is asked to register again,
 * see ProviderTreeClient `onUnregistered`); a retry of what the consumer already holds
 * is answered at once (replayed, whatever generations it carries: they were current when it
 * was first applied); every named provider is in the tree and every expected generation
 * current (`generation`); then the engine's unit and capacity rules. A claim replaces what
 * the consumer held in this tree before.
 */
export function applyClaim(state: PlacementState, root: Uuid, req: ClaimRequest): Outcome<ClaimDone> {
  if (!isKnown(state, root)) {
    const details = { reason: 'generation', provider: root }; // completed by claimRefusal (version 0)
    return {
      ok: false,
      error: new CellplaneError('conflict', `provider tree ${root} is not registered`, { details }),
    };
  }
  if (Object.keys(req.allocations).length === 0)
    return refused('invalid', 'a claim must allocate something (use release to free a consumer)');
  if (isReplay(state, req)) return ok({ replayed: true, providers: [], removed: [] });
  const named = [...Object.keys(req.allocations), ...Object.keys(req.expectedGenerations ?? {})];
  const missing = named.find((u) => state.provider(u as Uuid) === undefined);
  if (missing !== undefined) {
    const details = { reason: 'generation', provider: missing }; // completed by claimRefusal
    return {
      ok: false,
      error: new CellplaneError('conflict', `provider ${missing} is not in tree ${root}`, { details }),
    };
  }
  const write = { consumerUuid: req.consumer as Uuid, projectId: req.project, userId: req.user };
  const expected = new Map(Object.entries(req.expectedGenerations ?? {})) as Map<Uuid, number>;
  const out = writeAllocations(state, [{ ...write, allocations: req.allocations }], {
    expectedProviderGenerations: expected,
  });
  if (!out.ok) return out;
  return ok({ replayed: false, providers: out.value.providers, removed: [] });
}

export function applyRelease(
  state: PlacementState,
  consumer: Uuid,
): Outcome<Touched & { released: boolean }> {
  if (!state.consumer(consumer)) return ok({ released: false, providers: [], removed: [] });
  const out = deleteAllocations(state, consumer);
  if (!out.ok) return out;
  return ok({ released: true, providers: out.value.providers, removed: [] });
}

/** The claim `conflict` answer (claimConflictOf reads it back): an engine refusal made useful. */
export function claimRefusal(
  state: PlacementState,
  root: Uuid,
  version: number,
  err: CellplaneError,
): CellplaneError {
  if (err.code !== 'conflict') return err;
  const d = err.details ?? {};
  const reason: ConflictReason =
    d.placementCode === PlacementCodes.concurrentUpdate || d.reason === 'generation'
      ? 'generation'
      : d.reason === 'capacity'
        ? 'capacity'
        : d.reason === 'invalid'
          ? 'inventory'
          : 'constraints';
  const provider =
    typeof d.uuid === 'string' ? d.uuid : typeof d.provider === 'string' ? d.provider : undefined;
  const rc = typeof d.resourceClass === 'string' ? d.resourceClass : undefined;
  return conflict(state, root, version, reason, err.message, provider, rc);
}

function conflict(
  state: PlacementState,
  root: Uuid,
  version: number,
  reason: ConflictReason,
  message: string,
  provider?: string,
  resourceClass?: string,
): CellplaneError {
  const details: Record<string, unknown> = {
    reason,
    version,
    generations: generationsOf(state, root),
    free: freeOf(state, root),
  };
  if (provider !== undefined) details.provider = provider;
  if (resourceClass !== undefined) details.resourceClass = resourceClass;
  return new CellplaneError('conflict', message, { details, retryable: true });
}

// ---- read-outs ----------------------------------------------------------------------------

export function generationsOf(state: PlacementState, root: Uuid): Generations {
  const out: Record<string, number> = {};
  for (const u of state.subtree(root)) out[u] = state.provider(u)!.generation;
  return out;
}

export function freeOf(state: PlacementState, root: Uuid): Record<string, Amounts> {
  const out: Record<string, Amounts> = {};
  for (const u of state.subtree(root)) out[u] = providerFree(state.provider(u)!);
  return out;
}

export function providerSnapshot(rp: ProviderView): ProviderSnapshot {
  const data = providerDataOut({
    uuid: rp.uuid,
    name: rp.name,
    parentUuid: rp.parentUuid,
    inventories: Object.fromEntries(rp.inventories),
    traits: [...rp.traits],
    aggregates: [...rp.aggregates],
  });
  return { ...data, generation: rp.generation, usages: providerUsages(rp) };
}

export function snapshotOf(
  state: PlacementState,
  root: Uuid,
  version: number,
  consumers: boolean,
): TreeSnapshot {
  const providers = state.subtree(root).map((u) => providerSnapshot(state.provider(u)!));
  if (!consumers) return { root, version, providers };
  const held: readonly ConsumerSnapshot[] = recordOf(state, root).consumers;
  return { root, version, providers, consumers: held };
}
