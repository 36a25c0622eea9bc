/**
 * The Placement API's view of the live fleet: every cell's provider trees (the records their
 * tree actors commit, `rp/<root>` in each cell's store) merged into one Placement engine state,
 * so the Placement routes (api/placement) answer `resource provider list|show`, inventories,
 * traits, aggregates, usages and the allocations the compute path made, with their consumers.
 *
 * Kept current without polling: each cell's tree change events (`cp.<cell>.events.rp.*`) name
 * the tree that changed, whose record is read again and put in place of the old one (events
 * only say which tree; the record is the truth, so a lost event is repaired by the next one of
 * that tree, and a reload is a `resync()`). A cell added later is followed when the directory
 * says so.
 *
 * Read-only for now: a write is answered 501 naming what to use instead. The providers are the
 * hosts' (their agents register them); operator writes through the tree actors are the next
 * step (issue 13, item 1).
 */

import { treeEventWildcard } from '../actors/provider-tree.ts';
import { treeChanged } from '../actors/provider-tree-messages.ts';
import { insertProvider, TREE_INDEX, type TreeRecord, treeRecords } from '../actors/provider-tree-store.ts';
import type { PlacementBackend } from '../api/placement/service.ts';
import type { CellRecord } from '../cells/mapping.ts';
import { decode } from '../core/codec/envelope.ts';
import { CellplaneError, toCellplaneError } from '../core/errors.ts';
import type { Uuid } from '../core/model/ids.ts';
import type { Outcome } from '../core/placement/operations.ts';
import { PlacementState } from '../core/placement/state.ts';
import type { Bus, Subscription } from '../core/ports/bus.ts';
import type { Store } from '../core/ports/store.ts';
import { indexPages } from '../core/stores/records.ts';

/** Tree records read per index page at start and on a resync. */
export const FLEET_TREE_PAGE = 500;

export interface FleetPlacementOptions {
  /** The cells (a CellDirectory): those with records are read; new ones are followed. */
  readonly cells: {
    list(): readonly CellRecord[];
    onChange(cb: () => void): () => void;
  };
  portsOf(cell: CellRecord): { store: Store; bus: Bus } | Promise<{ store: Store; bus: Bus }>;
  /** A tree that could not be read (it stays as last read). Must not throw. */
  readonly onProblem?: (message: string) => void;
}

/** Root → the providers and consumers it put in the merged state. */
interface Held {
  readonly providers: readonly Uuid[];
  readonly consumers: ReadonlyMap<Uuid, ReadonlyMap<Uuid, ReadonlyMap<string, number>>>;
}

export class FleetPlacement implements PlacementBackend {
  private readonly state = new PlacementState();
  private readonly held = new Map<Uuid, Held>();
  private readonly followed = new Map<string, Promise<Subscription | undefined>>();
  private readonly stopWatching: () => void;
  /** Trees to read again, and the one loop reading them (events come faster than reads). */
  private readonly dirty = new Map<Uuid, CellRecord>();
  private loading: Promise<void> | undefined;

  private constructor(private readonly o: FleetPlacementOptions) {
    this.stopWatching = o.cells.onChange(() => {
      for (const c of o.cells.list()) void this.follow(c);
    });
  }

  /** Follows every cell, then reads every tree; resolves with the view complete. */
  static async open(o: FleetPlacementOptions): Promise<FleetPlacement> {
    const f = new FleetPlacement(o);
    await Promise.all(o.cells.list().map((c) => f.follow(c)));
    return f;
  }

  async read<T>(fn: (state: PlacementState) => T): Promise<T> {
    await this.loading;
    return fn(this.state);
  }

  async write<T>(_fn: (state: PlacementState) => Outcome<T>): Promise<Outcome<T>> {
    throw new CellplaneError(
      'notImplemented',
      "this Placement endpoint shows the fleet's live provider trees and is read-only for now: compute node providers are written by their hosts' agents; use `cellplane placement` for a standalone Placement you can write to",
    );
  }

