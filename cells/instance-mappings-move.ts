/**
 * The upgrade path: instance mappings an earlier version kept in etcd (`instance-mappings/<uuid>`
 * in the coordinator) are moved into the API layer's store (instance-mappings.ts). Run at the
 * API's start (deploy/cluster.ts) and by `cellplane cell repair`; idempotent, and safe to run
 * while the region serves.
 *
 * One mapping moves in two steps: written to the store (`restore`: create-only), then deleted
 * from etcd by its revision. A crash between them leaves it in both places, which every reader
 * tolerates (the store's copy wins, a count may see it twice, never zero); the next run finishes.
 * One mover at a time (a lock key on a lease): so when the etcd delete finds the key gone, an
 * unmap removed it meanwhile (the instance was deleted), and the copy this run wrote is undone
 * rather than left behind as a mapping of no instance. A mapping the store already holds for
 * another cell is a conflict: reported and left in etcd for the operator, never overwritten.
 */
import { decode } from '../core/codec/envelope.ts';
import { CellplaneError } from '../core/errors.ts';
import type { Coordinator, Lease } from '../core/ports/coordinator.ts';
import type { InstanceMappings } from './instance-mappings.ts';
import { INSTANCE_MAPPINGS_PREFIX, InstanceMappingMessage } from './mapping.ts';

/** The coordinator key held (on a lease) by the one move running. */
export const MOVE_LOCK_KEY = 'locks/instance-mappings-move';
/** Lease of that key: a mover that dies frees it after this. */
export const MOVE_LOCK_TTL_MS = 10_000;

export interface MoveConflict {
  readonly instanceUuid: string;
  /** The cell the legacy mapping in etcd names. */
  readonly etcdCell: string;
  /** The cell the store's mapping names. */
  readonly storeCell: string;
}

export interface MoveReport {
  /** Written to the store and removed from etcd. */
  readonly moved: number;
  /** Already in the store (an interrupted earlier move): removed from etcd. */
  readonly alreadyMoved: number;
  /** Unmapped by a delete while this run moved it: its copy was undone. */
  readonly unmappedMeanwhile: number;
  /** Mapped to another cell in the store: left in etcd, for the operator. */
  readonly conflicts: readonly MoveConflict[];
}

/** Moves every legacy mapping; `conflict` (retryable) when another move holds the lock. */
export async function moveLegacyInstanceMappings(
  coord: Coordinator,
  mappings: InstanceMappings,
): Promise<MoveReport> {
  const entries = await coord.list(INSTANCE_MAPPINGS_PREFIX);
  const report = { moved: 0, alreadyMoved: 0, unmappedMeanwhile: 0, conflicts: [] as MoveConflict[] };
  if (entries.length === 0) return report;
  const lease = await coord.grantLease(MOVE_LOCK_TTL_MS);
  try {
    const lock = await coord.cas(MOVE_LOCK_KEY, new Uint8Array([1]), 0, { lease });
    if (!lock.ok) {
      throw new CellplaneError('conflict', 'another move of the instance mappings is running; try again');
    }
    for (const e of entries) {
      stillHeld(lease);
      const m = decode(InstanceMappingMessage, e.value);
      const r = await mappings.restore(m);
      if (r.kind === 'elsewhere') {
        report.conflicts.push({
          instanceUuid: m.instanceUuid,
          etcdCell: m.cellUuid,
          storeCell: r.existing.cellUuid,
        });
        continue;
      }
      const deleted = await coord.delete(e.key, { expectedModRevision: e.modRevision });
      if (r.kind === 'present') report.alreadyMoved++;
      else if (deleted) report.moved++;
      else {
        // Only an unmap removes a legacy key while we hold the lock: its instance is gone.
        stillHeld(lease);
        await mappings.undoRestore(m, r.generation);
        report.unmappedMeanwhile++;
      }
    }
    return report;
  } finally {
    await lease.revoke().catch(() => {}); // frees the lock key with it
  }
}

/** One line for a log or the CLI; undefined when there was nothing to move. */
export function moveReportLine(r: MoveReport): string | undefined {
  if (r.moved + r.alreadyMoved + r.unmappedMeanwhile + r.conflicts.length === 0) return undefined;
  const parts = [`${r.moved} instance mapping(s) moved from etcd into the API's store`];
  if (r.alreadyMoved) parts.push(`${r.alreadyMoved} already there removed from etcd`);
  if (r.unmappedMeanwhile) parts.push(`${r.unmappedMeanwhile} unmapped by a delete meanwhile`);
  for (const c of r.conflicts)
    parts.push(
      `instance ${c.instanceUuid} left in etcd: mapped to cell ${c.etcdCell} there but to ${c.storeCell} in the store (remove the wrong one by hand)`,
    );
  return parts.join('; ');
}

function stillHeld(lease: Lease): void {
  if (lease.lost) {
    throw new CellplaneError(
      'leaseLost',
      'the lock of the instance-mapping move was lost; run the move again',
    );
  }
}
