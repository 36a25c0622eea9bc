/**
 * The provider-tree actor's messages (kind `rp`, id = root provider uuid, scope = the cell), its
 * change event and its `conflict` answer. All versioned envelopes (STYLE.md §7): new fields
 * must be optional so that an older reader still parses a newer writer's message.
 *
 * `version` everywhere is the store generation of the tree's record: it grows by one with every
 * committed change, so a scheduler shard that sees a gap in the events knows to resync.
 */
import { defineMessage, type MessageType } from '../core/codec/envelope.ts';
import {
  asInt,
  asList,
  asNested,
  asObject,
  asOneOf,
  asRecord,
  asString,
  boolean,
  type Fields,
  int,
  list,
  optBoolean,
  string,
} from '../core/codec/fields.ts';
import type { Inventory } from '../core/model/inventory.ts';
import type { AdjustRequest } from './provider-tree-overrides.ts';
import {
  type Allocations,
  type Amounts,
  asAllocations,
  asAmounts,
  asFree,
  asGenerations,
  asInventory,
  asProviderData,
  asUuid,
  type Generations,
  MAX_AGGREGATES_PER_PROVIDER,
  MAX_CONSUMERS_PER_TREE,
  MAX_PROVIDERS_PER_TREE,
  MAX_TRAITS_PER_PROVIDER,
  type ProviderData,
} from './provider-tree-wire.ts';
import { type AskType, defineAsk } from './runtime/protocol.ts';

/** Actor kind of provider trees. */
export const PROVIDER_TREE_KIND = 'rp';

function message<T>(type: string, parse: (o: Fields, path: string) => T): MessageType<T> {
  return defineMessage<T>({ type, major: 1, minor: 0, parse: (b) => parse(asObject(b, type), type) });
}

// ---- register -----------------------------------------------------------------------------

/** The whole tree as its host sees it: exactly one root (the actor's id), parents inside the tree. */
export interface RegisterRequest {
  readonly providers: readonly ProviderData[];
}
export interface RegisterReply {
  /** False when the tree already was exactly this (nothing written, no generation moved). */
  readonly changed: boolean;
  readonly version: number;
  readonly generations: Generations;
}

export const register: AskType<RegisterRequest, RegisterReply> = defineAsk(
  message('cp.rp.register', (o, p) => ({
    providers: list(o, 'providers', p, (v, q) => asNested(v, q, asProviderData), {
      maxItems: MAX_PROVIDERS_PER_TREE,
    }),
  })),
  message('cp.rp.registered', (o, p) => ({
    changed: boolean(o, 'changed', p),
    version: int(o, 'version', p),
    generations: asGenerations(o.generations, `${p}.generations`),
  })),
);

// ---- claim --------------------------------------------------------------------------------

export interface ClaimRequest {
  readonly consumer: string;
  readonly project: string;
  readonly user: string;
  /** Everything the consumer will hold in this tree (a claim replaces what it held before). */
  readonly allocations: Allocations;
  /** From the caller's snapshot: refused with `conflict` (reason `generation`) unless still current. */
  readonly expectedGenerations?: Generations;
}
export interface ClaimReply {
  readonly generations: Generations;
  readonly version: number;
  /** True when the consumer already held exactly these allocations (a retried claim): nothing written. */
  readonly replayed: boolean;
}

export const claim: AskType<ClaimRequest, ClaimReply> = defineAsk(
  message('cp.rp.claim', (o, p) => {
    const out = {
      consumer: asUuid(o.consumer, `${p}.consumer`),
      project: string(o, 'project', p, { minLength: 1, maxLength: 255 }),
      user: string(o, 'user', p, { minLength: 1, maxLength: 255 }),
      allocations: asAllocations(o.allocations, `${p}.allocations`),
    };
    const g = o.expectedGenerations;
    if (g === undefined || g === null) return out;
    return { ...out, expectedGenerations: asGenerations(g, `${p}.expectedGenerations`) };
  }),
  message('cp.rp.claimed', (o, p) => ({
    generations: asGenerations(o.generations, `${p}.generations`),
    version: int(o, 'version', p),
    replayed: boolean(o, 'replayed', p),
  })),
);

