/**
 * What the API hands a cell's conductor: one job per accepted operation on the cell's durable
 * work queue (`ops-<cell>`, JetStream work-queue retention on NATS). The API answers 202 only
 * once the job is stored, so an accepted request survives any single process crash; the
 * conductor acks a job only when the operation reached its end state (ACTIVE, ERROR, deleted…),
 * so a conductor dying mid-operation leaves the job to its successor, which resumes from the
 * instance record.
 *
 * `msgId` de-duplication: the API enqueues with msgId `<op>:<uuid>:<requestId>`, so an API
 * retry after a lost ack does not run an operation twice.
 */
import { defineMessage } from '../core/codec/envelope.ts';
import { asObject, asOneOf, optString, string } from '../core/codec/fields.ts';
import { CellplaneError } from '../core/errors.ts';
import type { InstanceRecord } from './instances.ts';

export type JobOp = 'build' | 'delete' | 'reboot' | 'stop' | 'start';
export const JOB_OPS: readonly JobOp[] = ['build', 'delete', 'reboot', 'stop', 'start'];

export interface ConductorJob {
  readonly op: JobOp;
  readonly uuid: string;
  /** The API request that asked for it (instance actions are keyed by it). */
  readonly requestId: string;
  readonly userId: string;
  readonly projectId: string;
  /** ISO time the API accepted it (the action's start time). */
  readonly acceptedAt: string;
  /** build: the record to create if the API's write did not land (the job alone suffices). */
  readonly record?: InstanceRecord;
  /** reboot: SOFT or HARD. */
  readonly rebootType?: 'SOFT' | 'HARD';
}

export const conductorJob = defineMessage<ConductorJob>({
  type: 'cp.cell.job',
  major: 1,
  minor: 0,
  parse(body) {
    const p = 'cp.cell.job';
    const o = asObject(body, p);
    const op = asOneOf(o.op, `${p}.op`, JOB_OPS);
    const job: ConductorJob = {
      op,
      uuid: string(o, 'uuid', p, { minLength: 36, maxLength: 36 }),
      requestId: string(o, 'requestId', p, { minLength: 1, maxLength: 255 }),
      userId: string(o, 'userId', p, { minLength: 1, maxLength: 255 }),
      projectId: string(o, 'projectId', p, { minLength: 1, maxLength: 255 }),
      acceptedAt: string(o, 'acceptedAt', p, { minLength: 1, maxLength: 64 }),
    };
    if (op === 'build') {
      if (!o.record || typeof o.record !== 'object')
        throw new CellplaneError('invalid', `${p}.record: a build job carries the instance record`);
      return { ...job, record: o.record as InstanceRecord };
    }
    if (op === 'reboot') {
      const t = optString(o, 'rebootType', p) ?? 'SOFT';
      return { ...job, rebootType: asOneOf(t, `${p}.rebootType`, ['SOFT', 'HARD'] as const) };
    }
    return job;
  },
});

/** The cell's operations queue name (JetStream stream names: letters, digits, - and _). */
export function opsQueueName(cell: string): string {
  return `ops-${cell}`;
}

/** De-duplication id of a job: an API retry of the same request is stored once. */
export function jobMsgId(job: Pick<ConductorJob, 'op' | 'uuid' | 'requestId'>): string {
  return `${job.op}:${job.uuid}:${job.requestId}`;
}

/** The build job of a new instance record. */
export function buildJob(record: InstanceRecord): ConductorJob {
  return {
    op: 'build',
    uuid: record.uuid,
    requestId: record.requestId,
    userId: record.userId,
    projectId: record.projectId,
    acceptedAt: record.createdAt,
    record,
  };
}
