import type { Store } from '../../../core/ports/store.ts';
import { Records, trustedRecord } from '../../../core/stores/records.ts';

export interface FlavorRecord {
  /** Creation order (Nova's internal autoincrement `id`, the tie-breaker of every sort). */
  readonly seq: number;
  readonly flavorid: string;
  readonly name: string;
  readonly memoryMb: number;
  readonly vcpus: number;
  readonly rootGb: number;
  readonly ephemeralGb: number;
  readonly swap: number;
  readonly rxtxFactor: number;
  readonly isPublic: boolean;
  readonly disabled: boolean;
  readonly description: string | null;
  readonly extraSpecs: Readonly<Record<string, string>>;
  /** Projects given access to a private flavor (os-flavor-access), sorted. */
  readonly projects: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string | null;
}

export interface AggregateRecord {
  readonly id: number;
  readonly uuid: string;
  readonly name: string;
  readonly hosts: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly updatedAt: string | null;
}

export type ServerGroupPolicy = 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';

export interface ServerGroupRecord {
  readonly seq: number;
  readonly uuid: string;
  readonly name: string;
  readonly policy: ServerGroupPolicy;
  readonly rules: Readonly<{ max_server_per_host?: number }>;
  /** Instance uuids, in the order they joined. */
  readonly members: readonly string[];
  readonly projectId: string;
  readonly userId: string;
  readonly createdAt: string;
}

export interface QuotaRecord {
  /** Only the limits set for the project; the others are the defaults. -1 = unlimited. */
  readonly limits: Readonly<Record<string, number>>;
}

/** The owner of a unique name (flavor name, aggregate name). */
export interface NameRecord {
  readonly id: string;
}

export interface CounterRecord {
  readonly value: number;
}

const message = trustedRecord;

export const FlavorMessage = message<FlavorRecord>('cp.compute.flavor');
export const AggregateMessage = message<AggregateRecord>('cp.compute.aggregate');
export const ServerGroupMessage = message<ServerGroupRecord>('cp.compute.server_group');
export const QuotaMessage = message<QuotaRecord>('cp.compute.quota');
export const NameMessage = message<NameRecord>('cp.compute.name');
export const CounterMessage = message<CounterRecord>('cp.compute.counter');

export interface ComputeRecords {
  readonly store: Store;
  readonly flavors: Records<FlavorRecord>;
  readonly flavorNames: Records<NameRecord>;
  readonly aggregates: Records<AggregateRecord>;
  readonly aggregateNames: Records<NameRecord>;
  readonly serverGroups: Records<ServerGroupRecord>;
  readonly quotas: Records<QuotaRecord>;
  readonly counters: Records<CounterRecord>;
}

export function computeRecords(store: Store): ComputeRecords {
  return {
    store,
    flavors: new Records(store, 'compute.flavor', FlavorMessage),
    flavorNames: new Records(store, 'compute.flavor-name', NameMessage),
    aggregates: new Records(store, 'compute.aggregate', AggregateMessage),
    aggregateNames: new Records(store, 'compute.aggregate-name', NameMessage),
    serverGroups: new Records(store, 'compute.server-group', ServerGroupMessage),
    quotas: new Records(store, 'compute.quota', QuotaMessage),
    counters: new Records(store, 'compute.counter', CounterMessage),
  };
}

/** Fixed-width decimal, so that numeric order is the indexes' byte order. */
export const pad = (n: number, width = 12) => String(n).padStart(width, '0');