// ---- release ------------------------------------------------------------------------------

export interface ReleaseRequest {
  readonly consumer: string;
}
export interface ReleaseReply {
  /** False when the consumer held nothing in this tree (a retried or duplicate release). */
  readonly released: boolean;
  readonly version: number;
  readonly generations: Generations;
}

export const release: AskType<ReleaseRequest, ReleaseReply> = defineAsk(
  message('cp.rp.release', (o, p) => ({ consumer: asUuid(o.consumer, `${p}.consumer`) })),
  message('cp.rp.released', (o, p) => ({
    released: boolean(o, 'released', p),
    version: int(o, 'version', p),
    generations: asGenerations(o.generations, `${p}.generations`),
  })),
);

// ---- adjust (an operator's Placement write) ----------------------------------------------

export interface AdjustReply {
  readonly version: number;
  readonly generations: Generations;
}

export const adjust: AskType<AdjustRequest, AdjustReply> = defineAsk(
  message('cp.rp.adjust', (o, p) => {
    const out: Record<string, unknown> = {
      provider: asUuid(o.provider, `${p}.provider`),
      generation: int(o, 'generation', p, { min: 0 }),
    };
    if (o.traits !== undefined && o.traits !== null)
      out.traits = asList(o.traits, `${p}.traits`, (x, q) => asString(x, q), {
        maxItems: MAX_TRAITS_PER_PROVIDER,
      });
    if (o.aggregates !== undefined && o.aggregates !== null)
      out.aggregates = asList(o.aggregates, `${p}.aggregates`, asUuid, {
        maxItems: MAX_AGGREGATES_PER_PROVIDER,
      });
    if (o.inventories !== undefined && o.inventories !== null)
      out.inventories = asRecord(o.inventories, `${p}.inventories`, asInventory);
    return out as unknown as AdjustRequest;
  }),
  message('cp.rp.adjusted', (o, p) => ({
    version: int(o, 'version', p),
    generations: asGenerations(o.generations, `${p}.generations`),
  })),
);

// ---- snapshot -----------------------------------------------------------------------------

export interface ProviderSnapshot extends ProviderData {
  readonly generation: number;
  /** Used amount of every class in the inventory (0 included). */
  readonly usages: Amounts;
}
export interface ConsumerSnapshot {
  readonly uuid: string;
  readonly project: string;
  readonly user: string;
  readonly generation: number;
  readonly allocations: Allocations;
}
export interface TreeSnapshot {
  readonly root: string;
  readonly version: number;
  /** Pre-order from the root. */
  readonly providers: readonly ProviderSnapshot[];
  /** Only when asked for (`consumers: true`), sorted by uuid. */
  readonly consumers?: readonly ConsumerSnapshot[];
}

export function asProviderSnapshot(o: Fields, path: string): ProviderSnapshot {
  return {
    ...asProviderData(o, path),
    generation: int(o, 'generation', path, { min: 0 }),
    usages: asAmounts(o.usages, `${path}.usages`),
  };
}

export function asConsumerSnapshot(o: Fields, path: string): ConsumerSnapshot {
  return {
    uuid: asUuid(o.uuid, `${path}.uuid`),
    project: string(o, 'project', path),
    user: string(o, 'user', path),
    generation: int(o, 'generation', path, { min: 1 }),
    allocations: asAllocations(o.allocations, `${path}.allocations`),
  };
}

const providerList = (v: unknown, p: string) =>
  asList(v, p, (x, q) => asNested(x, q, asProviderSnapshot), { maxItems: MAX_PROVIDERS_PER_TREE });

