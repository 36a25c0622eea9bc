/**
 * The one definition of list order and filter semantics, shared by the cross-cell lister and
 * by every cell source (a cell that sorted or compared differently would break the merge and
 * marker paging). `selectRows` is the reference cell-side implementation over an in-memory
 * collection; a store-backed source must return exactly what it would.
 *
 * Order: keys compared left to right, each by `compareValues` then its direction. Strings
 * compare by UTF-16 code units (no locale), numbers numerically, and `null` (unknown or
 * absent) below every known value — so first in `asc`, last in `desc`, as MySQL orders NULL.
 */
import { CellplaneError } from '../core/errors.ts';
import {
  type CellListQuery,
  type InstanceFilters,
  type InstanceSummary,
  type ListedServer,
  SORT_KEYS,
  type SortKey,
  type SortKeyName,
  type SortTuple,
  type SortValue,
} from './cross-cell-types.ts';

/** Nova's default: newest first (created_at desc, then id desc; our id is the uuid). */
export const DEFAULT_SORT: readonly SortKey[] = [
  { key: 'created_at', dir: 'desc' },
  { key: 'uuid', dir: 'desc' },
];
/** Sort keys one request may give (each key at most once anyway). */
export const MAX_SORT_KEYS = SORT_KEYS.length;
/** Longest name regex accepted (Nova's names are at most 255 characters). */
export const MAX_NAME_REGEX_LENGTH = 255;

/**
 * Validates the requested keys and appends `uuid asc` (as Nova does) unless `uuid` is already
 * there, so the order is total. No keys at all means DEFAULT_SORT.
 */
export function normalizeSortKeys(keys: readonly SortKey[] | undefined): readonly SortKey[] {
  if (!keys || keys.length === 0) return DEFAULT_SORT;
  if (keys.length > MAX_SORT_KEYS) {
    throw new CellplaneError('invalid', `at most ${MAX_SORT_KEYS} sort keys, got ${keys.length}`);
  }
  const seen = new Set<string>();
  for (const k of keys) {
    if (!(SORT_KEYS as readonly string[]).includes(k.key)) {
      throw new CellplaneError(
        'invalid',
        `invalid sort key ${JSON.stringify(k.key)}: one of ${SORT_KEYS.join(', ')}`,
      );
    }
    if (k.dir !== 'asc' && k.dir !== 'desc') {
      throw new CellplaneError('invalid', `invalid sort direction ${JSON.stringify(k.dir)}: asc or desc`);
    }
    if (seen.has(k.key)) throw new CellplaneError('invalid', `sort key "${k.key}" given twice`);
    seen.add(k.key);
  }
  return seen.has('uuid') ? keys : [...keys, { key: 'uuid', dir: 'asc' }];
}

/** The row's value for `key`; null when a down cell's minimal record does not know it. */
export function sortValue(row: InstanceSummary | ListedServer, key: SortKeyName): SortValue {
  switch (key) {
    case 'uuid':
      return row.uuid;
    case 'created_at':
      return row.createdAt;
    case 'project_id':
      return row.projectId;
    case 'status':
      return 'down' in row && row.down ? null : row.status;
  }
  if ('down' in row && row.down) return null;
  const live = row as InstanceSummary;
  if (key === 'updated_at') return live.updatedAt;
  if (key === 'name') return live.name;
  return live.host;
}

export function sortTuple(row: InstanceSummary | ListedServer, keys: readonly SortKey[]): SortTuple {
  return keys.map((k) => sortValue(row, k.key));
}

/** Ascending comparison of two values of one key: null first, then numbers or code units. */
export function compareValues(a: SortValue, b: SortValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative when `a` comes first in the order `keys` define. */
export function compareTuples(a: SortTuple, b: SortTuple, keys: readonly SortKey[]): number {
  for (let i = 0; i < keys.length; i++) {
    const c = compareValues(a[i] ?? null, b[i] ?? null);
    if (c !== 0) return keys[i]?.dir === 'desc' ? -c : c;
  }
  return 0;
}

export type RowPredicate = (row: InstanceSummary) => boolean;

/** Validates the filters and returns the predicate; a bad regex is an `invalid` error. */
export function compileFilters(f: InstanceFilters): RowPredicate {
  const name = compileNameRegex(f.name);
  if (f.changesSince !== undefined && !Number.isFinite(f.changesSince)) {
    throw new CellplaneError('invalid', `changes-since must be a time, got ${String(f.changesSince)}`);
  }
  const statuses = f.status ? new Set(f.status) : undefined;
  return (row) =>
    (statuses === undefined || statuses.has(row.status)) &&
    (f.host === undefined || row.host === f.host) &&
    (f.projectId === undefined || row.projectId === f.projectId) &&
    (name === undefined || name.test(row.name)) &&
    (f.changesSince === undefined || row.updatedAt >= f.changesSince);
}

function compileNameRegex(source: string | undefined): RegExp | undefined {
  if (source === undefined) return undefined;
  if (source.length > MAX_NAME_REGEX_LENGTH) {
    throw new CellplaneError(
      'invalid',
      `name filter is longer than ${MAX_NAME_REGEX_LENGTH} characters (${source.length})`,
    );
  }
  try {
    return new RegExp(source);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CellplaneError(
      'invalid',
      `name filter ${JSON.stringify(source)} is not a valid regular expression: ${why}`,
      {
        cause: err,
        details: { filter: 'name' },
      },
    );
  }
}

/**
 * The reference cell side of a list: matching rows strictly after `query.after`, sorted,
 * at most `query.limit`. Sorts all matches (fine for a test or an embedded cell).
 */
export function selectRows(rows: Iterable<InstanceSummary>, query: CellListQuery): InstanceSummary[] {
  const matches = compileFilters(query.filters);
  const keys = query.sortKeys;
  const after = query.after;
  const picked: { row: InstanceSummary; t: SortTuple }[] = [];
  for (const row of rows) {
    if (!matches(row)) continue;
    const t = sortTuple(row, keys);
    if (after && compareTuples(t, after, keys) <= 0) continue;
    picked.push({ row, t });
  }
  picked.sort((a, b) => compareTuples(a.t, b.t, keys));
  return picked.slice(0, query.limit).map((p) => p.row);
}
