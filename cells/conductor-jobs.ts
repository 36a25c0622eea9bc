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
import { asInt, asObject, asOneOf, asString, optString, string } from '../core/codec/fields.ts';
import { CellplaneError } from '../core/errors.ts';
import type { InstanceFlavor, InstanceRecord } from './instances.ts';

export type JobOp =
  | 'build'
  | 'delete'
  | 'reboot'
  | 'stop'
  | 'start'
  | 'resize'
  | 'migrate'
  | 'confirmResize'
  | 'revertResize'
  | 'evacuate';
export const JOB_OPS: readonly JobOp[] = [
  'build',
  'delete',
  'reboot',
  'stop',
  'start',
  'resize',
  'migrate',
  'confirmResize',
  'revertResize',
  'evacuate',
];

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
  /** resize: the new flavor, as the API resolved it (the conductor does not read the API store). */
  readonly flavor?: InstanceFlavor;
  /** migrate (2.56+) / evacuate: the target host the admin asked for. */
  readonly host?: string;
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
    if (op === 'resize') return { ...job, flavor: asFlavor(o.flavor, `${p}.flavor`) };
    if (op === 'migrate' || op === 'evacuate') {
      const host = optString(o, 'host', p, { minLength: 1, maxLength: 255 });
      return host === undefined ? job : { ...job, host };
    }
    return job;
  },
});

function asFlavor(v: unknown, p: string): InstanceFlavor {
  if (!v || typeof v !== 'object')
    throw new CellplaneError('invalid', `${p}: a resize job carries the new flavor`);
  const o = asObject(v, p);
  const extra = o.extraSpecs;
  if (extra !== undefined && (typeof extra !== 'object' || extra === null))
    throw new CellplaneError('invalid', `${p}.extraSpecs must be a map`);
  return {
    id: asString(o.id, `${p}.id`, { minLength: 1, maxLength: 255 }),
    name: asString(o.name, `${p}.name`, { maxLength: 255 }),
    vcpus: asInt(o.vcpus, `${p}.vcpus`, { min: 0 }),
    ram: asInt(o.ram, `${p}.ram`, { min: 0 }),
    disk: asInt(o.disk, `${p}.disk`, { min: 0 }),
    ephemeral: asInt(o.ephemeral ?? 0, `${p}.ephemeral`, { min: 0 }),
    swap: asInt(o.swap ?? 0, `${p}.swap`, { min: 0 }),
    extraSpecs: (extra ?? {}) as Record<string, string>,
  };
}

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
