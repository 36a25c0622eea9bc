/**
 * Field parsers shared by the provider-tree messages (provider-tree-messages.ts) and its store
 * record (provider-tree-store.ts): UUIDs in canonical form, inventories, amounts per class,
 * allocations per provider, generations per provider, and one provider's description. Every
 * failure is `invalid` naming the field's path (core/codec/fields.ts).
 */
import {
  asInt,
  asList,
  asNumber,
  asObject,
  asRecord,
  asString,
  type Fields,
  optInt,
  optNumber,
  string,
} from '../core/codec/fields.ts';
import { CellplaneError } from '../core/errors.ts';
import { parseUuid, type Uuid } from '../core/model/ids.ts';
import { type Inventory, MAX_INT, makeInventory } from '../core/model/inventory.ts';

/** Providers in one tree (a host with its NUMA nodes, PFs, GPUs…). */
export const MAX_PROVIDERS_PER_TREE = 256;
/** Resource classes in one provider's inventory, or in one allocation. */
export const MAX_CLASSES_PER_PROVIDER = 64;
/** Traits on one provider. */
export const MAX_TRAITS_PER_PROVIDER = 512;
/** Aggregates one provider belongs to. */
export const MAX_AGGREGATES_PER_PROVIDER = 256;
/** Consumers one tree record holds (instances on one host). */
export const MAX_CONSUMERS_PER_TREE = 65_536;

/** Amount per resource class. */
export type Amounts = Readonly<Record<string, number>>;
/** Amounts per provider uuid: what a consumer holds (or asks for) in one tree. */
export type Allocations = Readonly<Record<string, Amounts>>;
/** Generation per provider uuid. */
export type Generations = Readonly<Record<string, number>>;

/** One provider as stored and as snapshotted (inventories complete, with defaults applied). */
export interface ProviderData {
  readonly uuid: Uuid;
  readonly name: string;
  readonly parentUuid: Uuid | null;
  readonly inventories: Readonly<Record<string, Inventory>>;
  readonly traits: readonly string[];
  readonly aggregates: readonly Uuid[];
}

export function asUuid(v: unknown, path: string): Uuid {
  return parseUuid(asString(v, path), path);
}

function limited<T>(r: Record<string, T>, path: string, max: number): Record<string, T> {
  const n = Object.keys(r).length;
  if (n > max) throw new CellplaneError('invalid', `${path} has ${n} entries, at most ${max} allowed`);
  return r;
}

/** A full or partial inventory; absent fields take Placement's defaults. */
export function asInventory(v: unknown, path: string): Inventory {
  const o = asObject(v, path);
  const int = (k: string) => optInt(o, k, path);
  const input = {
    total: asInt(o.total, `${path}.total`),
    reserved: int('reserved'),
    minUnit: int('minUnit'),
    maxUnit: int('maxUnit'),
    stepSize: int('stepSize'),
    allocationRatio: optNumber(o, 'allocationRatio', path),
  };
  return makeInventory(input as Parameters<typeof makeInventory>[0]);
}

export function asAmounts(v: unknown, path: string): Amounts {
  const r = asRecord(v, path, (x, p) => asInt(x, p, { min: 0, max: MAX_INT }));
  return limited(r, path, MAX_CLASSES_PER_PROVIDER);
}

/** Provider uuid keys are canonicalised (any case, with or without dashes, on input). */
export function asAllocations(v: unknown, path: string): Allocations {
  const raw = limited(asRecord(v, path, asAmounts), path, MAX_PROVIDERS_PER_TREE);
  const out: Record<string, Amounts> = {};
  for (const [k, amounts] of Object.entries(raw)) out[parseUuid(k, `${path}.${k}`)] = amounts;
  return out;
}

export function asGenerations(v: unknown, path: string): Generations {
  const raw = limited(
    asRecord(v, path, (x, p) => asInt(x, p, { min: 0 })),
    path,
    MAX_PROVIDERS_PER_TREE,
  );
  const out: Record<string, number> = {};
  for (const [k, g] of Object.entries(raw)) out[parseUuid(k, `${path}.${k}`)] = g;
  return out;
}

/** Free capacity per class, per provider (negative when an inventory shrank below usage). */
export function asFree(v: unknown, path: string): Readonly<Record<string, Amounts>> {
  return asRecord(v, path, (x, p) => asRecord(x, p, (n, q) => asNumber(n, q)));
}

export function asProviderData(o: Fields, path: string): ProviderData {
  const parent = o.parentUuid;
  return {
    uuid: asUuid(o.uuid, `${path}.uuid`),
    name: string(o, 'name', path, { minLength: 1, maxLength: 200 }),
    parentUuid: parent === null || parent === undefined ? null : asUuid(parent, `${path}.parentUuid`),
    inventories: limited(
      asRecord(o.inventories ?? {}, `${path}.inventories`, asInventory),
      `${path}.inventories`,
      MAX_CLASSES_PER_PROVIDER,
    ),
    traits: asList(o.traits ?? [], `${path}.traits`, (x, p) => asString(x, p), {
      maxItems: MAX_TRAITS_PER_PROVIDER,
    }),
    aggregates: asList(o.aggregates ?? [], `${path}.aggregates`, asUuid, {
      maxItems: MAX_AGGREGATES_PER_PROVIDER,
    }),
  };
}

/** The wire/record form of a provider: plain data, keys sorted so equal data encodes equally. */
export function providerDataOut(p: ProviderData): ProviderData {
  const inventories: Record<string, Inventory> = {};
  for (const rc of Object.keys(p.inventories).sort()) inventories[rc] = { ...p.inventories[rc]! };
  return {
    uuid: p.uuid,
    name: p.name,
    parentUuid: p.parentUuid,
    inventories,
    traits: [...p.traits].sort(),
    aggregates: [...p.aggregates].sort(),
  };
}
