/**
 * What every use case on an existing server starts with: its cell and record (or Nova's 404), and
 * the job it hands the cell's conductor.
 */

import { CellplaneError } from '../../core/errors.ts';
import type { Versioned } from '../../core/stores/records.ts';
import type { ConductorJob } from '../conductor-jobs.ts';
import type { InstanceRecord } from '../instances.ts';
import type { CellRecord } from '../mapping.ts';
import type { InstanceMappings, InstanceRecordStore, InstanceRecords, Requester } from './ports.ts';

export interface LoadPorts {
  readonly mappings: Pick<InstanceMappings, 'cellOf'>;
  readonly records: InstanceRecords;
}

export interface LoadedServer {
  readonly cell: CellRecord;
  readonly rec: Versioned<InstanceRecord>;
  readonly store: InstanceRecordStore;
}

/** The instance's cell, record and the cell's record store; `notFound` as Nova words it. */
export async function loadServer(p: LoadPorts, uuid: string): Promise<LoadedServer> {
  const cell = await p.mappings.cellOf(uuid);
  const store = cell && (await p.records.instances(cell));
  const rec = store && (await store.get(uuid));
  if (!cell || !store || !rec) throw gone(uuid);
  return { cell, rec, store };
}

/** Nova's 404 for an instance that is not (or no longer) there. */
export function gone(uuid: string): CellplaneError {
  return new CellplaneError('notFound', `Instance ${uuid} could not be found.`);
}

/** A 409 that no retry of the same request fixes by itself (the caller must change something). */
export function refused(message: string): CellplaneError {
  return new CellplaneError('conflict', message, { retryable: false });
}

/** The job of `op` on `uuid` as `who` asked for it at `acceptedAt` (ms since the epoch). */
export function jobOf(
  op: ConductorJob['op'],
  uuid: string,
  who: Requester,
  acceptedAt: number,
  more: Partial<ConductorJob> = {},
): ConductorJob {
  return {
    op,
    uuid,
    requestId: who.requestId,
    userId: who.userId,
    projectId: who.projectId,
    acceptedAt: new Date(acceptedAt).toISOString(),
    ...more,
  };
}