export const snapshot: AskType<{ consumers?: boolean }, TreeSnapshot> = defineAsk(
  message('cp.rp.snapshot', (o, p) => {
    const consumers = optBoolean(o, 'consumers', p);
    return consumers === undefined ? {} : { consumers };
  }),
  message('cp.rp.tree', (o, p) => {
    const out = {
      root: asUuid(o.root, `${p}.root`),
      version: int(o, 'version', p),
      providers: providerList(o.providers, `${p}.providers`),
    };
    if (o.consumers === undefined || o.consumers === null) return out;
    const consumers = asList(o.consumers, `${p}.consumers`, (x, q) => asNested(x, q, asConsumerSnapshot), {
      maxItems: MAX_CONSUMERS_PER_TREE,
    });
    return { ...out, consumers };
  }),
);

// ---- the change event ---------------------------------------------------------------------

export type ChangeCause = 'register' | 'claim' | 'release';

/** Published on `cp.<cell>.events.rp.<root>` after every committed change. */
export interface TreeChanged {
  readonly root: string;
  readonly version: number;
  readonly cause: ChangeCause;
  /** Every provider the change touched, as it is now. */
  readonly providers: readonly ProviderSnapshot[];
  /** Providers that left the tree (a register without them). */
  readonly removed: readonly string[];
}

export const treeChanged = message<TreeChanged>('cp.rp.changed', (o, p) => ({
  root: asUuid(o.root, `${p}.root`),
  version: int(o, 'version', p),
  cause: asOneOf(o.cause, `${p}.cause`, ['register', 'claim', 'release'] as const),
  providers: providerList(o.providers, `${p}.providers`),
  removed: asList(o.removed ?? [], `${p}.removed`, asUuid, { maxItems: MAX_PROVIDERS_PER_TREE }),
}));

// ---- the conflict answer ------------------------------------------------------------------

export type ConflictReason =
  /** An expected generation is stale, or the snapshot named a provider no longer in the tree. */
  | 'generation'
  /** used + amount > capacity. */
  | 'capacity'
  /** min_unit / max_unit / step_size. */
  | 'constraints'
  /** The provider has no inventory of the class. */
  | 'inventory';

export const CONFLICT_REASONS: readonly ConflictReason[] = [
  'generation',
  'capacity',
  'constraints',
  'inventory',
];

/** `details` of a claim's `conflict`: enough for the caller to refresh and move to its next alternate. */
export interface ClaimConflict {
  readonly reason: ConflictReason;
  readonly provider?: string;
  readonly resourceClass?: string;
  readonly version: number;
  readonly generations: Generations;
  /** capacity - used, per provider and class. */
  readonly free: Readonly<Record<string, Amounts>>;
}

/** The claim conflict an ask rejected with, or undefined for any other error. */
export function claimConflictOf(err: unknown): ClaimConflict | undefined {
  const e = err as { code?: unknown; details?: unknown } | undefined;
  if (e?.code !== 'conflict' || typeof e.details !== 'object' || e.details === null) return undefined;
  try {
    const o = asObject(e.details, 'conflict');
    const out: ClaimConflict = {
      reason: asOneOf(o.reason, 'conflict.reason', CONFLICT_REASONS),
      version: asInt(o.version, 'conflict.version'),
      generations: asGenerations(o.generations, 'conflict.generations'),
      free: asFree(o.free, 'conflict.free'),
    };
    const provider = o.provider === undefined ? undefined : asString(o.provider, 'conflict.provider');
    const rc =
      o.resourceClass === undefined ? undefined : asString(o.resourceClass, 'conflict.resourceClass');
    return {
      ...out,
      ...(provider === undefined ? {} : { provider }),
      ...(rc === undefined ? {} : { resourceClass: rc }),
    };
  } catch {
    return undefined;
  }
}

// Re-exported for callers that only import the messages.
export type { Allocations, Amounts, Generations, Inventory, ProviderData };
