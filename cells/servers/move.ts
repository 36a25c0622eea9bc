/**
 * Accepting the moves (POST /servers/{id}/action; the simulator's resizes, migrations and their
 * confirmations): resize, migrate (cold), evacuate, and confirmResize / revertResize of a finished
 * resize or migration. Nova's admission rules, each refusal a coded error:
 *   - the instance idle in an allowed vm_state (`conflict`), the new flavor known and different
 *     (`invalid`), an upsize's growth within quota (`quotaExceeded`; only the growth counts);
 *   - a target host known (`invalid` for migrate, `notFound` for evacuate) and not the source
 *     (`invalid`); evacuate only from a host that is down (`conflict` while it is up);
 *   - confirm/revert only of a move that finished and waits (`conflict`).
 * Then the record moves on by compare-and-set (`conflict` when it changed meanwhile), and the job
 * goes to the cell's conductor (cells/conductor/move.ts); a job that cannot be queued puts the
 * status, task and migration back.
 */

import { CellplaneError } from '../../core/errors.ts';
import type { ConductorJob, JobOp } from '../conductor-jobs.ts';
import type { InstanceFlavor, InstanceRecord } from '../instances.ts';
import { refuseUnhonouredSpecs } from './flavor-specs.ts';
import { jobOf, type LoadPorts, loadServer, refused } from './load.ts';
import type {
  ComputeHosts,
  FlavorLookup,
  HostLiveness,
  JobQueue,
  ProjectLimits,
  Requester,
  ResizeQuota,
} from './ports.ts';

export type MoveAction = 'resize' | 'migrate' | 'evacuate' | 'confirmResize' | 'revertResize';
export const MOVE_ACTIONS: readonly MoveAction[] = [
  'resize',
  'migrate',
  'confirmResize',
  'revertResize',
  'evacuate',
];

export interface MovePorts extends LoadPorts {
  readonly jobs: JobQueue;
  readonly flavors: FlavorLookup;
  readonly hosts: ComputeHosts;
  readonly liveness: HostLiveness;
  readonly quota: ResizeQuota;
  readonly limits: ProjectLimits;
  /** ms since the epoch: the record's and the job's time. */
  readonly now: () => number;
}

export type MoveRequest = Requester &
  (
    | { readonly action: 'resize'; readonly flavorRef: string }
    | { readonly action: 'migrate' | 'evacuate'; readonly host?: string }
    | { readonly action: 'confirmResize' | 'revertResize' }
  );

interface Admitted {
  readonly next: InstanceRecord;
  readonly op: JobOp;
  readonly more: Partial<ConductorJob>;
}

export async function moveServer(p: MovePorts, uuid: string, req: MoveRequest): Promise<void> {
  const { cell, rec, store } = await loadServer(p, uuid);
  const r = rec.value;
  const { next, op, more } = await admit(p, r, req);
  const out = await store.update(rec, next);
  if (!out.ok) throw new CellplaneError('conflict', `Instance ${uuid} changed meanwhile; try again`);
  try {
    await p.jobs.enqueue(cell, jobOf(op, uuid, req, p.now(), more));
  } catch (err) {
    const undo = { status: r.status, taskState: r.taskState, migration: r.migration ?? null };
    await store.update(out.record, { ...out.record.value, ...undo }).catch(() => {});
    throw err;
  }
}

