/**
 * The steps the moves share (move.ts: resize, migrate, evacuate; confirm.ts: confirm and revert a
 * resize): Nova's action and event names, the CAS change that holds while the same move owns the
 * record, a destroy that tolerates a dead host, the quota index moved with the flavor, and the
 * conductor event of the move's action.
 */
import { CellplaneError, toCellplaneError } from '../../core/errors.ts';
import type { WriteOp } from '../../core/ports/store.ts';
import type { ConductorJob } from '../conductor-jobs.ts';
import {
  finishEvent,
  type InstanceFlavor,
  type InstanceMigration,
  type InstanceRecord,
  type InstanceStore,
  MAX_RECORD_CAS_ATTEMPTS,
  type MigrationKind,
  shapeOf,
  usageIndex,
  type VmState,
} from '../instances.ts';
import { type ConductorSteps, isHostSilent, type Rec } from './steps.ts';

/** Nova's instance action and event names per kind of move. */
export const MOVE_ACTIONS: Readonly<
  Record<MigrationKind, { action: string; conductor: string; compute: string; prepTask: string }>
> = {
  resize: {
    action: 'resize',
    conductor: 'cold_migrate',
    compute: 'compute_finish_resize',
    prepTask: 'resize_prep',
  },
  migration: {
    action: 'migrate',
    conductor: 'cold_migrate',
    compute: 'compute_finish_resize',
    prepTask: 'resize_prep',
  },
  evacuation: {
    action: 'evacuate',
    conductor: 'rebuild_server',
    compute: 'compute_rebuild_instance',
    prepTask: 'rebuilding',
  },
};
export const CONFIRM_EVENT = 'compute_confirm_resize';
export const REVERT_EVENT = 'compute_revert_resize';

export function moveKindOf(op: ConductorJob['op']): MigrationKind {
  if (op === 'resize') return 'resize';
  if (op === 'migrate') return 'migration';
  if (op === 'evacuate') return 'evacuation';
  throw new CellplaneError('internal', `${op} is not a move`);
}

/**
 * Applies `f` to the record with CAS, retried on the current record while the same move owns it.
 * Undefined when the record is gone, being deleted, or no longer carries this move.
 */
export async function change(
  s: ConductorSteps,
  rec: Rec,
  f: (r: InstanceRecord) => InstanceRecord,
  extra?: (r: InstanceRecord) => Promise<WriteOp[]>,
): Promise<Rec | undefined> {
  const owner = rec.value.migration?.requestId;
  for (let i = 0; i < MAX_RECORD_CAS_ATTEMPTS; i++) {
    const ops = extra ? await extra(rec.value) : [];
    const out = await s.d.instances.update(rec, { ...f(rec.value), updatedAt: s.now() }, ops);
    if (out.ok) return out.record;
    const cur = out.current;
    if (!cur || cur.value.taskState === 'deleting' || cur.value.migration?.requestId !== owner)
      return undefined;
    rec = cur;
  }
  throw casExhausted(rec.id);
}

export function casExhausted(uuid: string): CellplaneError {
  return new CellplaneError('conflict', `instance ${uuid}: record kept changing during a move`, {
    retryable: true,
  });
}

/** Destroy on a host that may be down: a host that does not answer is noted, not waited for again. */
export async function destroyTolerant(
  s: ConductorSteps,
  host: string,
  uuid: string,
): Promise<string | undefined> {
  try {
    await s.d.hosts.destroy(host, uuid);
    return undefined;
  } catch (err) {
    if (!isHostSilent(err)) throw err;
    return `host ${host} did not answer (${toCellplaneError(err).code}); its copy was left behind`;
  }
}

/** The move's action as the request that started it recorded it. */
export function moveBase(s: ConductorSteps, job: ConductorJob, m: InstanceMigration) {
  return s.actionBase({ ...job, requestId: m.requestId }, MOVE_ACTIONS[m.kind].action);
}

/** Ends the conductor's event (cold_migrate / rebuild_server) of the move's action. */
export async function finishConductorEvent(
  s: ConductorSteps,
  job: ConductorJob,
  m: InstanceMigration,
  result: 'Success' | 'Error',
  details?: string,
): Promise<void> {
  await s.d.instances.recordAction(job.uuid, m.requestId, (a) =>
    finishEvent(
      MOVE_ACTIONS[m.kind].conductor,
      s.now(),
      result,
      details,
    )(a ?? { ...moveBase(s, job, m), message: null, updatedAt: s.now(), events: [] }),
  );
}

export function statusOf(vm: VmState): InstanceRecord['status'] {
  if (vm === 'stopped') return 'SHUTOFF';
  if (vm === 'error') return 'ERROR';
  return 'ACTIVE';
}

/**
 * Moves the instance's quota entry to the new flavor's shape (same commit as the flavor change):
 * usage counts the flavor the record holds, as Nova counts instance.flavor.
 */
export async function reindexShape(
  instances: InstanceStore,
  r: InstanceRecord,
  to: InstanceFlavor,
): Promise<WriteOp[]> {
  const from = shapeOf(r.flavor);
  const next = shapeOf(to);
  if (from === next) return [];
  await instances.listShape(r.projectId, next);
  return [
    { op: 'unindex', index: usageIndex(r.projectId, from), member: r.uuid },
    { op: 'index', index: usageIndex(r.projectId, next), member: r.uuid },
  ];
}
