/**
 * Whether a cell takes a new host or instance, read from its record in the coordinator (etcd):
 * the check before a mapping is written, and the re-check after it (memberships.ts,
 * instance-mappings.ts). The re-check is what makes a mapping safe against a disable or a delete
 * that commits meanwhile; the check before only saves a write that would be undone.
 */
import { CellplaneError } from '../core/errors.ts';
import { parseUuid } from '../core/model/ids.ts';
import type { Coordinator } from '../core/ports/coordinator.ts';
import { type CellRecord, CellRecordMessage, cellKey, read } from './mapping.ts';

export type Purpose = 'host' | 'instance';

/** The cell if it takes a new `purpose` now; `notFound` or a non-retryable `conflict` saying why not. */
export async function acceptingCell(
  coord: Coordinator,
  cellUuid: string,
  purpose: Purpose,
): Promise<CellRecord> {
  const uuid = parseUuid(cellUuid, 'cellUuid');
  return accepting(uuid, (await read(coord, CellRecordMessage, cellKey(uuid)))?.value, purpose);
}

/** `cell` (the record read for `cellUuid`, undefined when there is none) if it takes a new `purpose`. */
export function accepting(cellUuid: string, cell: CellRecord | undefined, purpose: Purpose): CellRecord {
  if (!cell || cell.state === 'creating') {
    throw new CellplaneError('notFound', `no cell with uuid ${cellUuid} (run "cellplane cell list")`);
  }
  const refusal = refusalOf(cell, purpose);
  if (refusal) throw refusal;
  return cell;
}

/**
 * Why `now` (the cell's record read again after a mapping was written, undefined when it is gone)
 * no longer takes that mapping: the error the mapper throws after undoing its write; undefined
 * when the mapping may stay.
 */
export function recheckRefusal(
  cell: CellRecord,
  now: CellRecord | undefined,
  purpose: Purpose,
): CellplaneError | undefined {
  if (!now || now.state === 'deleting') {
    return new CellplaneError(
      'conflict',
      `cell "${cell.name}" was deleted or is being deleted; nothing was mapped`,
      { retryable: false },
    );
  }
  if (purpose === 'instance' && now.disabled) {
    return new CellplaneError('conflict', `cell "${cell.name}" was disabled meanwhile; nothing was mapped`, {
      retryable: false,
      details: { cell: cell.name },
    });
  }
  return undefined;
}

function refusalOf(cell: CellRecord, purpose: Purpose): CellplaneError | undefined {
  if (cell.state === 'deleting') {
    return new CellplaneError(
      'conflict',
      `cell "${cell.name}" is being deleted: it takes no new ${purpose}s`,
      {
        retryable: false,
      },
    );
  }
  if (purpose === 'instance' && cell.disabled) {
    const why = cell.disabledReason ? ` (${cell.disabledReason})` : '';
    return new CellplaneError(
      'conflict',
      `cell "${cell.name}" is disabled${why}: it takes no new instances`,
      {
        retryable: false,
        details: { cell: cell.name, reason: cell.disabledReason },
      },
    );
  }
  return undefined;
}

/** The cell's record now (a linearizable read on etcd), undefined when it is gone. */
export async function cellNow(coord: Coordinator, cellUuid: string): Promise<CellRecord | undefined> {
  return (await read(coord, CellRecordMessage, cellKey(cellUuid)))?.value;
}