/** The record the move turns `r` into and what its job carries; throws the refusal. */
async function admit(p: MovePorts, r: InstanceRecord, req: MoveRequest): Promise<Admitted> {
  const at = new Date(p.now()).toISOString();
  const task = { ...r, requestId: req.requestId, updatedAt: at };
  switch (req.action) {
    case 'resize': {
      requireIdle(r, 'resize', ['active', 'stopped']);
      const f = await p.flavors.flavor(req.flavorRef);
      if (!f) throw new CellplaneError('invalid', 'Unable to locate requested flavor.');
      if (f.id === r.flavor.id)
        throw new CellplaneError('invalid', 'When resizing, instances must change flavor!');
      refuseUnhonouredSpecs(f);
      await claimGrowth(p, r, f);
      return {
        next: { ...task, status: 'RESIZE', taskState: 'resize_prep' },
        op: 'resize',
        more: { flavor: f },
      };
    }
    case 'migrate': {
      const source = requireIdle(r, 'migrate', ['active', 'stopped']);
      const { host } = req;
      if (host !== undefined) {
        if (!(await p.hosts.exists(host)))
          throw new CellplaneError('invalid', `Compute host ${host} could not be found.`);
        if (host === source)
          throw new CellplaneError(
            'invalid',
            `Unable to migrate instance (${r.uuid}) to current host (${host}).`,
          );
      }
      const next: InstanceRecord = { ...task, status: 'RESIZE', taskState: 'resize_prep' };
      return { next, op: 'migrate', more: host ? { host } : {} };
    }
    case 'evacuate': {
      const source = requireIdle(r, 'evacuate', ['active', 'stopped', 'error']);
      const { host } = req;
      if (host !== undefined) {
        if (!(await p.hosts.exists(host)))
          throw new CellplaneError('notFound', `Compute host ${host} not found.`);
        if (host === source) throw new CellplaneError('invalid', "The target host can't be the same one.");
      }
      if (await p.liveness.isUp(source)) throw refused(`Compute service of ${source} is still in use.`);
      const next: InstanceRecord = { ...task, status: 'REBUILD', taskState: 'rebuilding' };
      return { next, op: 'evacuate', more: host ? { host } : {} };
    }
    default:
      return settle(r, req.action, at);
  }
}

/** confirmResize / revertResize: only a finished resize or migration waits for them. */
function settle(r: InstanceRecord, action: 'confirmResize' | 'revertResize', at: string): Admitted {
  const m = r.migration;
  if (r.status !== 'VERIFY_RESIZE' || !m || m.status !== 'finished' || r.taskState !== null)
    throw refused(`Cannot '${action}' instance ${r.uuid} while it is in vm_state ${r.vmState}`);
  if (action === 'confirmResize')
    return { next: { ...r, migration: { ...m, status: 'confirming' }, updatedAt: at }, op: action, more: {} };
  const next: InstanceRecord = {
    ...r,
    status: 'REVERT_RESIZE',
    taskState: 'resize_reverting',
    migration: { ...m, status: 'reverting' },
    updatedAt: at,
  };
  return { next, op: action, more: {} };
}

/** `conflict` unless the instance is idle in one of `allowed` (Nova's check_instance_state); its host. */
function requireIdle(r: InstanceRecord, name: string, allowed: readonly string[]): string {
  if (r.taskState !== null)
    throw refused(`Cannot '${name}' instance ${r.uuid} while it is in task_state ${r.taskState}`);
  if (!allowed.includes(r.vmState) || !r.placement)
    throw refused(`Cannot '${name}' instance ${r.uuid} while it is in vm_state ${r.vmState}`);
  return r.placement.host;
}

/**
 * Nova's upsize check, on the instance's project: only the growth in cores and RAM counts (a
 * downsize always fits). The claim grows to hold both flavors; the ledger's reconcile pass lowers
 * it once the move is confirmed or reverted (or if this request goes no further).
 */
async function claimGrowth(p: MovePorts, r: InstanceRecord, f: InstanceFlavor): Promise<void> {
  if (f.vcpus <= r.flavor.vcpus && f.ram <= r.flavor.ram) return;
  const limits = await p.limits.limitsOf(r.projectId);
  const from = { cores: r.flavor.vcpus, ram: r.flavor.ram };
  const out = await p.quota.resize(r.uuid, r.projectId, limits, from, { cores: f.vcpus, ram: f.ram });
  if (typeof out === 'object') throw new CellplaneError('quotaExceeded', out.refused);
}
