/**
 * PlacementService: the engine's state, kept in memory and persisted through the Store port.
 *
 * Contract:
 * - `open` loads the whole state from the store.
 * - Writes run one at a time. Each applies an operation to the in-memory state (the engine's
 *   operations are all-or-nothing), collects the records its change events touched, and persists
 *   them in ONE atomic `store.commit`. If the commit fails (Redis down: `unavailable`), or a
 *   composite operation fails half-way, the state is reloaded from the store, so memory never
 *   holds what the store lacks; the caller gets the error (503 at the API).
 * - Reads never see a write that is not yet persisted: while a write is in flight, reads wait for
 *   it, then run synchronously on the state.
 * - While the store is unreachable after a failed commit, every call first retries the reload and
 *   fails with `unavailable` until it succeeds.
 * One service per store prefix: two writers on one prefix would overwrite each other's records.
 */
import { CellplaneError, toCellplaneError } from '../../core/errors.ts';
import type { Outcome, PlacementState, StateChange } from '../../core/placement/operations.ts';
import type { Store } from '../../core/ports/store.ts';
import { type PlacementRecords, placementRecords } from './records.ts';
import { loadState, recordOps, type Sequence } from './snapshot.ts';

/**
 * What the Placement routes need of the state behind them: reads on a state holding only what
 * is persisted, and writes applied and persisted as one. `PlacementService` (the standalone
 * Placement, its own store) and deploy/fleet-placement.ts (the fleet's live provider trees,
 * traits, aggregates and inventory tuning written through the tree actors) implement it.
 */
export interface PlacementBackend {
  /** Runs `fn` on a state that holds only persisted writes. `fn` must not keep views. */
  read<T>(fn: (state: PlacementState) => T): Promise<T>;
  /** Applies `fn` and persists what changed; a refused outcome is returned, a failure thrown. */
  write<T>(fn: (state: PlacementState) => Outcome<T>): Promise<Outcome<T>>;
}

export class PlacementService implements PlacementBackend {
  private state: PlacementState;
  private seq: Sequence;
  private readonly rec: PlacementRecords;
  private writeTail: Promise<unknown> = Promise.resolve();
  /** Settles when the write being persisted is done; undefined when none is in flight. */
  private inFlight: Promise<void> | undefined;
  private needsReload = false;
  private closed = false;

  private constructor(
    private readonly store: Store,
    rec: PlacementRecords,
    loaded: { state: PlacementState; seq: Sequence },
  ) {
    this.rec = rec;
    this.state = loaded.state;
    this.seq = loaded.seq;
  }

  static async open(store: Store): Promise<PlacementService> {
    const rec = placementRecords(store);
    return new PlacementService(store, rec, await loadState(rec));
  }

  /** Runs `fn` on a state that holds only persisted writes. `fn` must not keep views. */
  async read<T>(fn: (state: PlacementState) => T): Promise<T> {
    this.checkOpen();
    while (this.inFlight) await this.inFlight;
    if (this.needsReload) await this.exclusive(async () => this.reloadIfNeeded());
    while (this.inFlight) await this.inFlight;
    return fn(this.state);
  }

  /**
   * Applies `fn` (one or several engine operations) and persists what changed. A refused
   * outcome is returned as is; a store failure throws (`unavailable`/`timeout`).
   */
  write<T>(fn: (state: PlacementState) => Outcome<T>): Promise<Outcome<T>> {
    this.checkOpen();
    return this.exclusive(() => this.applyAndPersist(fn));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writeTail.catch(() => undefined);
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writeTail.then(task, task);
    this.writeTail = run.catch(() => undefined);
    return run;
  }

  private async applyAndPersist<T>(fn: (state: PlacementState) => Outcome<T>): Promise<Outcome<T>> {
    await this.reloadIfNeeded();
    const changes: StateChange[] = [];
    const unsubscribe = this.state.subscribe((c) => changes.push(c));
    let outcome: Outcome<T>;
    try {
      outcome = fn(this.state);
    } catch (err) {
      unsubscribe();
      if (changes.length > 0) await this.reloadAfter(err);
      throw err;
    }
    unsubscribe();
    if (changes.length === 0) return outcome;
    if (!outcome.ok) {
      // A composite operation refused after a first step changed the state: undo by reloading.
      await this.reloadAfter(outcome.error);
      return outcome;
    }
    let release!: () => void;
    this.inFlight = new Promise((r) => {
      release = r;
    });
    try {
      const res = await this.store.commit(recordOps(this.state, this.seq, this.rec, changes));
      if (!res.ok) {
        const keys = res.conflicts.map((c) => c.key).join(', ');
        throw new CellplaneError('conflict', `placement records changed behind this service: ${keys}`);
      }
      return outcome;
    } catch (err) {
      await this.reloadAfter(err);
      throw toCellplaneError(err);
    } finally {
      this.inFlight = undefined;
      release();
    }
  }

  /** Throws away the in-memory state and reloads it; on failure, retries on the next call. */
  private async reloadAfter(cause: unknown): Promise<void> {
    this.needsReload = true;
    try {
      await this.reloadIfNeeded();
    } catch {
      // Store still unreachable: the next call retries. Report the original failure.
      void cause;
    }
  }

  private async reloadIfNeeded(): Promise<void> {
    if (!this.needsReload) return;
    try {
      const loaded = await loadState(this.rec);
      this.state = loaded.state;
      this.seq = loaded.seq;
      this.needsReload = false;
    } catch (err) {
      throw new CellplaneError('unavailable', 'placement state could not be reloaded from the store', {
        cause: err,
      });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new CellplaneError('closed', 'placement service is closed');
  }
}
