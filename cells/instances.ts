import { CellplaneError } from '../core/errors.ts';
import type { CommitResult, Store, WriteOp } from '../core/ports/store.ts';
import { indexPages, Records, trustedRecord, type Versioned } from '../core/stores/records.ts';
import { FENCE_KEY, fencedError, type WriteFence } from './conductor/fence.ts';

/** Nova's server status values that cellplane produces. */
export type InstanceStatus =
  | 'BUILD'
  | 'ACTIVE'
  | 'ERROR'
  | 'SHUTOFF'
  | 'REBOOT'
  | 'HARD_REBOOT'
  | 'DELETED'
  | 'UNKNOWN'
  /** A resize or cold migration in progress (task resize_*). */
  | 'RESIZE'
  /** Moved, waiting for confirmResize or revertResize. */
  | 'VERIFY_RESIZE'
  | 'REVERT_RESIZE'
  /** An evacuation in progress. */
  | 'REBUILD';

/** Nova's vm_state values. */
export type VmState = 'building' | 'active' | 'stopped' | 'error' | 'deleted' | 'resized';

/** Nova's power_state numbers: 0 NOSTATE, 1 RUNNING, 4 SHUTDOWN. */
export const POWER = { NOSTATE: 0, RUNNING: 1, SHUTDOWN: 4 } as const;

export interface InstanceFlavor {
  readonly id: string;
  readonly name: string;
  readonly vcpus: number;
  readonly ram: number;
  readonly disk: number;
  readonly ephemeral: number;
  readonly swap: number;
  readonly extraSpecs: Readonly<Record<string, string>>;
}

export interface InstanceGroup {
  readonly uuid: string;
  readonly policy: 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';
  readonly maxServerPerHost?: number;
}

export interface InstanceFault {
  /** HTTP-ish code as Nova shows it (500 for build failures). */
  readonly code: number;
  readonly message: string;
  readonly details: string;
  readonly created: string;
}

