/**
 * PlacementState: every resource provider, consumer, custom resource class and custom trait, in
 * plain Maps and Sets, with usages kept per provider and class as allocations change (never
 * recomputed by a scan).
 *
 * Readers get `ProviderView`/`ConsumerView`: the live records typed read-only — do not keep one
 * across a write, and never cast it back. Writers are the functions in providers.ts,
 * inventories.ts, provider-traits.ts, registry.ts and allocations.ts, which check everything
 * first and then call the unchecked mutators at the bottom of this class (all-or-nothing).
 *
 * An index (columnar arrays for allocation candidates) layers on through `subscribe`: each
 * mutator reports what changed, synchronously, after the change is applied.
 *
 * (~300 lines: one class owns every map, and the mutators stay beside the data they keep
 * consistent — name index, children, usages and the provider→consumer index.)
 */
import { CellplaneError } from '../errors.ts';
import type { Uuid } from '../model/ids.ts';
import type { Inventory } from '../model/inventory.ts';
import { isStandardResourceClass, STANDARD_RESOURCE_CLASSES } from '../model/resource-classes.ts';
import { isStandardTrait, STANDARD_TRAIT_NAMES } from '../model/traits.ts';

export interface ProviderView {
  readonly uuid: Uuid;
  readonly name: string;
  /** Starts at 0; +1 on every change of inventories, traits, aggregates or usages. */
  readonly generation: number;
  readonly parentUuid: Uuid | null;
  readonly rootUuid: Uuid;
  readonly children: ReadonlySet<Uuid>;
  readonly traits: ReadonlySet<string>;
  readonly aggregates: ReadonlySet<Uuid>;
  readonly inventories: ReadonlyMap<string, Inventory>;
  /** Used amount per class; a class is absent when nothing of it is allocated. */
  readonly usages: ReadonlyMap<string, number>;
  /** Consumers holding allocations here. */
  readonly consumers: ReadonlySet<Uuid>;
}

/** Amounts per resource class, per provider. */
export type AllocationMap = ReadonlyMap<Uuid, ReadonlyMap<string, number>>;

export interface ConsumerView {
  readonly uuid: Uuid;
  readonly projectId: string;
  readonly userId: string;
  /** Microversion 1.38's consumer_type; null for consumers written without one ("unknown"). */
  readonly consumerType: string | null;
  /** 1 after the first write; a consumer exists only while it holds allocations. */
  readonly generation: number;
  readonly allocations: AllocationMap;
}

export type StateChange =
  | {
      readonly kind: 'provider';
      readonly uuid: Uuid;
      readonly what:
        | 'created'
        | 'deleted'
        | 'renamed'
        | 'moved'
        | 'inventories'
        | 'traits'
        | 'aggregates'
        | 'usages';
    }
  | { readonly kind: 'consumer'; readonly uuid: Uuid; readonly what: 'written' | 'deleted' }
  | { readonly kind: 'resourceClass' | 'trait'; readonly name: string; readonly what: 'created' | 'deleted' };

export type ChangeListener = (change: StateChange) => void;

interface ProviderRecord {
  uuid: Uuid;
  name: string;
  generation: number;
  parentUuid: Uuid | null;
  rootUuid: Uuid;
  children: Set<Uuid>;
  traits: Set<string>;
  aggregates: Set<Uuid>;
  inventories: Map<string, Inventory>;
  usages: Map<string, number>;
  consumers: Set<Uuid>;
}

/** What `writeConsumer` stores; `generation` is the new one. */
export interface ConsumerRecord {
  readonly uuid: Uuid;
  readonly projectId: string;
  readonly userId: string;
  readonly consumerType: string | null;
  readonly generation: number;
  readonly allocations: AllocationMap;
}

export class PlacementState {
  private readonly providerMap = new Map<Uuid, ProviderRecord>();
  private readonly nameIndex = new Map<string, Uuid>();
  private readonly consumerMap = new Map<Uuid, ConsumerRecord>();
  private readonly customClasses = new Set<string>();
  private readonly customTraits = new Set<string>();
  private readonly listeners = new Set<ChangeListener>();

