/**
 * What a cell conductor does with one job (cells/conductor-jobs.ts): each operation is a resumable
 * state machine over the instance record (cells/instances.ts), one file each — build.ts, delete.ts,
 * power.ts (reboot/stop/start), move.ts (resize/migrate/evacuate), confirm.ts (confirm/revert a
 * resize) — over the shared steps (steps.ts). Every step is written to the record BEFORE the side
 * effect it announces, so whoever picks the job up after a crash knows what may have happened
 * and finishes or undoes it.
 *
 * Retryable infrastructure trouble (no scheduler leader during a failover, a tree actor or the
 * store not answering) is THROWN as a retryable CellplaneError: the job goes back to the queue
 * and runs again later (runner.ts); it never turns an instance to ERROR.
 */
import type { ConductorJob } from '../conductor-jobs.ts';
import { build } from './build.ts';
import { confirmResize, revertResize } from './confirm.ts';
import { deleteInstance } from './delete.ts';
import { abandonMove, move } from './move.ts';
import type { ConductorDeps } from './ports.ts';
import { power } from './power.ts';
import { ConductorSteps } from './steps.ts';

export class ConductorOps {
  private readonly s: ConductorSteps;

  /** Throws `invalid` on a bad `maxBuildAttempts`. */
  constructor(d: ConductorDeps) {
    this.s = new ConductorSteps(d);
  }

  /** Runs one job to its end state. Throws a retryable error to have the job run again later. */
  async run(job: ConductorJob): Promise<void> {
    switch (job.op) {
      case 'build':
        await build(this.s, job);
        break;
      case 'delete':
        await deleteInstance(this.s, job);
        break;
      case 'reboot':
      case 'stop':
      case 'start':
        await power(this.s, job);
        break;
      case 'resize':
      case 'migrate':
      case 'evacuate':
        await move(this.s, job);
        break;
      case 'confirmResize':
        await confirmResize(this.s, job);
        break;
      case 'revertResize':
        await revertResize(this.s, job);
        break;
    }
    this.s.emit({ type: 'done', op: job.op, uuid: job.uuid });
  }

  /**
   * A job that cannot run (a bug, a corrupt record): a build turns the instance to ERROR with
   * `reason` so the request ends explained; other operations just leave their action failed.
   */
  async abandon(job: ConductorJob, reason: string): Promise<void> {
    const s = this.s;
    const rec = await s.d.instances.get(job.uuid);
    if (job.op === 'build' && rec?.value.status === 'BUILD') {
      const p = rec.value.placement;
      if (p) await s.d.trees.release(p.root, job.uuid);
      await s.fail(rec, job, reason);
      return;
    }
    if (job.op !== 'build' && job.op !== 'delete' && rec) {
      if (await abandonMove(s, job, reason)) return;
    }
    await s.d.instances.recordAction(job.uuid, job.requestId, (a) => ({
      ...(a ?? s.newAction(job, job.op)),
      message: 'Error',
      updatedAt: s.now(),
    }));
  }
}
