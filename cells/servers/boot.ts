/**
 * Accepting a boot of one or more servers (POST /servers, the simulator's workload):
 *
 * 0. a flavor carrying extra specs cellplane does not act on is refused (flavor-specs.ts);
 * 1. an affinity group's members stay in the cell of its first member still mapped (its hosts are
 *    that cell's); anti-affinity holds across cells by itself (cells never share a host);
 * 2. quota: claims in the API's ledger, never a read of the cells (a down cell must not refuse
 *    another cell's boot) — `quotaExceeded` with Nova's message when not even `min` fit;
 * 3. per instance: choose a cell, map the instance to it — a cell disabled between the choice and
 *    the mapping refuses it, and another cell is chosen (up to MAX_CELL_CHOICES); a pinned group
 *    cell is not replaced (`conflict`) — then the durable build job, then the BUILD record. The
 *    job alone is enough for the conductor (it writes the record if ours did not land), so a crash
 *    after the enqueue loses nothing; an enqueue that fails takes the mapping back;
 * 4. the instance joins its group.
 * A claim of an instance not created goes back when something after the claim fails (best effort:
 * one left behind is dropped by the ledger's reconcile pass after its grace).
 */
import { CellplaneError, toCellplaneError } from '../../core/errors.ts';
import { buildJob } from '../conductor-jobs.ts';
import {
  type InstanceAction,
  type InstanceGroup,
  type InstanceRecord,
  type NewInstance,
  newInstanceRecord,
} from '../instances.ts';
import type { CellRecord } from '../mapping.ts';
import { refuseUnhonouredSpecs } from './flavor-specs.ts';
import type {
  BootQuota,
  CellChooser,
  GroupMembers,
  InstanceMappings,
  InstanceRecords,
  JobQueue,
  PlacementHint,
  ProjectLimits,
  Requester,
} from './ports.ts';

/** Cells tried for one instance when the chosen one was disabled before the mapping landed. */
export const MAX_CELL_CHOICES = 4;

export interface BootPorts {
  readonly cells: CellChooser;
  readonly mappings: InstanceMappings;
  readonly jobs: JobQueue;
  readonly records: InstanceRecords;
  readonly quota: BootQuota;
  readonly limits: ProjectLimits;
  readonly groups: Pick<GroupMembers, 'members' | 'addMembers'>;
}

/** A step of one instance's acceptance, for callers that book progress (the simulator). */
export type BootStep =
  | { readonly step: 'routed'; readonly cell: CellRecord }
  | { readonly step: 'mapped'; readonly cell: CellRecord }
  | { readonly step: 'queued'; readonly cell: CellRecord; readonly recorded: boolean };

export interface BootRequest extends Requester {
  /** The servers' name; with more than one admitted, `<name>-1`, `<name>-2`… */
  readonly name: string;
  readonly flavor: NewInstance['flavor'];
  readonly imageRef: string;
  readonly availabilityZone: string | null;
  readonly group: InstanceGroup | null;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly forceHost?: string;
  /** Fewest instances worth creating (min_count); `uuids.length` is the most (max_count). */
  readonly min: number;
  /** One fresh uuid per instance wanted. */
  readonly uuids: readonly string[];
  readonly onStep?: (uuid: string, s: BootStep) => void;
}

export interface BootedServer {
  readonly record: InstanceRecord;
  readonly cell: CellRecord;
}

/** Accepts the boot: the servers created (at least `min`), in order. */
export async function bootServers(p: BootPorts, req: BootRequest): Promise<BootedServer[]> {
  refuseUnhonouredSpecs(req.flavor);
  const { group } = req;
  const pinned =
    group && (group.policy === 'affinity' || group.policy === 'soft-affinity')
      ? await cellOfGroup(p, group.uuid)
      : undefined;
  const reserved = await p.quota.reserve({
    projectId: req.projectId,
    limits: await p.limits.limitsOf(req.projectId),
    cores: req.flavor.vcpus,
    ram: req.flavor.ram,
    min: req.min,
    uuids: req.uuids,
  });
  if (!reserved.ok) throw new CellplaneError('quotaExceeded', reserved.message);
  const { count } = reserved;
  const giveBack = async (from: number, err: unknown): Promise<never> => {
    await Promise.all(req.uuids.slice(from, count).map((u) => p.quota.release(u).catch(() => false)));
    throw err;
  };
  const created: BootedServer[] = [];
  for (let i = 0; i < count; i++) {
    const uuid = req.uuids[i]!;
    const booted = await accept(p, req, uuid, count > 1 ? `${req.name}-${i + 1}` : req.name, pinned).catch(
      (err: unknown) => giveBack(i, err),
    );
    created.push(booted);
    if (group) await p.groups.addMembers(group.uuid, [uuid]).catch((err: unknown) => giveBack(i + 1, err));
  }
  return created;
}

