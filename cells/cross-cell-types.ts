/**
 * Types of the cross-cell server list (cross-cell-list.ts): what a cell returns, what it is
 * asked, and what the merged page looks like. Plain data only, so a query and its rows can
 * cross the bus unchanged (filters carry a regex *source*, never a RegExp).
 */
import type { WireError } from '../core/errors.ts';

/** One instance as a live cell reports it for a list (the fields lists sort and filter on). */
export interface InstanceSummary {
  readonly uuid: string;
  readonly name: string;
  /** Nova's API status (ACTIVE, BUILD, ERROR, SHUTOFF…). */
  readonly status: string;
  /** Compute host, or null while it has none (not scheduled yet, or failed to schedule). */
  readonly host: string | null;
  readonly projectId: string;
  /** Milliseconds since the epoch. Should equal the instance mapping's `mappedAt` (see down cells). */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Keys a list can be sorted on (the API layer maps Nova's names, e.g. display_name → name). */
export const SORT_KEYS = [
  'created_at',
  'updated_at',
  'uuid',
  'name',
  'status',
  'host',
  'project_id',
] as const;
export type SortKeyName = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';

export interface SortKey {
  readonly key: SortKeyName;
  readonly dir: SortDir;
}

/**
 * A row's values for the normalised sort keys, in order (the last key is always `uuid`, so
 * tuples of distinct instances never compare equal). `null` is a value not known (a down
 * cell's record) or absent (no host): it ranks below every known value (see compareValues).
 */
export type SortValue = string | number | null;
export type SortTuple = readonly SortValue[];

export interface InstanceFilters {
  /** Any of these statuses (Nova accepts the parameter more than once). */
  readonly status?: readonly string[];
  readonly host?: string;
  readonly projectId?: string;
  /** A JavaScript regular expression source, matched anywhere in the name (Nova: `re.search`). */
  readonly name?: string;
  /** Only instances with `updatedAt >= changesSince` (ms). Deleted instances are not listed. */
  readonly changesSince?: number;
}

/** What one cell is asked: rows matching `filters`, sorted by `sortKeys`, strictly after `after`. */
export interface CellListQuery {
  readonly filters: InstanceFilters;
  /** Normalised: validated, and ending with `uuid`. */
  readonly sortKeys: readonly SortKey[];
  /** At most this many rows. */
  readonly limit: number;
  /** Only rows whose sort tuple comes strictly after this one in the sort order. */
  readonly after?: SortTuple;
}

/** A row of the merged list from a cell that answered. */
export interface LiveServer extends InstanceSummary {
  readonly cellUuid: string;
  readonly down: false;
}

/**
 * A row from a cell that did not answer in time (Nova 2.69's minimal construct): only what the
 * instance mapping knows. The API shows it as `{id, status: "UNKNOWN", links}` (plus
 * `tenant_id`/`created` on detail).
 */
export interface MinimalServer {
  readonly uuid: string;
  readonly projectId: string;
  readonly createdAt: number;
  readonly status: 'UNKNOWN';
  readonly cellUuid: string;
  readonly down: true;
}

export type ListedServer = LiveServer | MinimalServer;

export interface DownCell {
  readonly cellUuid: string;
  readonly name: string;
  /** `timeout` when it did not answer within the per-cell timeout, else what it failed with. */
  readonly error: WireError;
}

export interface CrossCellPage {
  /** In sort order; at most `limit` rows. */
  readonly servers: readonly ListedServer[];
  /** Marker for the next page (the last row's uuid), present only when more rows exist. */
  readonly next?: string;
  /** Cells whose instances are shown as minimal records on this page (for logs and metrics). */
  readonly downCells: readonly DownCell[];
}
