/**
 * Fluent fixtures for tests (STYLE.md §11). Names stand for UUIDs: `uuidFor('cn1')` is a stable
 * UUID derived from the name, so tables can say 'cn1' and still exercise real UUIDs.
 *
 * ```ts
 * const state = makeState(
 *   makeProvider('cn1').inventory('VCPU', 16, { allocationRatio: 4 }).trait('HW_CPU_X86_AVX2')
 *     .child(makeProvider('cn1_gpu0').inventory('VGPU', 4)),
 * );
 * unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 2 }).write(null)));
 * ```
 * Builders go through the real operations and throw on any refusal: a fixture that cannot be
 * built is a broken test, not a case under test.
 */

import type { Uuid } from '../core/model/ids.ts';
import { type Inventory, makeInventory } from '../core/model/inventory.ts';
import { isStandardResourceClass } from '../core/model/resource-classes.ts';
import { isStandardTrait } from '../core/model/traits.ts';
import type { ConsumerWrite } from '../core/placement/allocations.ts';
import {
  createProvider,
  ensureResourceClass,
  ensureTrait,
  PlacementState,
  type ProviderView,
  setAggregates,
  setInventories,
  setTraits,
  unwrap,
} from '../core/placement/operations.ts';
import { hashString } from '../core/rng.ts';

/** A stable UUID for a fixture name (or the name itself when it already is a UUID). */
export function uuidFor(name: string): Uuid {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(name)) return name as Uuid;
  const hex = [0, 1, 2, 3].map((i) => hashString(`${i}:${name}`).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}` as Uuid;
}

export class ProviderBuilder {
  readonly uuid: Uuid;
  private readonly inventories = new Map<string, Inventory>();
  private readonly traitNames = new Set<string>();
  private readonly aggregateUuids = new Set<Uuid>();
  private readonly children: ProviderBuilder[] = [];

  constructor(readonly name: string) {
    this.uuid = uuidFor(name);
  }

  inventory(rc: string, total: number, opts: Partial<Omit<Inventory, 'total'>> = {}): this {
    this.inventories.set(rc, makeInventory({ total, ...opts }));
    return this;
  }

  trait(...names: string[]): this {
    for (const n of names) this.traitNames.add(n);
    return this;
  }

  /** Aggregates by fixture name or UUID. */
  aggregate(...names: string[]): this {
    for (const n of names) this.aggregateUuids.add(uuidFor(n));
    return this;
  }

  child(...builders: ProviderBuilder[]): this {
    this.children.push(...builders);
    return this;
  }

  /** Creates this provider (and its children) in `state`; custom classes and traits on demand. */
  addTo(state: PlacementState, parentUuid: Uuid | null = null): ProviderView {
    const rp = unwrap(createProvider(state, { uuid: this.uuid, name: this.name, parentUuid }));
    for (const rc of this.inventories.keys()) {
      if (!isStandardResourceClass(rc)) unwrap(ensureResourceClass(state, rc));
    }
    for (const t of this.traitNames) if (!isStandardTrait(t)) unwrap(ensureTrait(state, t));
    if (this.inventories.size > 0) unwrap(setInventories(state, rp.uuid, rp.generation, this.inventories));
    if (this.traitNames.size > 0) unwrap(setTraits(state, rp.uuid, rp.generation, this.traitNames));
    if (this.aggregateUuids.size > 0)
      unwrap(setAggregates(state, rp.uuid, rp.generation, this.aggregateUuids));
    for (const c of this.children) c.addTo(state, rp.uuid);
    return rp;
  }
}

export function makeProvider(name: string): ProviderBuilder {
  return new ProviderBuilder(name);
}

export function makeState(...providers: ProviderBuilder[]): PlacementState {
  const state = new PlacementState();
  for (const p of providers) p.addTo(state);
  return state;
}

export class ConsumerBuilder {
  readonly uuid: Uuid;
  private projectId = 'project-a';
  private userId = 'user-a';
  private readonly allocations: Record<string, Record<string, number>> = {};

  constructor(readonly name: string) {
    this.uuid = uuidFor(name);
  }

  project(projectId: string, userId = this.userId): this {
    this.projectId = projectId;
    this.userId = userId;
    return this;
  }

  /** Adds amounts on a provider given by fixture name or UUID. */
  on(provider: string, resources: Record<string, number>): this {
    const key = uuidFor(provider);
    this.allocations[key] = { ...(this.allocations[key] ?? {}), ...resources };
    return this;
  }

  /** The write, expecting `expectedGeneration` (null: a new consumer; undefined: unchecked). */
  write(expectedGeneration?: number | null): ConsumerWrite {
    return {
      consumerUuid: this.uuid,
      projectId: this.projectId,
      userId: this.userId,
      expectedGeneration,
      allocations: this.allocations,
    };
  }
}

export function makeConsumer(name: string): ConsumerBuilder {
  return new ConsumerBuilder(name);
}