/** The cell holding the group's first member still mapped (its members stay together). */
async function cellOfGroup(p: BootPorts, groupUuid: string): Promise<CellRecord | undefined> {
  for (const m of await p.groups.members(groupUuid)) {
    const cell = await p.mappings.cellOf(m);
    if (cell) return cell;
  }
  return undefined;
}

/** Choose → map → enqueue → record; a disabled cell met on the way is replaced by another choice. */
async function accept(
  p: BootPorts,
  req: BootRequest,
  uuid: string,
  name: string,
  pinned: CellRecord | undefined,
): Promise<BootedServer> {
  const hint: PlacementHint = {
    vcpus: req.flavor.vcpus,
    ramMb: req.flavor.ram,
    diskGb: req.flavor.disk,
    availabilityZone: req.availabilityZone,
    extraSpecs: req.flavor.extraSpecs,
  };
  const refusedBy = new Set<string>();
  for (let choice = 1; ; choice++) {
    const cell = pinned ?? (await chooseCell(p, hint, refusedBy));
    req.onStep?.(uuid, { step: 'routed', cell });
    let mappedAt: number;
    try {
      mappedAt = (await p.mappings.mapInstance(uuid, cell, req.projectId)).mappedAt;
    } catch (err) {
      const e = toCellplaneError(err);
      if (e.code !== 'conflict') throw err;
      if (!pinned && choice < MAX_CELL_CHOICES) {
        refusedBy.add(cell.uuid); // disabled meanwhile: choose among the others
        continue;
      }
      throw new CellplaneError('conflict', `Cell ${cell.name} does not accept new instances: ${e.message}`, {
        cause: err,
        retryable: false,
      });
    }
    req.onStep?.(uuid, { step: 'mapped', cell });
    const record = newInstanceRecord(
      {
        uuid,
        name,
        projectId: req.projectId,
        userId: req.userId,
        flavor: req.flavor,
        imageRef: req.imageRef,
        availabilityZone: req.availabilityZone,
        group: req.group,
        metadata: req.metadata ?? {},
        requestId: req.requestId,
        ...(req.forceHost ? { forceHost: req.forceHost } : {}),
      },
      new Date(mappedAt).toISOString(),
    );
    const recorded = await queueBuild(p, cell, record, createAction(record));
    req.onStep?.(uuid, { step: 'queued', cell, recorded });
    return { record, cell };
  }
}

/** The router's choice; "no cell accepts new instances" is a `conflict` (Nova answers 409). */
async function chooseCell(p: BootPorts, hint: PlacementHint, exclude: ReadonlySet<string>) {
  try {
    return await p.cells.chooseCell(hint, exclude);
  } catch (err) {
    const e = toCellplaneError(err);
    if (e.code === 'notFound')
      throw new CellplaneError('conflict', e.message, { cause: err, retryable: false });
    throw err;
  }
}

/**
 * A mapped instance's build: the durable job first (the mapping is taken back when the job cannot
 * be queued, and the error goes on), then the BUILD record. The record write may fail: the job
 * carries the record and the conductor writes it. Returns whether the record was written here.
 */
async function queueBuild(
  p: Pick<BootPorts, 'mappings' | 'jobs' | 'records'>,
  cell: CellRecord,
  rec: InstanceRecord,
  action?: InstanceAction,
): Promise<boolean> {
  try {
    await p.jobs.enqueue(cell, buildJob(rec));
  } catch (err) {
    await p.mappings.unmapInstance(rec.uuid, cell).catch(() => {});
    throw err;
  }
  return (await p.records.instances(cell)).create(rec, action).catch(() => false);
}

/** The instance action a boot starts with (the conductor adds its events). */
function createAction(r: InstanceRecord): InstanceAction {
  return {
    action: 'create',
    requestId: r.requestId,
    userId: r.userId,
    projectId: r.projectId,
    startTime: r.createdAt,
    updatedAt: r.createdAt,
    message: null,
    events: [],
  };
}