/** What the instance holds on its host's provider tree (set before the claim is asked for). */
export interface InstancePlacement {
  readonly host: string;
  readonly node: string;
  readonly root: string;
  readonly allocations: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Nova's migration types: a resize, a cold migration (same flavor) or an evacuation. */
export type MigrationKind = 'resize' | 'migration' | 'evacuation';

/**
 * Nova's migration statuses as cellplane uses them: `pre-migrating` while a target is chosen,
 * claimed and spawned on; `finished` = VERIFY_RESIZE; `confirming`/`reverting` once the API
 * accepted confirmResize/revertResize; `done` = an evacuation moved, the source still to release.
 */
export type MigrationStatus = 'pre-migrating' | 'finished' | 'confirming' | 'reverting' | 'done';

/**
 * A move of the instance (cells/conductor/move.ts), kept in its record while it runs and until
 * it is confirmed or reverted. The instance's uuid is the consumer on BOTH trees while it lasts:
 * `source` (old flavor) and `target` (new flavor) are different hosts, so different trees.
 */
export interface InstanceMigration {
  readonly kind: MigrationKind;
  /** The API request that started the move (its instance action). */
  readonly requestId: string;
  readonly status: MigrationStatus;
  /** Where the instance ran when the move started (its claim is held until confirm). */
  readonly source: InstancePlacement;
  /** The chosen target, written before it is claimed; null while selecting. */
  readonly target: InstancePlacement | null;
  readonly oldFlavor: InstanceFlavor;
  readonly newFlavor: InstanceFlavor;
  /** Targets given up on (failed spawns), in order. */
  readonly triedHosts: readonly string[];
  /** The host the admin asked for (migrate from 2.56, evacuate). */
  readonly requestedHost?: string;
  /** vm_state before the move: restored by a failure or a revert. */
  readonly previousVmState: VmState;
  /** Written before the source is powered off (a failed move powers it on again). */
  readonly sourceStopped?: boolean;
  readonly startedAt: string;
}

export interface InstanceRecord {
  readonly uuid: string;
  readonly name: string;
  readonly projectId: string;
  readonly userId: string;
  readonly flavor: InstanceFlavor;
  readonly imageRef: string;
  /** Requested availability zone (null: any). */
  readonly availabilityZone: string | null;
  readonly group: InstanceGroup | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly status: InstanceStatus;
  readonly vmState: VmState;
  /** Nova's task_state: scheduling, spawning, deleting, rebooting, powering-off, … or null. */
  readonly taskState: string | null;
  readonly powerState: number;
  /** Where it runs or is being built; null while scheduling. */
  readonly placement: InstancePlacement | null;
  /** Hosts tried and given up on (spawn failures), in order. */
  readonly triedHosts: readonly string[];
  readonly fault: InstanceFault | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly launchedAt: string | null;
  readonly terminatedAt: string | null;
  /** Bumped by every accepted API operation (the request that last changed the task). */
  readonly requestId: string;
  /** Admin-only placement hints that travel with the build (Nova's force host `az:host`). */
  readonly forceHost?: string;
  /** A resize, cold migration or evacuation in progress or awaiting confirmation. */
  readonly migration?: InstanceMigration | null;
}

export interface InstanceActionEvent {
  readonly event: string;
  readonly startTime: string;
  readonly finishTime: string | null;
  readonly result: 'Success' | 'Error' | null;
  readonly details?: string;
  readonly host?: string;
}

export interface InstanceAction {
  readonly action: string;
  readonly requestId: string;
  readonly userId: string;
  readonly projectId: string;
  readonly startTime: string;
  readonly updatedAt: string;
  /** Set when an event of the action failed (Nova: "Error"). */
  readonly message: string | null;
  readonly events: readonly InstanceActionEvent[];
}

export interface InstanceActions {
  readonly actions: readonly InstanceAction[];
}

/**
 * Where the members of one server group are placed in this cell (`inst-grp/<group uuid>`):
 * instance uuid → host. Written in the same commit as a member's placement, conditional on its
 * generation, so two members placed at once cannot both miss each other: the second commit
 * fails and that build selects again, seeing the first.
 */
export interface GroupPlacements {
  readonly hosts: Readonly<Record<string, string>>;
}

/** Actions kept per instance (oldest dropped first). */
export const MAX_ACTIONS_PER_INSTANCE = 100;
/** Events kept per action. */
export const MAX_EVENTS_PER_ACTION = 50;
/**
 * Attempts of one compare-and-set change of an instance's records against concurrent writers;
 * then the writer hands its work back (a retryable conflict) or leaves the change to a later pass.
 */
export const MAX_RECORD_CAS_ATTEMPTS = 10;
/** Longest fault message kept on an instance (Nova's column); the whole text goes to `details`. */
export const FAULT_MESSAGE_MAX_CHARS = 255;

/** `text` as a fault's message: cut to FAULT_MESSAGE_MAX_CHARS, ending in `...` when cut. */
export function faultMessage(text: string): string {
  return text.length > FAULT_MESSAGE_MAX_CHARS ? `${text.slice(0, FAULT_MESSAGE_MAX_CHARS - 3)}...` : text;
}

const message = trustedRecord;

export const instanceRecordMessage = message<InstanceRecord>('cp.cell.instance');
export const instanceActionsMessage = message<InstanceActions>('cp.cell.instance_actions');
export const groupPlacementsMessage = message<GroupPlacements>('cp.cell.group_placements');
export const projectShapesMessage = message<ProjectShapes>('cp.cell.project_shapes');

/** The ordered index of a cell's instances by creation. */
export const INSTANCE_INDEX = 'inst.created';
/**
 * The instances in BUILD, by creation (member `createdAt|uuid`): kept in the same commit as every
 * transition into or out of BUILD, so the conductor's build watch (cells/conductor/build-watch.ts)
 * finds a build whose job went missing without scanning the cell.
 */
export const BUILDING_INDEX = 'inst.building';

/** The index ops that keep BUILDING_INDEX true when a record goes from `before` to `after`. */
function buildingOps(before: InstanceRecord | undefined, after: InstanceRecord | undefined): WriteOp[] {
  const was = before?.status === 'BUILD';
  const is = after?.status === 'BUILD';
  if (was === is) return [];
  const r = (after ?? before)!;
  return [{ op: is ? 'index' : 'unindex', index: BUILDING_INDEX, member: indexMember(r) }];
}

/**
 * Quota usage without reading records: each instance is in the index of its project and flavor
 * shape (`inst.usage.<vcpus>x<ram>.<project>`, member uuid), and the shapes a project ever used
 * are listed in one record (`inst-shapes/<project>`, rarely written). Usage = Σ count × shape:
 * a few index counts per request, however many instances the project has.
 */
export function usageIndex(projectId: string, shape: string): string {
  return `inst.usage.${shape}.${projectId}`;
}

export function shapeOf(f: Pick<InstanceFlavor, 'vcpus' | 'ram'>): string {
  return `${f.vcpus}x${f.ram}`;
}

export interface ProjectShapes {
  readonly shapes: readonly string[];
}

export function indexMember(r: Pick<InstanceRecord, 'createdAt' | 'uuid'>): string {
  return `${r.createdAt}|${r.uuid}`;
}

export type UpdateResult<T> =
  | { readonly ok: true; readonly record: Versioned<T> }
  | { readonly ok: false; readonly current: Versioned<T> | undefined };

export class InstanceStore {
  readonly records: Records<InstanceRecord>;
  readonly actions: Records<InstanceActions>;
  readonly groups: Records<GroupPlacements>;
  readonly shapes: Records<ProjectShapes>;
  /** project → shapes known to be listed already (saves a read per create). */
  private readonly knownShapes = new Map<string, Set<string>>();

