/**
 * Accepting reboot, stop and start (POST /servers/{id}/action): Nova's check_instance_state — the
 * instance must be idle (no task) and in a vm_state the action allows, else `conflict` — then the
 * task state is set by compare-and-set (`conflict` when the record changed meanwhile) and the job
 * goes to the cell's conductor; a job that cannot be queued takes the task back.
 */
import { CellplaneError } from '../../core/errors.ts';
import { jobOf, type LoadPorts, loadServer, refused } from './load.ts';
import type { JobQueue, Requester } from './ports.ts';

export type PowerAction = 'reboot' | 'stop' | 'start';

export interface PowerPorts extends LoadPorts {
  readonly jobs: JobQueue;
  /** ms since the epoch: the task's and the job's time. */
  readonly now: () => number;
}

export interface PowerRequest extends Requester {
  readonly action: PowerAction;
  /** reboot only: HARD also recovers a stopped or errored instance. */
  readonly hard?: boolean;
}

/** The vm_states each action is accepted in (Nova's compute API decorators). */
function allowedStates(action: PowerAction, hard: boolean): readonly string[] {
  if (action === 'reboot') return hard ? ['active', 'stopped', 'error'] : ['active'];
  return action === 'stop' ? ['active', 'error'] : ['stopped'];
}

function taskOf(action: PowerAction, hard: boolean): string {
  if (action === 'reboot') return hard ? 'rebooting_hard' : 'rebooting';
  return action === 'stop' ? 'powering-off' : 'powering-on';
}

export async function powerServer(p: PowerPorts, uuid: string, req: PowerRequest): Promise<void> {
  const { cell, rec, store } = await loadServer(p, uuid);
  const r = rec.value;
  const hard = req.hard ?? false;
  const name = req.action;
  if (r.taskState !== null)
    throw refused(`Cannot '${name}' instance ${uuid} while it is in task_state ${r.taskState}`);
  if (!allowedStates(name, hard).includes(r.vmState) || !r.placement)
    throw refused(`Cannot '${name}' instance ${uuid} while it is in vm_state ${r.vmState}`);
  const out = await store.update(rec, {
    ...r,
    taskState: taskOf(name, hard),
    updatedAt: new Date(p.now()).toISOString(),
  });
  if (!out.ok) throw new CellplaneError('conflict', `Instance ${uuid} changed meanwhile; try again`);
  const more = name === 'reboot' ? { rebootType: hard ? ('HARD' as const) : ('SOFT' as const) } : {};
  try {
    await p.jobs.enqueue(cell, jobOf(name, uuid, req, p.now(), more));
  } catch (err) {
    await store.update(out.record, { ...out.record.value, taskState: null }).catch(() => {});
    throw err;
  }
}
