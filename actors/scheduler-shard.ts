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
import { decode } from '../core/codec/envelope.ts';
import { CellplaneError, toCellplaneError } from '../core/errors.ts';
import type { Bus, BusMessage, Subscription } from '../core/ports/bus.ts';
import type { Coordinator, Leadership } from '../core/ports/coordinator.ts';
import type { Store } from '../core/ports/store.ts';
import { DEFAULT_PROFILE_SPEC, type ProfileSpec } from '../core/scheduler/profile.ts';
import { type ActorAddress, actorSubject } from './runtime/address.ts';
import { encodeFailure, encodeResult } from './runtime/protocol.ts';
import { type ServiceEvents, ShardFeed } from './scheduler-shard-feed.ts';
import { SCHEDULER_SHARD_KIND, selectHosts } from './scheduler-shard-messages.ts';
import { checkShard } from './scheduler-shard-partition.ts';
import { ShardSelector } from './scheduler-shard-select.ts';
import { type AggregateSource, ShardView } from './scheduler-shard-view.ts';

/** Default lease TTL of a shard leader: a dead leader is replaced after about this long. */
export const DEFAULT_SHARD_LEASE_TTL_MS = 5_000;
/** Pause before campaigning again after a campaign failed (coordinator unreachable). */
export const CAMPAIGN_RETRY_MS = 1_000;

export type ShardEvent =
  | { readonly type: 'campaigning' | 'elected' | 'lost' | 'stopped' }
  | { readonly type: 'serving'; readonly trees: number }
  | { readonly type: 'problem'; readonly what: string; readonly details: Record<string, unknown> };

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
  /** Waits between failed campaigns (defaults to real time). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export function shardAddress(shard: number): ActorAddress {
  return { kind: SCHEDULER_SHARD_KIND, id: String(shard) };
}

export function shardElectionName(cell: string, shard: number): string {
  return `sched.${cell}.${shard}`;
}

export class SchedulerShard {
  private readonly selector: ShardSelector;
  private readonly abort = new AbortController();
  private leadership: Leadership | undefined;
  /** The current term's view and subscriptions; undefined while not leading. */
  private term: { view: ShardView; feed: ShardFeed; sub?: Subscription; serving: boolean } | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: SchedulerShardOptions) {
    checkShard(opts.shard, opts.shardCount);
    this.selector = new ShardSelector(opts.profile ?? DEFAULT_PROFILE_SPEC, opts.shard);
  }

  /** True while this replica leads and answers selects. */
  get serving(): boolean {
    return this.term?.serving === true;
  }

  /** Starts campaigning (returns at once); the replica serves whenever it is elected. */
  start(): void {
    if (this.loop || this.stopped) return;
    this.loop = this.campaignLoop();
  }

  /** Resigns if leading (a standby takes over at once), stops campaigning. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort(new CellplaneError('closed', 'scheduler shard stopped'));
    await this.stepDown();
    await this.leadership?.resign().catch(() => {});
    await this.loop?.catch(() => {});
    this.emit({ type: 'stopped' });
  }

  private async campaignLoop(): Promise<void> {
    const { coordinator, cell, shard, candidateId } = this.opts;
    const election = coordinator.election(shardElectionName(cell, shard));
    const ttlMs = this.opts.leaseTtlMs ?? DEFAULT_SHARD_LEASE_TTL_MS;
    while (!this.stopped) {
      let l: Leadership;
      this.emit({ type: 'campaigning' });
      try {
        l = await election.campaign(candidateId, { ttlMs, signal: this.abort.signal });
      } catch (err) {
        if (this.stopped) return;
        this.problem('campaignFailed', err);
        await (this.opts.sleep ?? realSleep)(CAMPAIGN_RETRY_MS);
        continue;
      }
      this.leadership = l;
      // onLost is not called after resign(): stop() ends the wait through the abort signal.
      const ended = new Promise<void>((resolve) => {
        l.onLost(resolve);
        this.abort.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      this.emit({ type: 'elected' });
      const led = await this.lead(l);
      if (this.stopped) return;
      if (!led) {
        // Takeover failed (store or bus down) and was resigned: let a standby try first.
        this.emit({ type: 'lost' });
        await (this.opts.sleep ?? realSleep)(CAMPAIGN_RETRY_MS);
        continue;
      }
      await ended;
      await this.stepDown();
      if (!this.stopped) this.emit({ type: 'lost' });
    }
  }

  /** Takeover: feed first (subscribe + resync), then answer selects. False when it failed. */
  private async lead(l: Leadership): Promise<boolean> {
    const view = new ShardView(this.opts.aggregates);
    const report = (what: string, details: Record<string, unknown>) =>
      this.emit({ type: 'problem', what, details });
    const feed = new ShardFeed({ ...this.opts, report }, view);
    const term: NonNullable<SchedulerShard['term']> = { view, feed, serving: false };
    this.term = term;
    l.onLost(() => {
      term.serving = false; // stop answering at once; stepDown unsubscribes
    });
    try {
      const trees = await feed.start();
      if (l.lost || this.term !== term) return true;
      const subject = actorSubject(this.opts.cell, shardAddress(this.opts.shard));
      term.sub = await this.opts.bus.subscribe(subject, (m) => this.onSelect(term, m));
      if (l.lost || this.term !== term) return true;
      term.serving = true;
      this.emit({ type: 'serving', trees });
      return true;
    } catch (err) {
      // Could not take over (store or bus down): give the leadership to a standby.
      this.problem('takeoverFailed', err);
      await this.stepDown();
      await l.resign().catch(() => {});
      return false;
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

  private problem(what: string, err: unknown): void {
    this.emit({ type: 'problem', what, details: { error: toCellplaneError(err).message } });
  }

  private emit(e: ShardEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      // Contract: listeners must not throw.
    }
  }
}

function realSleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
