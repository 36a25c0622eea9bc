/**
 * Fixtures for the cross-cell list tests: cells with instances in memory, a source that
 * answers through `selectRows` (or hangs, fails or lies, per cell), instance mappings, and
 * an instance builder. Everything runs on a VirtualClock.
 */
import {
  type CellInstanceSource,
  type CellLookup,
  type CrossCellListConfig,
  CrossCellLister,
  type InstanceMappingReader,
} from '../../../cells/cross-cell-list.ts';
import { selectRows } from '../../../cells/cross-cell-sort.ts';
import type { CellListQuery, InstanceSummary } from '../../../cells/cross-cell-types.ts';
import type { CellRecord, InstanceMapping } from '../../../cells/mapping.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { CellplaneError } from '../../../core/errors.ts';

/** How a fake cell behaves when asked. */
export type CellMode =
  | { kind: 'ok' }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | { kind: 'fail' }
  | { kind: 'reversed' };

export function makeCell(name: string, n: number, over: Partial<CellRecord> = {}): CellRecord {
  return {
    uuid: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
    name,
    transport: `cp.${name}`,
    store: 'redis://127.0.0.1:6379',
    state: 'ready',
    disabled: false,
    createdAt: 0,
    updatedAt: 0,
    ...over,
  };
}

/** Instance `n` (uuid derived from n), with fields overridable. */
export function inst(n: number, over: Partial<InstanceSummary> = {}): InstanceSummary {
  return {
    uuid: `10000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
    name: `vm-${n}`,
    status: 'ACTIVE',
    host: 'h1',
    projectId: 'p1',
    createdAt: 1000 + n,
    updatedAt: 1000 + n,
    ...over,
  };
}

export class FakeCells {
  readonly clock = new VirtualClock(1_700_000_000_000);
  readonly cells: CellRecord[] = [];
  readonly rows = new Map<string, InstanceSummary[]>();
  readonly modes = new Map<string, CellMode>();
  /** Every `list` query, with the cell's name (to check which cells were asked). */
  readonly asked: { cell: string; query: CellListQuery }[] = [];
  /** Instances deleted from their cell whose mapping is still there. */
  readonly gone = new Set<string>();

  readonly lookup: CellLookup = {
    list: () => this.cells,
    get: (uuid) => this.cells.find((c) => c.uuid === uuid),
  };

  readonly mappings: InstanceMappingReader = {
    instanceMapping: async (uuid) => (await this.allMappings()).find((m) => m.instanceUuid === uuid),
    instanceMappings: async (cellUuid) =>
      (await this.allMappings()).filter((m) => cellUuid === undefined || m.cellUuid === cellUuid),
  };

  readonly source: CellInstanceSource = {
    list: (cell, query, signal) => {
      this.asked.push({ cell: cell.name, query });
      return this.answer(cell, signal, () => {
        const rows = selectRows(this.live(cell), query);
        return this.modes.get(cell.uuid)?.kind === 'reversed' ? rows.reverse() : rows;
      });
    },
    get: (cell, uuid, signal) =>
      this.answer(cell, signal, () => this.live(cell).find((r) => r.uuid === uuid)),
  };

  /** Adds a cell holding `instances` (each mapped with mappedAt = createdAt). */
  add(cell: CellRecord, instances: readonly InstanceSummary[]): this {
    this.cells.push(cell);
    this.rows.set(cell.uuid, [...instances]);
    return this;
  }

  mode(cellName: string, mode: CellMode): this {
    const cell = this.cells.find((c) => c.name === cellName);
    if (!cell) throw new Error(`no cell ${cellName}`);
    this.modes.set(cell.uuid, mode);
    return this;
  }

  lister(config: Partial<CrossCellListConfig> = {}): CrossCellLister {
    const deps = { cells: this.lookup, mappings: this.mappings, source: this.source, clock: this.clock };
    return new CrossCellLister(deps, config);
  }

  /** Every instance of every cell. */
  all(): InstanceSummary[] {
    return [...this.rows.values()].flat();
  }

  private live(cell: CellRecord): InstanceSummary[] {
    return (this.rows.get(cell.uuid) ?? []).filter((r) => !this.gone.has(r.uuid));
  }

  private async allMappings(): Promise<InstanceMapping[]> {
    const out: InstanceMapping[] = [];
    for (const [cellUuid, rows] of this.rows) {
      for (const r of rows)
        out.push({ instanceUuid: r.uuid, cellUuid, projectId: r.projectId, mappedAt: r.createdAt });
    }
    return out;
  }

  private async answer<T>(cell: CellRecord, signal: AbortSignal, value: () => T): Promise<T> {
    const mode = this.modes.get(cell.uuid) ?? { kind: 'ok' };
    if (mode.kind === 'fail') throw new CellplaneError('unavailable', `cell ${cell.name} store is down`);
    if (mode.kind === 'delay') await this.clock.sleep(mode.ms, signal);
    if (mode.kind === 'hang') {
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    }
    return value();
  }
}
