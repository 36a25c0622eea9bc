/**
 * The port through which the compute API reaches the cells for /servers: pick a cell for a new
 * instance (the cell router), map instances to cells, read and CAS-update a cell's instance
 * records, hand a cell's conductor a durable job, list across cells — the ports of the server use
 * cases (cells/servers/ports.ts) in one object, plus the list. deploy/server-backend.ts
 * implements it over the CellDirectory, the instance mappings (in the API layer's store), each
 * cell's store and bus; tests use the same implementation on the memory adapters.
 */
import type { ConductorJob } from '../../cells/conductor-jobs.ts';
import type { CrossCellListRequest } from '../../cells/cross-cell-list.ts';
import type { CrossCellPage } from '../../cells/cross-cell-types.ts';
import type { InstanceRecord, InstanceStore } from '../../cells/instances.ts';
import type { CellRecord, InstanceMapping } from '../../cells/mapping.ts';
import type {
  CellChooser,
  HostLiveness,
  InstanceMappings,
  InstanceRecords,
  JobQueue,
  PlacementHint,
} from '../../cells/servers/ports.ts';

export { ALWAYS_UP, type HostLiveness, type PlacementHint } from '../../cells/servers/ports.ts';

export type ShownServer =
  | { readonly record: InstanceRecord }
  | { readonly down: { readonly uuid: string; readonly projectId: string; readonly createdAt: number } };

export interface ServerBackend extends CellChooser, InstanceMappings, JobQueue, InstanceRecords {
  /**
   * The cell a new instance goes to: an enabled cell whose published capacity can hold it, the
   * emptiest first, among those whose store and bus answer (a bounded wait) when any does. Throws
   * `notFound`-coded CellplaneError "no cell accepts new instances" when every cell is disabled.
   * Cells whose uuid is in `exclude` are not chosen. Quota usage is not read from the cells: the
   * API keeps it (quota-ledger.ts).
   */
  chooseCell(hint: PlacementHint, exclude?: ReadonlySet<string>): Promise<CellRecord>;
  /** Records the instance→cell mapping (refused with `conflict` when the cell is disabled). */
  mapInstance(uuid: string, cell: CellRecord, projectId: string): Promise<InstanceMapping>;
  unmapInstance(uuid: string, cell: CellRecord): Promise<void>;
  /** The instance's cell; undefined when unknown (never created, or deleted). */
  cellOf(uuid: string): Promise<CellRecord | undefined>;
  /** The instance records of a cell (its store opened on first use). */
  instances(cell: CellRecord): Promise<InstanceStore>;
  /** Durably hands a job to the cell's conductor; resolves once stored. */
  enqueue(cell: CellRecord, job: ConductorJob): Promise<void>;
  /** One page of the merge-sorted cross-cell list. */
  list(req: CrossCellListRequest): Promise<CrossCellPage>;
  /**
   * One server for GET /servers/{id}: its record, or — its cell down (known down, or no answer
   * within the cell timeout) — what its mapping knows (Nova 2.69's minimal server); undefined
   * when no such instance is mapped or its record is gone.
   */
  show(uuid: string): Promise<ShownServer | undefined>;
  /** Every cell, disabled ones too (what the quota reconcile pass counts). */
  cells(): readonly CellRecord[];
  /** The hosts' liveness (evacuate); absent: every host counts as up. */
  readonly liveness?: HostLiveness;
}
