/**
 * Keeps a leader's ShardView current: the full resync from the cell Store on takeover (list the
 * `rp.trees` index, read the records of this partition's trees in pages), the live tree events
 * (`cp.<cell>.events.rp.*`, filtered to this partition by `shardOf`), re-reads of single trees
 * when an event shows a version gap, and host up/down transitions (asked to be told again once
 * the trees are loaded: a new leader's view starts with every host up).
 *
 * Ordering: the leader subscribes to events BEFORE it reads the Store; events that arrive while
 * the resync runs are buffered (at most MAX_BUFFERED_EVENTS; beyond that the resync is simply
 * trusted and the next gap triggers a re-read) and folded in afterwards — an event older than
 * the record read is recognised as stale by its version, so nothing is applied twice or lost.
 *
 * When the Store loses data, versions go BACKWARDS: a tree registered again after its record was
 * lost starts over at version 1, while the view still holds the old, higher one (and its old
 * provider generations, which every claim would now fail on). So a live event older than the
 * view makes the feed re-read that tree, and a Store that is behind the view replaces it (a
 * record that is gone removes it) — reported as `treeWentBack` / `treeVanished`, the first one
 * and then at every power of ten. `resyncAll` re-reads the whole partition (the cell roles call
 * it when the store's epoch changed: trees whose hosts never register again vanish too).
 */
import { decode } from '../core/codec/envelope.ts';
import type { Bus, Subscription } from '../core/ports/bus.ts';
import type { Store } from '../core/ports/store.ts';
import { treeEventWildcard } from './provider-tree.ts';
import { type TreeChanged, treeChanged } from './provider-tree-messages.ts';
import { TREE_INDEX, treeRecords } from './provider-tree-store.ts';
import { shardOf } from './scheduler-shard-partition.ts';
import { treeFromRecord } from './scheduler-shard-trees.ts';
import type { ShardView } from './scheduler-shard-view.ts';

/** Index members (trees) read per Store page during a resync. */
export const RESYNC_PAGE_SIZE = 500;
/** Events held while a resync runs. */
export const MAX_BUFFERED_EVENTS = 100_000;
/** Re-reads of one tree in a row while its events keep running ahead of the Store. */
export const MAX_TREE_RELOADS = 5;

/** Host up/down transitions: where they are published and how to read one. */
export interface ServiceEvents {
  readonly subject: string;
  /** Undefined for a message that is not a transition (ignored). Must not throw. */
  parse(data: Uint8Array): { readonly host: string; readonly up: boolean } | undefined;
  /**
   * Asks whoever publishes the transitions to tell the current unschedulable hosts again; called
   * once the trees are loaded, so a new leader does not take every host for up until the next
   * periodic re-announcement. Must not throw.
   */
  askReplay?(): void;
}

export interface FeedDeps {
  readonly bus: Bus;
  readonly store: Store;
  readonly cell: string;
  readonly shard: number;
  readonly shardCount: number;
  readonly serviceEvents?: ServiceEvents;
  /** Must not throw. */
  readonly report: (what: string, details: Record<string, unknown>) => void;
}

export class ShardFeed {
  private subs: Subscription[] = [];
  private buffer: TreeChanged[] | undefined;
  private overflowed = false;
  /** Root → newest version an event announced, for trees being re-read. */
  private readonly reloading = new Map<string, number>();
  private active = false;
  private resyncing: Promise<number> | undefined;
  /** Trees found behind the view (went back) or gone, this term: reported at 1, 10, 100… */
  private readonly losses = { treeWentBack: 0, treeVanished: 0 };

  constructor(
    private readonly deps: FeedDeps,
    private readonly view: ShardView,
  ) {}

  /** Subscribes, resyncs from the Store, then folds in what arrived meanwhile. Returns the trees loaded. */
  async start(): Promise<number> {
    this.active = true;
    this.buffer = [];
    const { bus, cell, serviceEvents } = this.deps;
    this.subs.push(await bus.subscribe(treeEventWildcard(cell), (m) => this.onEvent(m.data)));
    if (serviceEvents) {
      this.subs.push(
        await bus.subscribe(serviceEvents.subject, (m) => {
          const t = serviceEvents.parse(m.data);
          if (t && this.active) this.view.setHostUp(t.host, t.up);
        }),
      );
    }
    const loaded = await this.resyncAll();
    if (this.active) serviceEvents?.askReplay?.();
    return loaded;
  }

