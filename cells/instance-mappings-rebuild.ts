/**
 * Instance mappings rebuilt from the cells' own records, after the API layer's store lost its
 * data (deploy/store-recovery.ts): every record a cell holds gets its mapping back (its uuid, the
 * cell, its project, `mappedAt` = its creation time). Mappings live in Redis now, not in etcd, so
 * this is what keeps a lost API store from losing track of the servers.
 *
 * A record read here may be purged by a delete before its mapping is written back (the delete's
 * unmap then finds nothing): so after writing a mapping, its record is read again, and the
 * mapping undone if the record is gone — the same write-then-recheck as every mapping. A record
 * whose instance is mapped to another cell is reported, never remapped.
 */

import type { InstanceMappings } from './instance-mappings.ts';
import type { InstanceStore } from './instances.ts';
import type { CellRecord } from './mapping.ts';

/** What the rebuild reads: the cells, and each cell's instance records. */
export interface RebuildSource {
  cells(): readonly CellRecord[];
  instances(cell: CellRecord): Promise<InstanceStore>;
}

export interface RebuildReport {
  /** Mappings written back. */
  readonly restored: number;
  /** Records whose instance is mapped to another cell (left as they are). */
  readonly elsewhere: readonly string[];
  /** Cells whose records could not be read, with why: run the rebuild again once they answer. */
  readonly failed: readonly { readonly cell: string; readonly error: string }[];
}

export async function rebuildInstanceMappings(
  source: RebuildSource,
  mappings: InstanceMappings,
): Promise<RebuildReport> {
  let restored = 0;
  const elsewhere: string[] = [];
  const failed: { cell: string; error: string }[] = [];
  for (const cell of source.cells()) {
    try {
      const records = await source.instances(cell);
      for await (const r of records.all()) {
        const m = {
          instanceUuid: r.value.uuid,
          cellUuid: cell.uuid,
          projectId: r.value.projectId,
          mappedAt: Date.parse(r.value.createdAt),
        };
        const out = await mappings.restore(m);
        if (out.kind === 'elsewhere') elsewhere.push(m.instanceUuid);
        if (out.kind !== 'written') continue;
        if (await records.get(m.instanceUuid)) restored++;
        else await mappings.undoRestore(m, out.generation); // purged meanwhile: its delete unmapped nothing
      }
    } catch (err) {
      failed.push({ cell: cell.name, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { restored, elsewhere, failed };
}

/** One line for the log. */
export function rebuildReportLine(r: RebuildReport): string {
  const parts = [`${r.restored} instance mapping(s) rebuilt from the cells' records`];
  if (r.elsewhere.length)
    parts.push(
      `${r.elsewhere.length} mapped to another cell left alone (${r.elsewhere.slice(0, 3).join(', ')}…)`,
    );
  for (const f of r.failed) parts.push(`cell ${f.cell} not read (${f.error})`);
  return parts.join('; ');
}
