/**
 * Reads of cell records shared by concurrent mappers (instance-mappings.ts), so that a burst of
 * boots into one cell costs etcd a few reads, not two per boot.
 *
 * `fresh(cell)` resolves with a read that STARTED after the call: what the re-check after a mapping
 * needs (it must see every commit that preceded its own write). A caller that arrives while a read
 * of that cell is in flight cannot use it (it may have started before the caller's write), so it
 * joins the next read, which starts as soon as the one in flight ends: at most one read in flight
 * and one waiting per cell, each caller served within two read round trips.
 * `recent(cell)` resolves with the read in flight if there is one, else a new one: good enough for
 * the check before a mapping, which only saves a write that the re-check would undo.
 *
 * Both are linearizable reads on etcd (its default); a failed read fails every caller sharing it.
 */
import type { Coordinator } from '../core/ports/coordinator.ts';
import { cellNow } from './accepting.ts';
import type { CellRecord } from './mapping.ts';

type Read = Promise<CellRecord | undefined>;

/** How a mapper reads a cell record (the coalescing reader below, or a plain read per call). */
export interface CellReader {
  /** A read that started after this call. */
  fresh(cellUuid: string): Read;
  /** Any read no older than the one in flight. */
  recent(cellUuid: string): Read;
}

/** One read per call: what every mapper did before reads were shared (and the bench's baseline). */
export function directCellReader(coord: Coordinator): CellReader {
  return { fresh: (uuid) => cellNow(coord, uuid), recent: (uuid) => cellNow(coord, uuid) };
}

interface PerCell {
  inFlight: Read | undefined;
  next: Read | undefined;
}

export class SharedCellReads implements CellReader {
  private readonly cells = new Map<string, PerCell>();

  constructor(private readonly coord: Coordinator) {}

  fresh(cellUuid: string): Read {
    const c = this.cellOf(cellUuid);
    if (!c.inFlight) return this.start(cellUuid, c);
    // Queued behind the read in flight: it starts when that one settles, so after this call.
    c.next ??= c.inFlight.then(
      () => this.startNext(cellUuid, c),
      () => this.startNext(cellUuid, c),
    );
    return c.next;
  }

  recent(cellUuid: string): Read {
    const c = this.cellOf(cellUuid);
    return c.inFlight ?? this.start(cellUuid, c);
  }

  private startNext(cellUuid: string, c: PerCell): Read {
    c.next = undefined;
    return this.start(cellUuid, c);
  }

  private start(cellUuid: string, c: PerCell): Read {
    const read = cellNow(this.coord, cellUuid);
    c.inFlight = read;
    const done = () => {
      if (c.inFlight === read) c.inFlight = undefined;
      if (!c.inFlight && !c.next) this.cells.delete(cellUuid);
    };
    read.then(done, done);
    return read;
  }

  private cellOf(cellUuid: string): PerCell {
    let c = this.cells.get(cellUuid);
    if (!c) {
      c = { inFlight: undefined, next: undefined };
      this.cells.set(cellUuid, c);
    }
    return c;
  }
}
