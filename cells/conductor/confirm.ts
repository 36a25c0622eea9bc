/**
 * The end of a resize or cold migration in VERIFY_RESIZE, as Nova does it (move.ts brought the
 * instance there; the API set the migration to confirming or reverting):
 *
 * confirmResize: destroy on the source (a dead source is skipped) ─► release the source claim ─►
 *   ACTIVE (or SHUTOFF), migration cleared.
 * revertResize: destroy on the target ─► release the target claim ─► start on the source ─►
 *   placement and flavor restored (usage index moved back), ACTIVE (or SHUTOFF), migration cleared.
 *
 * Both are idempotent: a redelivered job finds the migration gone (done) or still confirming or
 * reverting (runs again; every step repeats harmlessly).
 */
import type { ConductorJob } from '../conductor-jobs.ts';
import { finishEvent, POWER, startEvent } from '../instances.ts';
import { CONFIRM_EVENT, change, destroyTolerant, REVERT_EVENT, reindexShape } from './move-steps.ts';
import { type ConductorSteps, describe, isInfrastructure, retryLater } from './steps.ts';

export async function confirmResize(s: ConductorSteps, job: ConductorJob): Promise<void> {
  const rec = await s.d.instances.get(job.uuid);
  const m = rec?.value.migration;
  if (!rec || rec.value.taskState === 'deleting' || !m || m.kind === 'evacuation') return;
  if (m.status !== 'confirming') return;
  await s.d.instances.recordAction(
    job.uuid,
    job.requestId,
    startEvent(s.actionBase(job, 'confirmResize'), CONFIRM_EVENT, s.now(), m.source.host),
  );
  const details = await destroyTolerant(s, m.source.host, job.uuid);
  if (m.source.root !== rec.value.placement?.root) await s.d.trees.release(m.source.root, job.uuid);
  const stopped = m.previousVmState === 'stopped';
  const done = await change(s, rec, (r) => ({
    ...r,
    status: stopped ? 'SHUTOFF' : 'ACTIVE',
    vmState: stopped ? 'stopped' : 'active',
    taskState: null,
    migration: null,
  }));
  if (!done) return;
  await s.d.instances.recordAction(
    job.uuid,
    job.requestId,
    finishEvent(CONFIRM_EVENT, s.now(), 'Success', details),
  );
}

export async function revertResize(s: ConductorSteps, job: ConductorJob): Promise<void> {
  const rec = await s.d.instances.get(job.uuid);
  const m = rec?.value.migration;
  if (!rec || rec.value.taskState === 'deleting' || !m || m.kind === 'evacuation') return;
  if (m.status !== 'reverting') return;
  const t = rec.value.placement;
  await s.d.instances.recordAction(
    job.uuid,
    job.requestId,
    startEvent(s.actionBase(job, 'revertResize'), REVERT_EVENT, s.now(), t?.host),
  );
  let details: string | undefined;
  if (t && t.root !== m.source.root) {
    details = await destroyTolerant(s, t.host, job.uuid);
    await s.d.trees.release(t.root, job.uuid);
  }
  const stopped = m.previousVmState === 'stopped';
  if (!stopped) {
    try {
      await s.d.hosts.start(m.source.host, job.uuid);
    } catch (err) {
      if (isInfrastructure(err)) throw retryLater(err);
      details = `start on ${m.source.host}: ${describe(err)}`;
    }
  }
  const done = await change(
    s,
    rec,
    (r) => ({
      ...r,
      status: stopped ? 'SHUTOFF' : 'ACTIVE',
      vmState: stopped ? 'stopped' : 'active',
      taskState: null,
      powerState: stopped ? POWER.SHUTDOWN : POWER.RUNNING,
      placement: m.source,
      flavor: m.oldFlavor,
      migration: null,
    }),
    async (r) => [
      ...(await reindexShape(s.d.instances, r, m.oldFlavor)),
      ...(await s.putGroupPlacement(r, m.source.host)),
    ],
  );
  if (!done) return;
  await s.d.instances.recordAction(
    job.uuid,
    job.requestId,
    finishEvent(REVERT_EVENT, s.now(), 'Success', details),
  );
}