  /**
   * `fence`: checks every write of this store carries (the conductor's, cells/conductor/fence.ts);
   * a write that fails one throws a retryable fenced `conflict` instead of answering "changed".
   */
  constructor(
    readonly store: Store,
    private readonly fence?: WriteFence,
  ) {
    this.records = new Records(store, 'inst', instanceRecordMessage);
    this.actions = new Records(store, 'inst-act', instanceActionsMessage);
    this.groups = new Records(store, 'inst-grp', groupPlacementsMessage);
    this.shapes = new Records(store, 'inst-shapes', projectShapesMessage);
  }

  get(uuid: string): Promise<Versioned<InstanceRecord> | undefined> {
    return this.records.get(uuid);
  }

  getMany(uuids: readonly string[]): Promise<(Versioned<InstanceRecord> | undefined)[]> {
    return this.records.getMany(uuids);
  }

  /** Creates the record (and indexes it) unless it exists; false when it already did. */
  async create(r: InstanceRecord, action?: InstanceAction): Promise<boolean> {
    await this.listShape(r.projectId, shapeOf(r.flavor));
    const ops: WriteOp[] = [
      this.records.put(r.uuid, r, 0),
      { op: 'index', index: INSTANCE_INDEX, member: indexMember(r) },
      { op: 'index', index: usageIndex(r.projectId, shapeOf(r.flavor)), member: r.uuid },
      ...buildingOps(undefined, r),
    ];
    if (action) ops.push(this.actions.put(r.uuid, { actions: [action] }));
    const out = await this.commit(ops);
    return out.ok;
  }

  /**
   * Compare-and-set: writes `next` only if the record is still at `current.generation`.
   * `extra` ops ride in the same commit (an action event, an index change).
   */
  async update(
    current: Versioned<InstanceRecord>,
    next: InstanceRecord,
    extra: readonly WriteOp[] = [],
  ): Promise<UpdateResult<InstanceRecord>> {
    const out = await this.commit([
      this.records.put(current.id, next, current.generation),
      ...buildingOps(current.value, next),
      ...extra,
    ]);
    if (out.ok) {
      const generation = out.generations[this.records.key(current.id)]!;
      return { ok: true, record: { id: current.id, value: next, generation } };
    }
    return { ok: false, current: await this.get(current.id) };
  }

