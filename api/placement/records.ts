/**
 * How the Placement state lives in a Store: one record per provider, consumer, custom resource
 * class and custom trait (usages are derived from consumers on load). `seq` keeps creation order,
 * which is Placement's listing order. Versioned envelopes (core/codec/envelope.ts): new fields must
 * be optional so that an older reader still loads a newer writer's records.
 */
import { defineMessage } from '../../core/codec/envelope.ts';
import { CellplaneError } from '../../core/errors.ts';
import type { Uuid } from '../../core/model/ids.ts';
import type { Inventory } from '../../core/model/inventory.ts';
import type { Store } from '../../core/ports/store.ts';
import { Records } from '../../core/stores/records.ts';

export interface ProviderRecord {
  readonly seq: number;
  readonly uuid: Uuid;
  readonly name: string;
  readonly parentUuid: Uuid | null;
  readonly generation: number;
  readonly traits: readonly string[];
  readonly aggregates: readonly Uuid[];
  readonly inventories: Readonly<Record<string, Inventory>>;
}

export interface ConsumerRecordV1 {
  readonly uuid: Uuid;
  readonly projectId: string;
  readonly userId: string;
  readonly consumerType: string | null;
  readonly generation: number;
  readonly allocations: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface NameRecord {
  readonly seq: number;
  readonly name: string;
}

function obj(body: unknown, what: string): Record<string, unknown> {
  if (!body || typeof body !== 'object') throw new CellplaneError('invalid', `${what} record is not a map`);
  return body as Record<string, unknown>;
}

// The parsers trust the shape this module wrote; they only check it is a map. A corrupt record
// fails loudly on load rather than half-loading.
export const ProviderMessage = defineMessage<ProviderRecord>({
  type: 'cp.placement.provider',
  major: 1,
  minor: 0,
  parse: (b) => obj(b, 'provider') as unknown as ProviderRecord,
});
export const ConsumerMessage = defineMessage<ConsumerRecordV1>({
  type: 'cp.placement.consumer',
  major: 1,
  minor: 0,
  parse: (b) => obj(b, 'consumer') as unknown as ConsumerRecordV1,
});
export const NameMessage = defineMessage<NameRecord>({
  type: 'cp.placement.name',
  major: 1,
  minor: 0,
  parse: (b) => obj(b, 'name') as unknown as NameRecord,
});

export interface PlacementRecords {
  readonly providers: Records<ProviderRecord>;
  readonly consumers: Records<ConsumerRecordV1>;
  readonly classes: Records<NameRecord>;
  readonly traits: Records<NameRecord>;
}

export function placementRecords(store: Store): PlacementRecords {
  return {
    providers: new Records(store, 'placement.provider', ProviderMessage),
    consumers: new Records(store, 'placement.consumer', ConsumerMessage),
    classes: new Records(store, 'placement.class', NameMessage),
    traits: new Records(store, 'placement.trait', NameMessage),
  };
}

/** Records read per getMany round trip while loading. */
export const LOAD_BATCH = 1000;

/** Every record of one kind (ids scanned, then read in batches). */
export async function loadAll<T>(records: Records<T>): Promise<T[]> {
  const ids = await records.ids();
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += LOAD_BATCH) {
    for (const r of await records.getMany(ids.slice(i, i + LOAD_BATCH))) if (r) out.push(r.value);
  }
  return out;
}
