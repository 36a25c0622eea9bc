/**
 * Accepting a server's delete (DELETE /servers/{id}, the simulator's planned deletes): the task
 * state goes to `deleting` by compare-and-set (Nova deletes in any state; a delete already under
 * way is simply asked again), then the durable delete job goes to the cell's conductor, and the
 * server leaves its group. Its quota claim is NOT given back here: the conductor releases it once
 * the record is purged (an instance counts until it is gone, and a crash cannot leak the claim).
 */
import { CellplaneError } from '../../core/errors.ts';
import { gone, jobOf, type LoadPorts, loadServer } from './load.ts';
import type { GroupMembers, JobQueue, Requester } from './ports.ts';

export interface DeletePorts extends LoadPorts {
  readonly jobs: JobQueue;
  readonly groups: Pick<GroupMembers, 'removeMembers'>;
  /** ms since the epoch: the task's and the job's time. */
  readonly now: () => number;
}

export async function deleteServer(p: DeletePorts, uuid: string, who: Requester): Promise<void> {
  const { cell, rec, store } = await loadServer(p, uuid);
  const r = rec.value;
  if (r.taskState !== 'deleting') {
    const out = await store.update(rec, { ...r, taskState: 'deleting', updatedAt: iso(p.now()) });
    if (!out.ok && out.current?.value.taskState !== 'deleting') {
      if (!out.current) throw gone(uuid);
      throw new CellplaneError('conflict', `Instance ${uuid} changed while being deleted; try again`);
    }
  }
  await p.jobs.enqueue(cell, jobOf('delete', uuid, who, p.now()));
  if (r.group) await p.groups.removeMembers(r.group.uuid, [uuid]).catch(() => {});
}

const iso = (ms: number) => new Date(ms).toISOString();
