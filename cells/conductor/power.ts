/**
 * reboot / stop / start of one instance: task set (by the API) ─► the agent's operation ─►
 * status and power state from the result, the task cleared, the action's event finished.
 * A host that says the VM is not there gets the reconciler's correction (markGone) in the same
 * action; infrastructure trouble on stop/start runs the job again, a failed reboot leaves the
 * instance as it was with the action saying why.
 */
import type { ConductorJob } from '../conductor-jobs.ts';
import {
  finishEvent,
  type InstanceRecord,
  MAX_RECORD_CAS_ATTEMPTS,
  POWER,
  startEvent,
} from '../instances.ts';
import { markGone } from '../reconcile-fix.ts';
import { type ConductorSteps, describe, isInfrastructure, type Rec } from './steps.ts';

const POWER_EVENTS = {
  reboot: { action: 'reboot', event: 'compute_reboot_instance' },
  stop: { action: 'stop', event: 'compute_stop_instance' },
  start: { action: 'start', event: 'compute_start_instance' },
} as const;

export async function power(s: ConductorSteps, job: ConductorJob): Promise<void> {
  const rec = await s.d.instances.get(job.uuid);
  if (!rec || rec.value.taskState === 'deleting' || !rec.value.placement) return;
  const p = rec.value.placement;
  const ev = POWER_EVENTS[job.op as 'reboot' | 'stop' | 'start'];
  const now = s.now();
  await s.d.instances.recordAction(
    job.uuid,
    job.requestId,
    startEvent(s.actionBase(job, ev.action), ev.event, now, p.host),
  );
  let outcome: Partial<InstanceRecord>;
  let result: 'Success' | 'Error' = 'Success';
  let details: string | undefined;
  try {
    if (job.op === 'reboot') await s.d.hosts.reboot(p.host, job.uuid, job.rebootType ?? 'SOFT');
    else if (job.op === 'stop') await s.d.hosts.stop(p.host, job.uuid);
    else await s.d.hosts.start(p.host, job.uuid);
    const running = job.op !== 'stop';
    outcome = {
      status: running ? 'ACTIVE' : 'SHUTOFF',
      vmState: running ? 'active' : 'stopped',
      powerState: running ? POWER.RUNNING : POWER.SHUTDOWN,
    };
  } catch (err) {
    if (s.d.hosts.vmGone(err, job.uuid)) return powerFoundGone(s, job, ev.event, err);
    if (isInfrastructure(err) && job.op !== 'reboot') throw err;
    result = 'Error';
    details = describe(err);
    outcome = {}; // the instance stays as it was; the action says why
  }
  for (let cur: Rec | undefined = rec, i = 0; cur && i < MAX_RECORD_CAS_ATTEMPTS; i++) {
    const out = await s.d.instances.update(cur, {
      ...cur.value,
      ...outcome,
      taskState: null,
      updatedAt: s.now(),
    });
    if (out.ok || !out.current || out.current.value.taskState === 'deleting') break;
    cur = out.current;
  }
  await s.d.instances.recordAction(job.uuid, job.requestId, finishEvent(ev.event, s.now(), result, details));
}

/**
 * A power action found the VM gone from its host: its event ends Error, and the instance gets the
 * reconciler's correction (ERROR with a fault, allocations released), not ACTIVE with no fault.
 */
async function powerFoundGone(
  s: ConductorSteps,
  job: ConductorJob,
  event: string,
  err: unknown,
): Promise<void> {
  const now = s.now();
  await s.d.instances.recordAction(job.uuid, job.requestId, finishEvent(event, now, 'Error', describe(err)));
  for (let i = 0; i < MAX_RECORD_CAS_ATTEMPTS; i++) {
    const rec = await s.d.instances.get(job.uuid);
    if (!rec?.value.placement || rec.value.taskState === 'deleting') return;
    const c = await markGone(s.d, rec, `${job.op}: ${describe(err)}`, job.requestId);
    if (c) return s.emit({ type: 'corrected', uuid: job.uuid, correction: c });
  }
}