  /**
   * Removes the record and its index entry (after a delete completed). Its actions stay, as
   * Nova keeps a deleted instance's actions for the admin to read.
   */
  async purge(current: Versioned<InstanceRecord>): Promise<boolean> {
    const out = await this.commit([
      this.records.delete(current.id, current.generation),
      { op: 'unindex', index: INSTANCE_INDEX, member: indexMember(current.value) },
      {
        op: 'unindex',
        index: usageIndex(current.value.projectId, shapeOf(current.value.flavor)),
        member: current.id,
      },
      ...buildingOps(current.value, undefined),
    ]);
    return out.ok;
  }

  /**
   * Commits `ops` with the fence's checks. A failed check throws (fencedError); any other failed
   * check is the caller's to read from the result.
   */
  async commit(ops: readonly WriteOp[]): Promise<CommitResult> {
    const checks = this.fence?.checks() ?? [];
    const out = await this.store.commit(checks.length ? [...ops, ...checks] : ops);
    if (!out.ok && checks.length) {
      const fenced = out.conflicts.find((c) => c.key === FENCE_KEY);
      if (fenced) throw fencedError(fenced);
    }
    return out;
  }

  /** One page of the instances in BUILD, oldest first (members `createdAt|uuid`). */
  building(opts: { after?: string; limit: number }) {
    return this.store.list(BUILDING_INDEX, opts);
  }

  /** One page of uuids in creation order (or reverse), after the member `after`. */
  async page(opts: { after?: string; limit: number; reverse?: boolean }) {
    return this.store.list(INSTANCE_INDEX, opts);
  }

  /** Instances of a project in this cell and the cores/RAM of their flavors (quota usage). */
  async projectUsage(projectId: string): Promise<{ instances: number; cores: number; ram: number }> {
    const shapes = (await this.shapes.get(projectId))?.value.shapes ?? [];
    const counts = await Promise.all(shapes.map((sh) => this.store.count(usageIndex(projectId, sh))));
    const out = { instances: 0, cores: 0, ram: 0 };
    shapes.forEach((sh, i) => {
      const [vcpus, ram] = sh.split('x').map(Number) as [number, number];
      const n = counts[i]!;
      out.instances += n;
      out.cores += n * vcpus;
      out.ram += n * ram;
    });
    return out;
  }

  /**
   * Makes sure `shape` is in the project's shapes record (before an instance of it is indexed:
   * on create, and when a resize moves an instance to another flavor's shape).
   */
  async listShape(projectId: string, shape: string): Promise<void> {
    if (this.knownShapes.get(projectId)?.has(shape)) return;
    for (let attempt = 0; attempt < MAX_RECORD_CAS_ATTEMPTS; attempt++) {
      const cur = await this.shapes.get(projectId);
      const shapes = cur?.value.shapes ?? [];
      if (!shapes.includes(shape)) {
        const out = await this.store.commit([
          this.shapes.put(projectId, { shapes: [...shapes, shape].sort() }, cur?.generation ?? 0),
        ]);
        if (!out.ok) continue;
      }
      const known = this.knownShapes.get(projectId) ?? new Set<string>();
      known.add(shape);
      this.knownShapes.set(projectId, known);
      return;
    }
    throw new CellplaneError('conflict', `project ${projectId}: shapes record kept changing`, {
      retryable: true,
    });
  }

  /** Every record, in creation order (an admin scan and the small-cell list path). */
  async *all(): AsyncGenerator<Versioned<InstanceRecord>> {
    for await (const members of indexPages(this.store, INSTANCE_INDEX, 1000)) {
      const uuids = members.map((m) => m.slice(m.lastIndexOf('|') + 1));
      for (const r of await this.records.getMany(uuids)) if (r) yield r;
    }
  }

