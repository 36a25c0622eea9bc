/**
 * The small ports the server use cases (boot, delete, power, move) depend on, each shaped by what
 * its caller needs. The compute API implements them over its ServerBackend (the cells), its store
 * (flavors, server groups, quotas) and its quota ledger (api/compute/routes/servers-ports.ts); the
 * simulator over the same backend and a ledger of its own (sim/servers.ts). Nothing here knows HTTP:
 * a refusal is a CellplaneError with a code (core/errors.ts), which the API maps to Nova's status.
 */

import type { ConductorJob } from '../conductor-jobs.ts';
import type { InstanceFlavor, InstanceStore } from '../instances.ts';
import type { CellRecord, InstanceMapping } from '../mapping.ts';

/** What the router weighs a new instance by. */
export interface PlacementHint {
  readonly vcpus: number;
  readonly ramMb: number;
  readonly diskGb: number;
  readonly availabilityZone: string | null;
  /** The flavor's extra specs (aggregate_instance_extra_specs steer the cell choice too). */
  readonly extraSpecs?: Readonly<Record<string, string>>;
}

export interface CellChooser {
  /**
   * The cell a new instance goes to: an enabled cell whose published capacity can hold it, not one
   * in `exclude`. Throws a `notFound`-coded error when no cell accepts new instances.
   */
  chooseCell(hint: PlacementHint, exclude?: ReadonlySet<string>): Promise<CellRecord>;
}

export interface InstanceMappings {
  /** Records the instance→cell mapping; refused with `conflict` when the cell is disabled. */
  mapInstance(uuid: string, cell: CellRecord, projectId: string): Promise<InstanceMapping>;
  /** Removes the mapping (only if it points at `cell`). Idempotent. */
  unmapInstance(uuid: string, cell: CellRecord): Promise<void>;
  /** The instance's cell; undefined when unknown (never created, or deleted). */
  cellOf(uuid: string): Promise<CellRecord | undefined>;
}

export interface JobQueue {
  /** Durably hands a job to the cell's conductor; resolves once stored. */
  enqueue(cell: CellRecord, job: ConductorJob): Promise<void>;
}

/** What the use cases do with a cell's instance records: read, compare-and-set, create. */
export type InstanceRecordStore = Pick<InstanceStore, 'get' | 'update' | 'create'>;

export interface InstanceRecords {
  /** The instance records of a cell. */
  instances(cell: CellRecord): Promise<InstanceRecordStore>;
}

/** A boot's quota claim (the API's QuotaLedger fits): `count` of `uuids` admitted, or refused. */
export interface ReserveRequest {
  readonly projectId: string;
  readonly limits: Readonly<Record<string, number>>;
  /** Per instance. */
  readonly cores: number;
  readonly ram: number;
  /** Fewest instances worth creating (min_count). */
  readonly min: number;
  /** One uuid per instance wanted; the first `count` admitted get claims. */
  readonly uuids: readonly string[];
}

export type ReserveResult =
  | { readonly ok: true; readonly count: number }
  | { readonly ok: false; readonly message: string };

export interface BootQuota {
  /** Claims as many of `req.uuids` as fit (at least `req.min`, else none and Nova's message). */
  reserve(req: ReserveRequest): Promise<ReserveResult>;
  /** Gives an instance's claim back. Idempotent. */
  release(uuid: string): Promise<unknown>;
}

export interface ResizeQuota {
  /**
   * An upsize's claim: grows the instance's claim to hold both flavors; `{refused}` with Nova's
   * message when the growth over `from` does not fit the limits.
   */
  resize(
    uuid: string,
    projectId: string,
    limits: Readonly<Record<string, number>>,
    from: { readonly cores: number; readonly ram: number },
    to: { readonly cores: number; readonly ram: number },
  ): Promise<'ok' | 'stale' | { readonly refused: string }>;
}

export interface ProjectLimits {
  /** A project's effective quota limits by resource name (-1 or absent: unlimited). */
  limitsOf(projectId: string): Promise<Readonly<Record<string, number>>>;
}

export interface GroupMembers {
  /** The group's members, oldest first (empty for an unknown group). */
  members(groupUuid: string): Promise<readonly string[]>;
  addMembers(groupUuid: string, uuids: readonly string[]): Promise<unknown>;
  removeMembers(groupUuid: string, uuids: readonly string[]): Promise<unknown>;
}

export interface FlavorLookup {
  /**
   * The flavor `ref` names as an instance carries it; undefined when there is none or it is
   * disabled. May throw an `invalid` error for a ref that cannot name a flavor.
   */
  flavor(ref: string): Promise<InstanceFlavor | undefined>;
}

export interface ComputeHosts {
  /** Whether `host` is a known compute host. */
  exists(host: string): Promise<boolean>;
}

/**
 * Whether a compute host is alive: evacuate is refused while its host is up (Nova's
 * "Compute service of <host> is still in use."). Must be fed by the heartbeat monitor
 * (host-agent/monitor.ts); deploy/host-directory.ts implements it from the hosts' heartbeats.
 */
export interface HostLiveness {
  isUp(host: string): Promise<boolean>;
}

/** Every host counts as up: evacuate is always refused. */
export const ALWAYS_UP: HostLiveness = Object.freeze({ isUp: async () => true });

/** Who asks for an operation: its request id keys the instance action. */
export interface Requester {
  readonly requestId: string;
  readonly userId: string;
  readonly projectId: string;
}
