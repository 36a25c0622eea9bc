/**
 * The scheduler shard: one per (cell, shard of its hosts — see scheduler-shard-partition.ts),
 * run as N replicas of which ONE leads, elected through the Coordinator (election
 * `sched.<cell>.<shard>`; etcd election names cannot hold '/'). Only the leader:
 * - keeps the in-memory snapshot of its partition (ShardView): on takeover it subscribes to the
 *   tree events and host up/down transitions, resyncs every tree of its partition from the cell
 *   Store, then follows the events (ShardFeed);
 * - serves `selectHosts` on the shard's actor address `cp.<cell>.sched.<shard>`, an address that
 *   does not move with leadership: it subscribes once the resync is done and unsubscribes when
 *   leadership ends. Standbys hold no snapshot and do not subscribe, so while there is no leader
 *   a select gets `noResponders` — retryable: the caller retries (after about the lease TTL a
 *   standby has taken over).
 * Leadership lost (lease expired or revoked, keep-alive failed): the shard stops answering AT
 * ONCE — a select still delivered before the unsubscribe completes is answered `leaseLost`
 * (retryable), never from a snapshot it no longer owns — then drops its snapshot and campaigns
 * again as a standby.
 *
 * Why no piscina workers (measured, not assumed): `select()` on a `fromHosts()` snapshot of
 * 10,000 flat hosts (VCPU/MEMORY_MB/DISK_GB with usage, a third with a trait), default profile,
 * timed with process.hrtime around each call, 5,000 requests after 2,000 warm-up, on the shared
 * 2-vCPU machine: 1 instance p50 0.27 ms (p99 4.8 ms: GC and neighbours), 10 instances p50
 * 3.1 ms; 1,000 hosts: p50 0.04 ms. A piscina round trip costs 30–60 µs before any work, the
 * placements of one batch are sequential (each assumes the previous one), and a worker's copy
 * of the snapshot would have to follow every claim event. So scoring stays on this thread;
 * core/scheduler is pure, so a pool could later be put behind ShardSelector alone (worth it
 * only for very large batches, which block the event loop: 100 instances ≈ 45 ms).
 */
import { decode, encode } from '../core/codec/envelope.ts';
import { CellplaneError, toCellplaneError } from '../core/errors.ts';
import type { Bus, BusMessage, Subscription } from '../core/ports/bus.ts';
import type { Coordinator, Leadership } from '../core/ports/coordinator.ts';
import type { Store } from '../core/ports/store.ts';
import { summarizeCapacity } from '../core/scheduler/capacity-summary.ts';
import { DEFAULT_PROFILE_SPEC, type ProfileSpec } from '../core/scheduler/profile.ts';
import { type ActorAddress, actorSubject } from './runtime/address.ts';
import { DEFAULT_LEADER_LEASE_TTL_MS, type LeaderEvent, LeaderLoop } from './runtime/leader-loop.ts';
import { encodeFailure, encodeResult } from './runtime/protocol.ts';
import { type ServiceEvents, ShardFeed } from './scheduler-shard-feed.ts';
import {
  capacityReport,
  capacitySubject,
  SCHEDULER_SHARD_KIND,
  selectHosts,
} from './scheduler-shard-messages.ts';
import { checkShard } from './scheduler-shard-partition.ts';
import { ShardSelector } from './scheduler-shard-select.ts';
import { type AggregateSource, ShardView } from './scheduler-shard-view.ts';

export { CAMPAIGN_RETRY_MS } from './runtime/leader-loop.ts';

export type ShardEvent = LeaderEvent | { readonly type: 'serving'; readonly trees: number };

export interface SchedulerShardOptions {
  readonly bus: Bus;
  readonly coordinator: Coordinator;
  /** The cell's store (tree records and the `rp.trees` index). */
  readonly store: Store;
  readonly cell: string;
  readonly shard: number;
  readonly shardCount: number;
  /** Unique per replica (host name + pid, for example). */
  readonly candidateId: string;
  readonly leaseTtlMs?: number;
  readonly profile?: ProfileSpec;
  readonly aggregates?: AggregateSource;
  readonly serviceEvents?: ServiceEvents;
  /** Must not throw. */
  readonly onEvent?: (e: ShardEvent) => void;
  /** Waits between failed campaigns and capacity reports (defaults to real time). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Period of the capacity reports for the cell router (0: none). Default 2 s. */
  readonly capacityIntervalMs?: number;
  /** Time stamped on capacity reports; default Date.now. */
  readonly now?: () => number;
}

/** Default period of a shard leader's capacity report. */
export const DEFAULT_CAPACITY_INTERVAL_MS = 2_000;

export function shardAddress(shard: number): ActorAddress {
  return { kind: SCHEDULER_SHARD_KIND, id: String(shard) };
}

export function shardElectionName(cell: string, shard: number): string {
  return `sched.${cell}.${shard}`;
}

