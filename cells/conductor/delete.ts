/**
 * The delete of one instance: task `deleting` ─► destroy on the host (a host that does not answer
 * is deleted locally, as Nova does for a down compute) ─► release the claim ─► drop the group
 * placement ─► purge the record ─► onDeleted (unmaps the instance, gives back its quota).
 * Every step is idempotent, so a redelivered delete runs it again from the top.
 */
import { CellplaneError, toCellplaneError } from '../../core/errors.ts';
import type { ConductorJob } from '../conductor-jobs.ts';
import { finishEvent, type InstancePlacement, startEvent } from '../instances.ts';
import { type ConductorSteps, isHostSilent } from './steps.ts';

export async function deleteInstance(s: ConductorSteps, job: ConductorJob): Promise<void> {
  let rec = await s.d.instances.get(job.uuid);
  if (!rec) {
    await s.d.onDeleted?.(job.uuid);
    return;
  }
  const now = s.now();
  const action = s.actionBase(job, 'delete');
  if (rec.value.taskState !== 'deleting') {
    const out = await s.d.instances.update(rec, { ...rec.value, taskState: 'deleting', updatedAt: now });
    if (!out.ok) throw new CellplaneError('conflict', `instance ${job.uuid} changed; delete retried`);
    rec = out.record;
  }
  await s.d.instances.recordAction(
    job.uuid,
    job.requestId,
    startEvent(action, 'compute_terminate_instance', now),
  );
  // Wherever it may run or hold a claim: its placement and, mid-move or in VERIFY_RESIZE, the
  // move's source and target too (Nova confirms a resize before deleting).
  const m = rec.value.migration;
  const places = [rec.value.placement, m?.source, m?.target].filter(
    (x, i, all): x is InstancePlacement => !!x && all.findIndex((y) => y?.root === x.root) === i,
  );
  const notes: string[] = [];
  for (const p of places) {
    try {
      await s.d.hosts.destroy(p.host, job.uuid);
    } catch (err) {
      if (!isHostSilent(err)) throw err;
      notes.push(`host ${p.host} did not answer (${toCellplaneError(err).code}); deleted locally`);
    }
    await s.d.trees.release(p.root, job.uuid);
  }
  const details = notes.length ? notes.join('; ') : undefined;
  const extra = await s.dropGroupPlacement(rec.value);
  if (extra.length) {
    const out = await s.d.instances.commit(extra);
    if (!out.ok) throw new CellplaneError('conflict', `group of ${job.uuid} changed; delete retried`);
  }
  if (!(await s.d.instances.purge(rec))) {
    throw new CellplaneError('conflict', `instance ${job.uuid} changed while deleting; retried`);
  }
  await s.d.instances.recordAction(
    job.uuid,
    job.requestId,
    finishEvent('compute_terminate_instance', s.now(), 'Success', details),
  );
  await s.d.onDeleted?.(job.uuid);
  s.emit({ type: 'deleted', uuid: job.uuid });
}