  // ---- readers ---------------------------------------------------------------------------

  provider(uuid: Uuid): ProviderView | undefined {
    return this.providerMap.get(uuid);
  }

  providerByName(name: string): ProviderView | undefined {
    const uuid = this.nameIndex.get(name);
    return uuid === undefined ? undefined : this.providerMap.get(uuid);
  }

  /** All providers, in creation order. */
  providers(): IterableIterator<ProviderView> {
    return this.providerMap.values();
  }

  get providerCount(): number {
    return this.providerMap.size;
  }

  consumer(uuid: Uuid): ConsumerView | undefined {
    return this.consumerMap.get(uuid);
  }

  consumers(): IterableIterator<ConsumerView> {
    return this.consumerMap.values();
  }

  /**
   * `uuid` and all its descendants in depth-first pre-order, siblings in the order they were
   * attached. Empty for an unknown uuid.
   */
  subtree(uuid: Uuid): Uuid[] {
    const out: Uuid[] = [];
    const stack: Uuid[] = this.providerMap.has(uuid) ? [uuid] : [];
    while (stack.length > 0) {
      const u = stack.pop()!;
      out.push(u);
      const children = [...(this.providerMap.get(u)?.children ?? [])];
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
    return out;
  }

  hasResourceClass(name: string): boolean {
    return isStandardResourceClass(name) || this.customClasses.has(name);
  }

  isCustomResourceClass(name: string): boolean {
    return this.customClasses.has(name);
  }

  /** Standard classes in os-resource-classes order, then custom ones in creation order. */
  resourceClasses(): string[] {
    return [...STANDARD_RESOURCE_CLASSES, ...this.customClasses];
  }

  hasTrait(name: string): boolean {
    return isStandardTrait(name) || this.customTraits.has(name);
  }

  isCustomTrait(name: string): boolean {
    return this.customTraits.has(name);
  }

  traitNames(): string[] {
    return [...STANDARD_TRAIT_NAMES, ...this.customTraits];
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- unchecked mutators: call only from the checked operations -------------------------

  /** Adds a provider (generation 0) under `parentUuid`, which must exist. */
  insertProvider(uuid: Uuid, name: string, parentUuid: Uuid | null): ProviderView {
    const parent = parentUuid === null ? undefined : this.providerMap.get(parentUuid);
    const rec: ProviderRecord = {
      uuid,
      name,
      generation: 0,
      parentUuid,
      rootUuid: parent ? parent.rootUuid : uuid,
      children: new Set(),
      traits: new Set(),
      aggregates: new Set(),
      inventories: new Map(),
      usages: new Map(),
      consumers: new Set(),
    };
    this.providerMap.set(uuid, rec);
    this.nameIndex.set(name, uuid);
    parent?.children.add(uuid);
    this.emit({ kind: 'provider', uuid, what: 'created' });
    return rec;
  }

  /** Removes a provider with no children and no allocations. */
  removeProvider(uuid: Uuid): void {
    const rec = this.mustGet(uuid);
    this.providerMap.delete(uuid);
    this.nameIndex.delete(rec.name);
    if (rec.parentUuid !== null) this.providerMap.get(rec.parentUuid)?.children.delete(uuid);
    this.emit({ kind: 'provider', uuid, what: 'deleted' });
  }

  renameProvider(uuid: Uuid, name: string): void {
    const rec = this.mustGet(uuid);
    this.nameIndex.delete(rec.name);
    rec.name = name;
    this.nameIndex.set(name, uuid);
    this.emit({ kind: 'provider', uuid, what: 'renamed' });
  }

  /** Re-parents `uuid` (null: makes it a root) and re-roots its whole subtree. No loop check. */
  moveProvider(uuid: Uuid, parentUuid: Uuid | null): void {
    const rec = this.mustGet(uuid);
    if (rec.parentUuid !== null) this.providerMap.get(rec.parentUuid)?.children.delete(uuid);
    rec.parentUuid = parentUuid;
    const root = parentUuid === null ? uuid : this.mustGet(parentUuid).rootUuid;
    if (parentUuid !== null) this.mustGet(parentUuid).children.add(uuid);
    for (const u of this.subtree(uuid)) this.mustGet(u).rootUuid = root;
    this.emit({ kind: 'provider', uuid, what: 'moved' });
  }

  replaceInventories(uuid: Uuid, inventories: ReadonlyMap<string, Inventory>): void {
    const rec = this.mustGet(uuid);
    rec.inventories = new Map(inventories);
    rec.generation++;
    this.emit({ kind: 'provider', uuid, what: 'inventories' });
  }

  replaceTraits(uuid: Uuid, traits: Iterable<string>): void {
    const rec = this.mustGet(uuid);
    rec.traits = new Set(traits);
    rec.generation++;
    this.emit({ kind: 'provider', uuid, what: 'traits' });
  }

  replaceAggregates(uuid: Uuid, aggregates: Iterable<Uuid>): void {
    const rec = this.mustGet(uuid);
    rec.aggregates = new Set(aggregates);
    rec.generation++;
    this.emit({ kind: 'provider', uuid, what: 'aggregates' });
  }

  /**
   * Replaces (or with `next === null` deletes) consumer `uuid`'s record and moves its old
   * allocations out of, and its new ones into, the providers' usages. Does not bump provider
   * generations: the caller reports each touched provider once with `usagesChanged`.
   */
  writeConsumer(uuid: Uuid, next: ConsumerRecord | null): void {
    const prev = this.consumerMap.get(uuid);
    if (prev) this.applyAllocations(uuid, prev.allocations, -1);
    if (next === null) this.consumerMap.delete(uuid);
    else {
      this.consumerMap.set(uuid, next);
      this.applyAllocations(uuid, next.allocations, +1);
    }
    this.emit({ kind: 'consumer', uuid, what: next === null ? 'deleted' : 'written' });
  }

  /** Announces a provider's new usages; `bump` also moves its generation (it received allocations). */
  usagesChanged(uuid: Uuid, bump: boolean): void {
    const rec = this.mustGet(uuid);
    if (bump) rec.generation++;
    this.emit({ kind: 'provider', uuid, what: 'usages' });
  }

  /**
   * Sets a provider's generation as it was persisted: only for loading a state from a store
   * (the provider was just inserted and filled). Emits no change.
   */
  restoreGeneration(uuid: Uuid, generation: number): void {
    this.mustGet(uuid).generation = generation;
  }

  addCustomResourceClass(name: string): void {
    this.customClasses.add(name);
    this.emit({ kind: 'resourceClass', name, what: 'created' });
  }

  removeCustomResourceClass(name: string): void {
    this.customClasses.delete(name);
    this.emit({ kind: 'resourceClass', name, what: 'deleted' });
  }

  addCustomTrait(name: string): void {
    this.customTraits.add(name);
    this.emit({ kind: 'trait', name, what: 'created' });
  }

  removeCustomTrait(name: string): void {
    this.customTraits.delete(name);
    this.emit({ kind: 'trait', name, what: 'deleted' });
  }

  // ---- internals -------------------------------------------------------------------------

  private applyAllocations(consumer: Uuid, allocations: AllocationMap, sign: 1 | -1): void {
    for (const [rpUuid, byClass] of allocations) {
      const rp = this.mustGet(rpUuid);
      for (const [rc, amount] of byClass) {
        const used = (rp.usages.get(rc) ?? 0) + sign * amount;
        if (used === 0) rp.usages.delete(rc);
        else rp.usages.set(rc, used);
      }
      if (sign > 0) rp.consumers.add(consumer);
      else rp.consumers.delete(consumer);
    }
  }

  private mustGet(uuid: Uuid): ProviderRecord {
    const rec = this.providerMap.get(uuid);
    if (!rec)
      throw new CellplaneError(
        'internal',
        `placement state: no provider ${uuid} (an operation skipped its checks)`,
      );
    return rec;
  }

  private emit(change: StateChange): void {
    for (const l of this.listeners) l(change);
  }
}