export class SchedulerShard {
  private readonly selector: ShardSelector;
  private readonly loop: LeaderLoop;
  private leadership: Leadership | undefined;
  /** The current term's view and subscriptions; undefined while not leading. */
  private term: { view: ShardView; feed: ShardFeed; sub?: Subscription; serving: boolean } | undefined;

  constructor(private readonly opts: SchedulerShardOptions) {
    checkShard(opts.shard, opts.shardCount);
    this.selector = new ShardSelector(opts.profile ?? DEFAULT_PROFILE_SPEC, opts.shard);
    this.loop = new LeaderLoop({
      coordinator: opts.coordinator,
      election: shardElectionName(opts.cell, opts.shard),
      candidateId: opts.candidateId,
      ttlMs: opts.leaseTtlMs ?? DEFAULT_LEADER_LEASE_TTL_MS,
      lead: (l) => this.lead(l),
      stepDown: () => this.stepDown(),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
      ...(opts.sleep ? { sleep: opts.sleep } : {}),
    });
  }

  /** True while this replica leads and answers selects. */
  get serving(): boolean {
    return this.term?.serving === true;
  }

  /** Starts campaigning (returns at once); the replica serves whenever it is elected. */
  start(): void {
    this.loop.start();
  }

  /**
   * While leading: clears the snapshot and reads the partition again from the Store (the cell
   * store lost its data, deploy/cell-roles.ts); selects go on meanwhile. Resolves with the trees
   * loaded, or undefined when this replica does not lead (a new leader reads the Store anyway).
   */
  async resync(): Promise<number | undefined> {
    const term = this.term;
    if (!term) return undefined;
    return term.feed.resyncAll();
  }

  /** Resigns if leading (a standby takes over at once), stops campaigning. Idempotent. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Takeover: feed first (subscribe + resync), then answer selects. Throws when it failed. */
  private async lead(l: Leadership): Promise<boolean> {
    this.leadership = l;
    const view = new ShardView(this.opts.aggregates);
    const report = (what: string, details: Record<string, unknown>) =>
      this.emit({ type: 'problem', what, details });
    const feed = new ShardFeed({ ...this.opts, report }, view);
    const term: NonNullable<SchedulerShard['term']> = { view, feed, serving: false };
    this.term = term;
    l.onLost(() => {
      term.serving = false; // stop answering at once; stepDown unsubscribes
    });
    const trees = await feed.start();
    if (l.lost || this.term !== term) return true;
    // The view is loaded: answer from the first message the subscription brings. (Marking the
    // term serving only after the subscribe resolved answered the selects arriving in between
    // "no longer the leader" — a new leader refusing as if it were the old one.)
    term.serving = true;
    const subject = actorSubject(this.opts.cell, shardAddress(this.opts.shard));
    term.sub = await this.opts.bus.subscribe(subject, (m) => this.onSelect(term, m));
    if (l.lost || this.term !== term) return true;
    this.emit({ type: 'serving', trees });
    void this.reportCapacity(term);
    return true;
  }

  /** While this term serves: publish the partition's capacity summary every interval. */
  private async reportCapacity(term: NonNullable<SchedulerShard['term']>): Promise<void> {
    const every = this.opts.capacityIntervalMs ?? DEFAULT_CAPACITY_INTERVAL_MS;
    if (every <= 0) return;
    const { cell, shard, bus } = this.opts;
    const sleep = this.opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    while (term.serving && this.term === term) {
      try {
        const summary = summarizeCapacity(term.view.current().snapshot);
        const atMs = (this.opts.now ?? Date.now)();
        bus.publish(capacitySubject(cell), encode(capacityReport, { ...summary, cell, shard, atMs }));
      } catch (err) {
        this.emit({
          type: 'problem',
          what: 'capacityReport',
          details: { error: toCellplaneError(err).message },
        });
      }
      await sleep(every);
    }
  }

  private async stepDown(): Promise<void> {
    const term = this.term;
    if (!term) return;
    term.serving = false;
    this.term = undefined;
    await term.sub?.unsubscribe().catch(() => {});
    await term.feed.stop();
  }

  private onSelect(term: NonNullable<SchedulerShard['term']>, msg: BusMessage): void {
    if (!msg.expectsReply) return;
    let reply: Uint8Array;
    if (!term.serving || this.leadership?.lost) {
      const e = new CellplaneError('leaseLost', `scheduler shard ${this.opts.shard} is no longer the leader`);
      reply = encodeFailure(e);
    } else {
      try {
        const req = decode(selectHosts.request, msg.data);
        reply = encodeResult(selectHosts.reply, this.selector.select(term.view, req));
      } catch (err) {
        reply = encodeFailure(toCellplaneError(err));
      }
    }
    try {
      msg.respond(reply);
    } catch {
      // The requester went away (timed out): nothing to do.
    }
  }

  private emit(e: ShardEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      // Contract: listeners must not throw.
    }
  }
}