  async close(): Promise<void> {
    this.stopWatching();
    for (const s of this.followed.values()) await (await s)?.unsubscribe().catch(() => {});
    this.followed.clear();
    await this.loading;
  }

  /** Subscribes to a cell's tree events (once), then reads all its trees. */
  private follow(cell: CellRecord): Promise<unknown> {
    if (this.followed.has(cell.uuid)) return this.followed.get(cell.uuid)!;
    const started = (async () => {
      const { bus, store } = await this.o.portsOf(cell);
      const sub = await bus.subscribe(treeEventWildcard(cell.name), (m) => {
        try {
          this.mark(decode(treeChanged, m.data).root as Uuid, cell);
        } catch {
          // Not an event this build reads: the tree is read again on its next one.
        }
      });
      for await (const roots of indexPages(store, TREE_INDEX, FLEET_TREE_PAGE))
        for (const r of roots) this.mark(r as Uuid, cell);
      await this.loading;
      return sub;
    })().catch((err: unknown) => {
      this.followed.delete(cell.uuid); // tried again on the next directory change
      this.o.onProblem?.(
        `cell ${cell.name}: its provider trees not followed (${toCellplaneError(err).message})`,
      );
      return undefined;
    });
    this.followed.set(cell.uuid, started);
    return started;
  }

  private mark(root: Uuid, cell: CellRecord): void {
    this.dirty.set(root, cell);
    this.loading ??= this.drain().finally(() => {
      this.loading = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.dirty.size > 0) {
      const [root, cell] = this.dirty.entries().next().value!;
      this.dirty.delete(root);
      try {
        const { store } = await this.o.portsOf(cell);
        const rec = await treeRecords(store).get(root);
        this.replace(root, rec?.value);
      } catch (err) {
        this.o.onProblem?.(
          `provider tree ${root} of cell ${cell.name} not read (${toCellplaneError(err).message})`,
        );
      }
    }
  }

  /** Puts `record` (undefined: the tree is gone) in place of what `root` held. */
  private replace(root: Uuid, record: TreeRecord | undefined): void {
    const old = this.held.get(root);
    if (old) {
      for (const [consumer, byProvider] of old.consumers) this.dropAllocations(consumer, byProvider);
      for (const uuid of [...old.providers].reverse()) this.state.removeProvider(uuid);
      this.held.delete(root);
    }
    if (!record) return;
    for (const p of record.providers) insertProvider(this.state, p);
    const consumers = new Map<Uuid, Map<Uuid, Map<string, number>>>();
    for (const c of record.consumers) {
      const mine = new Map<Uuid, Map<string, number>>();
      for (const [rp, amounts] of Object.entries(c.allocations))
        mine.set(rp as Uuid, new Map(Object.entries(amounts)));
      consumers.set(c.uuid as Uuid, mine);
      const cur = this.state.consumer(c.uuid as Uuid);
      // A consumer on two trees (a migration's): its allocations are the union of both records'.
      const allocations = new Map(cur?.allocations ?? []);
      for (const [rp, m] of mine) allocations.set(rp, m);
      this.state.writeConsumer(c.uuid as Uuid, {
        uuid: c.uuid as Uuid,
        projectId: c.project,
        userId: c.user,
        consumerType: null,
        generation: Math.max(c.generation, cur?.generation ?? 0),
        allocations,
      });
    }
    for (const p of record.providers) this.state.restoreGeneration(p.uuid, p.generation);
    this.held.set(root, { providers: record.providers.map((p) => p.uuid), consumers });
  }

  private dropAllocations(consumer: Uuid, byProvider: ReadonlyMap<Uuid, unknown>): void {
    const cur = this.state.consumer(consumer);
    if (!cur) return;
    const allocations = new Map([...cur.allocations].filter(([rp]) => !byProvider.has(rp)));
    this.state.writeConsumer(consumer, allocations.size === 0 ? null : { ...cur, allocations });
  }
}
