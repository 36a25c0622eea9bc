/**
 * Listing servers across cells (Nova's multi-cell list): every cell is asked in parallel for
 * its first `limit + 1` matching rows after the marker, each under a per-cell timeout on the
 * injected Clock; the sorted answers are k-way merged into one page of `limit`. Pure apart
 * from the ports handed in: cells (CellDirectory), instance mappings (CellMemberships) and a
 * `CellInstanceSource` that queries one cell.
 *
 * Cells asked: every committed cell, disabled or not — a disabled cell takes no new
 * instances but keeps serving the ones it has.
 *
 * Marker paging: the marker is an instance uuid. Its sort tuple comes from its mapping's cell
 * (`get`); each cell then returns only rows strictly after that tuple. Because `uuid` ends
 * every sort order, the order is total and paging visits every instance exactly once, in
 * order, provided no instance is created, deleted or changes a sort-key value meanwhile and
 * no cell changes between answering and not answering (the usual limit of keyset paging).
 * Unknown marker: `invalid` (HTTP 400) "marker [x] not found", as Nova.
 *
 * Down cells (Nova 2.69): a cell that fails or does not answer within `cellTimeoutMs` (configured
 * per deployment, DEFAULT_CELL_TIMEOUT_MS otherwise) contributes minimal records built from its
 * instance mappings — uuid, project, created_at (the mapping's `mappedAt`), status UNKNOWN — and
 * is named in `downCells`. Ordering guarantee with a cell
 * down: the page is still totally ordered by the same comparator, with every field the
 * mapping does not know (name, status, host, updated_at) taken as null, i.e. below every
 * known value (first for `asc`, last for `desc`). So under the default order (created_at,
 * uuid) and any order on created_at / project_id / uuid only, a down cell's instances sit
 * exactly where they would if it had answered (given createdAt == mappedAt); under other keys
 * they are grouped at the null end of the first unknown key, ordered by the remaining known
 * keys. Filters: a minimal record is checked against what it knows (project only); it is
 * listed even when status/host/name/changes-since filters are given, since it may match —
 * the caller sees from `downCells` that the answer is partial. A marker in a down cell
 * resolves to its minimal tuple.
 */

import { CellplaneError, toCellplaneError } from '../core/errors.ts';
import { tryParseUuid } from '../core/model/ids.ts';
import type { Clock } from '../core/ports/clock.ts';
import { withDeadline } from './cell-health.ts';
import { isStrictlySorted, mergeSorted } from './cross-cell-merge.ts';
import { compareTuples, compileFilters, normalizeSortKeys, sortTuple } from './cross-cell-sort.ts';
import type {
  CellListQuery,
  CrossCellPage,
  DownCell,
  InstanceFilters,
  InstanceSummary,
  ListedServer,
  LiveServer,
  MinimalServer,
  SortKey,
  SortTuple,
} from './cross-cell-types.ts';
import type { CellRecord, InstanceMapping } from './mapping.ts';

/** Queries one cell. Implementations must stop work when `signal` aborts. */
export interface CellInstanceSource {
  /**
   * The cell's rows matching `query.filters` (compileFilters semantics), sorted by
   * `query.sortKeys` (compareTuples), strictly after `query.after`, at most `query.limit`
   * — exactly what `selectRows` would return over the cell's instances.
   */
  list(cell: CellRecord, query: CellListQuery, signal: AbortSignal): Promise<readonly InstanceSummary[]>;
  /** One instance of the cell; undefined when the cell has no such (live) instance. */
  get(cell: CellRecord, uuid: string, signal: AbortSignal): Promise<InstanceSummary | undefined>;
}

/** The cells to ask (CellDirectory fits). */
export interface CellLookup {
  list(): readonly CellRecord[];
  get(uuid: string): CellRecord | undefined;
}

/** Instance→cell mappings (CellMemberships fits). */
export interface InstanceMappingReader {
  instanceMapping(instanceUuid: string): Promise<InstanceMapping | undefined>;
  /** One cell's mappings (a per-cell index: the cost grows with that cell, not the region). */
  instanceMappings(cellUuid: string): Promise<InstanceMapping[]>;
}

export interface CrossCellListConfig {
  /** How long one cell may take to answer before it counts as down for this request. */
  readonly cellTimeoutMs: number;
  /** Largest page (Nova's `[api] max_limit`); larger requested limits are cut to it. */
  readonly maxLimit: number;
}

/**
 * How long one cell may take to answer a list or a read before it counts as down, unless
 * configured (`cell_timeout_ms` in deploy/config.ts, `--cell-timeout-ms` of `cellplane api`).
 */
export const DEFAULT_CELL_TIMEOUT_MS = 10_000;

export const DEFAULT_CROSS_CELL_LIST_CONFIG: CrossCellListConfig = Object.freeze({
  cellTimeoutMs: DEFAULT_CELL_TIMEOUT_MS,
  maxLimit: 1000,
});

export interface CrossCellListRequest {
  readonly filters?: InstanceFilters;
  readonly sortKeys?: readonly SortKey[];
  /** Defaults to (and is capped at) `maxLimit`. */
  readonly limit?: number;
  /** Uuid of the last instance of the previous page. */
  readonly marker?: string;
}

export interface CrossCellListDeps {
  readonly cells: CellLookup;
  readonly mappings: InstanceMappingReader;
  readonly source: CellInstanceSource;
  readonly clock: Clock;
}

interface Row {
  readonly server: ListedServer;
  readonly t: SortTuple;
}

export class CrossCellLister {
  private readonly config: CrossCellListConfig;

  constructor(
    private readonly deps: CrossCellListDeps,
    config: Partial<CrossCellListConfig> = {},
  ) {
    this.config = Object.freeze({ ...DEFAULT_CROSS_CELL_LIST_CONFIG, ...config });
  }