  count(): Promise<number> {
    return this.store.count(INSTANCE_INDEX);
  }

  async actionsOf(uuid: string): Promise<InstanceAction[]> {
    return [...((await this.actions.get(uuid))?.value.actions ?? [])];
  }

  /**
   * Starts an action or adds/finishes an event of the action with `requestId` (read-modify-write
   * with CAS, retried: actions are appended by one conductor at a time, so conflicts are rare).
   */
  async recordAction(
    uuid: string,
    requestId: string,
    change: (existing: InstanceAction | undefined) => InstanceAction,
  ): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await this.actions.get(uuid);
      const list = [...(cur?.value.actions ?? [])];
      const i = list.findIndex((a) => a.requestId === requestId);
      const next = change(i >= 0 ? list[i] : undefined);
      const trimmed = { ...next, events: next.events.slice(-MAX_EVENTS_PER_ACTION) };
      if (i >= 0) list[i] = trimmed;
      else list.push(trimmed);
      const out = await this.commit([
        this.actions.put(uuid, { actions: list.slice(-MAX_ACTIONS_PER_INSTANCE) }, cur?.generation ?? 0),
      ]);
      if (out.ok) return;
    }
    throw new CellplaneError('conflict', `instance ${uuid}: actions kept changing under the writer`, {
      retryable: true,
    });
  }
}

/** Starts an event (finishTime null) in an action, creating the action if needed. */
export function startEvent(
  base: Omit<InstanceAction, 'events' | 'message' | 'updatedAt'>,
  event: string,
  at: string,
  host?: string,
): (a: InstanceAction | undefined) => InstanceAction {
  return (a) => {
    const action = a ?? { ...base, message: null, updatedAt: at, events: [] };
    const ev: InstanceActionEvent = {
      event,
      startTime: at,
      finishTime: null,
      result: null,
      ...(host ? { host } : {}),
    };
    return { ...action, updatedAt: at, events: [...action.events, ev] };
  };
}

/** Finishes the latest open event named `event`; an error also sets the action's message. */
export function finishEvent(
  event: string,
  at: string,
  result: 'Success' | 'Error',
  details?: string,
): (a: InstanceAction | undefined) => InstanceAction {
  return (a) => {
    if (!a) throw new CellplaneError('internal', `no action to finish event ${event} in`);
    const events = [...a.events];
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i]!;
      if (e.event === event && e.finishTime === null) {
        events[i] = { ...e, finishTime: at, result, ...(details ? { details } : {}) };
        break;
      }
    }
    return { ...a, updatedAt: at, events, message: result === 'Error' ? 'Error' : a.message };
  };
}

/** What the API knows when it accepts a boot. */
export interface NewInstance {
  readonly uuid: string;
  readonly name: string;
  readonly projectId: string;
  readonly userId: string;
  readonly flavor: InstanceFlavor;
  readonly imageRef: string;
  readonly availabilityZone?: string | null;
  readonly group?: InstanceGroup | null;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly requestId: string;
  readonly forceHost?: string;
}

/** The record of an accepted boot: BUILD, scheduling, nowhere yet. */
export function newInstanceRecord(n: NewInstance, createdAt: string): InstanceRecord {
  return {
    uuid: n.uuid,
    name: n.name,
    projectId: n.projectId,
    userId: n.userId,
    flavor: n.flavor,
    imageRef: n.imageRef,
    availabilityZone: n.availabilityZone ?? null,
    group: n.group ?? null,
    metadata: n.metadata ?? {},
    status: 'BUILD',
    vmState: 'building',
    taskState: 'scheduling',
    powerState: POWER.NOSTATE,
    placement: null,
    triedHosts: [],
    fault: null,
    createdAt,
    updatedAt: createdAt,
    launchedAt: null,
    terminatedAt: null,
    requestId: n.requestId,
    ...(n.forceHost ? { forceHost: n.forceHost } : {}),
  };
}