  /**
   * Clears the view and reads the partition again from the Store, holding the events that arrive
   * meanwhile (as on takeover). Calls run one after the other. Returns the trees loaded.
   */
  resyncAll(): Promise<number> {
    const run = (this.resyncing ?? Promise.resolve(0)).catch(() => 0).then(() => this.fullResync());
    this.resyncing = run;
    return run;
  }

  private async fullResync(): Promise<number> {
    if (!this.active) return 0;
    this.buffer ??= [];
    try {
      return await this.resync();
    } finally {
      const held = this.buffer ?? [];
      this.buffer = undefined;
      for (const ev of held) this.apply(ev, false);
      if (this.overflowed) this.deps.report('eventsDropped', { limit: MAX_BUFFERED_EVENTS });
      this.overflowed = false;
    }
  }

  /** Stops feeding at once (no event is applied after this returns); unsubscribes. */
  async stop(): Promise<void> {
    this.active = false;
    const subs = this.subs.splice(0);
    await Promise.all(subs.map((s) => s.unsubscribe().catch(() => {})));
  }

  private async resync(): Promise<number> {
    const { store, shard, shardCount } = this.deps;
    const records = treeRecords(store);
    this.view.clear();
    let after: string | undefined;
    let loaded = 0;
    do {
      const page = await store.list(TREE_INDEX, { limit: RESYNC_PAGE_SIZE, ...(after ? { after } : {}) });
      const mine = page.members.filter((root) => shardOf(root, shardCount) === shard);
      const found = mine.length === 0 ? [] : await records.getMany(mine);
      if (!this.active) return loaded;
      for (const r of found) {
        if (!r) continue;
        this.view.putTree(treeFromRecord(r.value, r.generation));
        loaded++;
      }
      after = page.next;
    } while (after !== undefined);
    return loaded;
  }

  private onEvent(data: Uint8Array): void {
    if (!this.active) return;
    let ev: TreeChanged;
    try {
      ev = decode(treeChanged, data);
    } catch (err) {
      this.deps.report('badEvent', { error: String(err) });
      return;
    }
    if (shardOf(ev.root, this.deps.shardCount) !== this.deps.shard) return;
    if (this.buffer) {
      if (this.buffer.length < MAX_BUFFERED_EVENTS) this.buffer.push(ev);
      else this.overflowed = true;
      return;
    }
    this.apply(ev);
  }

  /** `live`: straight from the bus (not held during a resync, where older events are expected). */
  private apply(ev: TreeChanged, live = true): void {
    const pending = this.reloading.get(ev.root);
    if (pending !== undefined) {
      this.reloading.set(ev.root, Math.max(pending, ev.version));
      return;
    }
    const known = this.view.trees.get(ev.root)?.version;
    const out = this.view.apply(ev);
    const back = out.kind === 'stale' && live && known !== undefined && ev.version < known;
    if (out.kind === 'gap' || back) {
      this.reloading.set(ev.root, ev.version);
      void this.reload(ev.root, back);
    }
  }

  /**
   * Re-reads one tree until the Store has caught up with the newest version its events named.
   * `back`: an event older than the view arrived — the Store may have lost the tree's newer
   * versions, so a record behind the view replaces it, and a missing one removes it.
   */
  private async reload(root: string, back = false): Promise<void> {
    const records = treeRecords(this.deps.store);
    try {
      for (let attempt = 1; attempt <= MAX_TREE_RELOADS && this.active; attempt++) {
        const r = await records.get(root);
        if (!this.active) return;
        const known = this.view.trees.get(root)?.version ?? 0;
        if (r && (r.generation > known || (back && r.generation < known))) {
          if (r.generation < known) this.lost('treeWentBack', { root, from: known, to: r.generation });
          this.view.putTree(treeFromRecord(r.value, r.generation));
        } else if (!r && back && this.view.removeTree(root))
          this.lost('treeVanished', { root, version: known });
        back = false;
        if ((r?.generation ?? 0) >= (this.reloading.get(root) ?? 0)) return;
      }
      this.deps.report('reloadBehind', { root });
    } catch (err) {
      this.deps.report('reloadFailed', { root, error: String(err) });
    } finally {
      this.reloading.delete(root);
    }
  }

  private lost(what: keyof ShardFeed['losses'], details: Record<string, unknown>): void {
    const n = ++this.losses[what];
    if (/^10*$/.test(String(n)))
      this.deps.report(what, { ...details, count: n, note: 'the cell store lost this tree; re-read' });
  }
}