  async list(req: CrossCellListRequest = {}): Promise<CrossCellPage> {
    const keys = normalizeSortKeys(req.sortKeys);
    const filters = req.filters ?? {};
    compileFilters(filters); // validates before any cell is asked
    const limit = this.pageLimit(req.limit);
    const down = new Map<string, DownCell>();
    const after =
      req.marker === undefined ? undefined : await this.resolveMarker(req.marker, keys, filters, down);
    const query: CellListQuery = { filters, sortKeys: keys, limit: limit + 1, ...(after ? { after } : {}) };
    const cells = this.deps.cells.list();
    const live = await Promise.all(
      cells.filter((c) => !down.has(c.uuid)).map((c) => this.askCell(c, query, down)),
    );
    const lists = [...live, ...(await this.minimalRows(cells, down, query))];
    const byTuple = (a: Row, b: Row) => compareTuples(a.t, b.t, keys);
    const merged = mergeSorted(lists, byTuple, limit + 1, (r) => r.server.uuid);
    const servers = merged.slice(0, limit).map((r) => r.server);
    const last = servers[servers.length - 1];
    return {
      servers,
      ...(merged.length > limit && last ? { next: last.uuid } : {}),
      downCells: [...down.values()],
    };
  }

  private pageLimit(limit: number | undefined): number {
    if (limit === undefined) return this.config.maxLimit;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new CellplaneError('invalid', `limit must be a non-negative integer, got ${String(limit)}`);
    }
    return Math.min(limit, this.config.maxLimit);
  }

  /** The marker's sort tuple; its cell is recorded as down (and not asked again) if it fails. */
  private async resolveMarker(
    marker: string,
    keys: readonly SortKey[],
    filters: InstanceFilters,
    down: Map<string, DownCell>,
  ): Promise<SortTuple> {
    const notFound = () =>
      new CellplaneError('invalid', `marker [${marker}] not found`, { details: { marker } });
    const uuid = tryParseUuid(marker);
    const mapping = uuid === undefined ? undefined : await this.deps.mappings.instanceMapping(uuid);
    if (!mapping || (filters.projectId !== undefined && mapping.projectId !== filters.projectId)) {
      throw notFound();
    }
    const cell = this.deps.cells.get(mapping.cellUuid);
    if (!cell) throw notFound();
    let inst: InstanceSummary | undefined;
    try {
      inst = await this.withTimeout(cell, (signal) =>
        this.deps.source.get(cell, mapping.instanceUuid, signal),
      );
    } catch (err) {
      down.set(cell.uuid, downCell(cell, err));
      return sortTuple(minimal(mapping), keys);
    }
    if (!inst) throw notFound();
    return sortTuple(inst, keys);
  }

  private async askCell(cell: CellRecord, query: CellListQuery, down: Map<string, DownCell>): Promise<Row[]> {
    try {
      const rows = await this.withTimeout(cell, (signal) => this.deps.source.list(cell, query, signal));
      const out = rows.slice(0, query.limit).map((r) => toRow(live(r, cell), query));
      const inOrder = isStrictlySorted(out, (a, b) => compareTuples(a.t, b.t, query.sortKeys));
      const first = out[0];
      if (!inOrder || (query.after && first && compareTuples(first.t, query.after, query.sortKeys) <= 0)) {
        throw new CellplaneError(
          'internal',
          `cell "${cell.name}" returned rows out of order or before the marker`,
        );
      }
      return out;
    } catch (err) {
      down.set(cell.uuid, downCell(cell, err));
      return [];
    }
  }

  /** One sorted list per down cell, from that cell's instance mappings (its index, read in parallel). */
  private async minimalRows(
    cells: readonly CellRecord[],
    down: ReadonlyMap<string, DownCell>,
    query: CellListQuery,
  ): Promise<Row[][]> {
    if (down.size === 0) return [];
    const project = query.filters.projectId;
    const byTuple = (a: Row, b: Row) => compareTuples(a.t, b.t, query.sortKeys);
    const rowsOf = async (cell: CellRecord): Promise<Row[]> => {
      const rows: Row[] = [];
      for (const m of await this.deps.mappings.instanceMappings(cell.uuid)) {
        if (m.cellUuid !== cell.uuid || (project !== undefined && m.projectId !== project)) continue;
        const row = toRow(minimal(m), query);
        if (!query.after || compareTuples(row.t, query.after, query.sortKeys) > 0) rows.push(row);
      }
      return rows.sort(byTuple).slice(0, query.limit);
    };
    return Promise.all(cells.filter((c) => down.has(c.uuid)).map(rowsOf));
  }

  private withTimeout<T>(cell: CellRecord, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withDeadline(this.deps.clock, this.config.cellTimeoutMs, `cell "${cell.name}"`, run);
  }
}

function minimal(m: InstanceMapping): MinimalServer {
  return {
    uuid: m.instanceUuid,
    projectId: m.projectId,
    createdAt: m.mappedAt,
    status: 'UNKNOWN',
    cellUuid: m.cellUuid,
    down: true,
  };
}

/** Only the summary's own fields: a source's extra properties do not leak into the page. */
function live(r: InstanceSummary, cell: CellRecord): LiveServer {
  const { uuid, name, status, host, projectId, createdAt, updatedAt } = r;
  return { uuid, name, status, host, projectId, createdAt, updatedAt, cellUuid: cell.uuid, down: false };
}

function toRow(server: ListedServer, query: CellListQuery): Row {
  return { server, t: sortTuple(server, query.sortKeys) };
}

function downCell(cell: CellRecord, err: unknown): DownCell {
  return { cellUuid: cell.uuid, name: cell.name, error: toCellplaneError(err).toWire() };
}
