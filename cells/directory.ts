/**
 * A live, in-memory view of the cells (for routers and conductors): one `list` plus a
 * `watch` on `cells/`, so cells added, disabled, re-enabled or deleted at runtime show up
 * without polling. Reads are synchronous and never touch the coordinator.
 *
 * No gap between list and watch: the watch is opened first and its events are buffered
 * until the list has been applied; then every event is applied in revision order unless
 * the key is already known at that revision or later (per-key revisions only grow, so
 * replaying an event the list already reflects is skipped and the view converges).
 */
import { decode } from '../core/codec/envelope.ts';
import type { Coordinator, Watch, WatchEvent } from '../core/ports/coordinator.ts';
import { CELLS_PREFIX, type CellRecord, CellRecordMessage } from './mapping.ts';

export type CellChange =
  | { type: 'added'; cell: CellRecord }
  | { type: 'updated'; cell: CellRecord; previous: CellRecord }
  | { type: 'removed'; cell: CellRecord };

export type CellChangeListener = (change: CellChange) => void;

/** True when the cell may be given new instances. */
export function acceptsInstances(cell: CellRecord): boolean {
  return cell.state === 'ready' && !cell.disabled;
}

export class CellDirectory {
  private readonly cells = new Map<string, CellRecord>();
  /** Last revision applied per key (deleted keys keep theirs, so stale events stay skipped). */
  private readonly revisions = new Map<string, number>();
  private readonly listeners = new Set<CellChangeListener>();
  private watch: Watch | undefined;
  private buffered: WatchEvent[] | undefined = [];
  private unreadableCount = 0;

  private constructor(private readonly coord: Coordinator) {}

  /** Lists the cells, then follows changes until `close`. */
  static async open(coord: Coordinator): Promise<CellDirectory> {
    const dir = new CellDirectory(coord);
    await dir.start();
    return dir;
  }

  /** Committed cells by name (`ready` and `deleting`). */
  list(): CellRecord[] {
    return [...this.cells.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Cells that may be given new instances: ready and not disabled. */
  accepting(): CellRecord[] {
    return this.list().filter(acceptsInstances);
  }

  get(uuid: string): CellRecord | undefined {
    return this.cells.get(uuid);
  }

  byName(name: string): CellRecord | undefined {
    for (const c of this.cells.values()) if (c.name === name) return c;
    return undefined;
  }

  /** Records this build could not decode (written by a newer major version); they were skipped. */
  get unreadable(): number {
    return this.unreadableCount;
  }

  /** Calls `cb` on every change from now on; returns the function that stops it. */
  onChange(cb: CellChangeListener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.watch?.cancel();
    this.watch = undefined;
  }

  private async start(): Promise<void> {
    this.watch = await this.coord.watch(CELLS_PREFIX, (ev) => {
      if (this.buffered) this.buffered.push(ev);
      else this.apply(ev);
    });
    try {
      for (const e of await this.coord.list(CELLS_PREFIX)) {
        this.apply({ type: 'put', key: e.key, value: e.value, revision: e.modRevision });
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    const pending = this.buffered ?? [];
    this.buffered = undefined;
    for (const ev of pending) this.apply(ev);
  }

  private apply(ev: WatchEvent): void {
    if ((this.revisions.get(ev.key) ?? 0) >= ev.revision) return;
    this.revisions.set(ev.key, ev.revision);
    const uuid = ev.key.slice(CELLS_PREFIX.length);
    const previous = this.cells.get(uuid);
    const cell = ev.type === 'put' ? this.decode(ev.value) : undefined;
    if (cell === null) return; // unreadable: keep what we had rather than drop a live cell
    if (cell && cell.state !== 'creating') {
      this.cells.set(uuid, cell);
      this.emit(previous ? { type: 'updated', cell, previous } : { type: 'added', cell });
    } else if (previous) {
      this.cells.delete(uuid);
      this.emit({ type: 'removed', cell: previous });
    }
  }

  /** The record, or null when this build cannot read it (e.g. a newer major version). */
  private decode(value: Uint8Array): CellRecord | null {
    try {
      return decode(CellRecordMessage, value);
    } catch {
      this.unreadableCount++;
      return null;
    }
  }

  private emit(change: CellChange): void {
    for (const cb of this.listeners) {
      try {
        cb(change);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
