/**
 * The cell conductor role: run as N replicas per cell, ONE leads (election `conductor.<cell>`).
 * The leader consumes the cell's durable operations queue (cells/conductor-jobs.ts) and runs each
 * job with ConductorOps (ops.ts):
 * - jobs of one instance run one at a time, in the order they were handed out;
 * - while a job runs its ack-wait is renewed (`working()` every third of it), so only a dead
 *   leader's jobs are redelivered — to the next leader, which resumes from the instance record;
 * - a job that throws a retryable error is handed back with a growing delay (JOB_RETRY_BASE_MS …
 *   JOB_RETRY_MAX_MS, 0.5 s … 10 s);
 *   one that throws anything else is a bug or a corrupt job: a build is turned to ERROR with the
 *   message, and the job is dropped (reported as `problem`).
 * Leadership lost: the consumer stops at once (jobs in hand finish; CAS on the instance records
 * keeps a late write from overwriting the new leader's).
 * While leading it also runs the build watch (build-watch.ts): at takeover and then
 * periodically, a build no job drives any more is queued again, and one past the build timeout
 * ends ERROR. Every redelivery, retry, give-up, kick and expiry is reported (`onRoleEvent`) with
 * the job's operation and instance, for the role's log.
 *
 * `onLead`/`onStepDown` let the deployment hang other single-owner work on the same leadership:
 * deploy/cell-roles.ts hosts the cell's provider-tree actors there (an actor kind must be served
 * by one process at a time).
 */

import {
  DEFAULT_LEADER_LEASE_TTL_MS,
  type LeaderEvent,
  LeaderLoop,
} from '../../actors/runtime/leader-loop.ts';
import { decode, encode } from '../../core/codec/envelope.ts';
import { CellplaneError, toCellplaneError } from '../../core/errors.ts';
import type { Bus, Consumer, Job, WorkQueue } from '../../core/ports/bus.ts';
import type { Clock, TimerHandle } from '../../core/ports/clock.ts';
import type { Coordinator, Leadership } from '../../core/ports/coordinator.ts';
import { buildJob, type ConductorJob, conductorJob, opsQueueName } from '../conductor-jobs.ts';
import { type BuildWatchEvent, watchBuilds } from './build-watch.ts';
import { type ConductorFence, isFenced, isFenceLost } from './fence.ts';
import {
  ACK_RENEWALS_PER_WAIT,
  BUILD_STALL_ACK_WAITS,
  BUILD_WATCH_PASSES_PER_STALL,
  DEFAULT_BUILD_STALL_MS,
  DEFAULT_BUILD_TIMEOUT_MS,
  DEFAULT_CONDUCTOR_IN_FLIGHT,
  DEFAULT_JOB_ACK_WAIT_MS,
  JOB_RETRY_BASE_MS,
  JOB_RETRY_MAX_DOUBLINGS,
  JOB_RETRY_MAX_MS,
  STUCK_JOB_AFTER_MS,
} from './limits.ts';
import { ConductorOps } from './ops.ts';
import type { ConductorDeps } from './ports.ts';

export type ConductorRoleEvent =
  | LeaderEvent
  | BuildWatchEvent
  | { readonly type: 'serving' }
  /** A job delivered again: its conductor died, or its ack-wait ran out, or it was handed back. */
  | { readonly type: 'redelivered'; readonly job: string; readonly delivery: number }
  | { readonly type: 'retry'; readonly job: string; readonly delivery: number; readonly error: string }
  /** A write of this conductor was refused: another one took the lead (fence.ts). */
  | { readonly type: 'fenced'; readonly job: string; readonly error: string }
  /** A job that failed for good: a build ends ERROR with the error as its fault. */
  | { readonly type: 'gaveUp'; readonly job: string; readonly delivery: number; readonly error: string };

export interface CellConductorOptions extends ConductorDeps {
  readonly bus: Bus;
  readonly coordinator: Coordinator;
  readonly clock: Clock;
  readonly candidateId: string;
  readonly leaseTtlMs?: number;
  readonly ackWaitMs?: number;
  readonly maxInFlight?: number;
  /**
   * Taken at every takeover, before the first job (fence.ts); the same fence
   * must guard `instances`' writes. Absent: writes are not fenced (a single-replica test).
   */
  readonly fence?: ConductorFence;
  /** A build with no sign of life this long has its job queued again (must exceed the ack-wait). */
  readonly buildStallMs?: number;
  /** A build still in BUILD this long after it was accepted ends ERROR. */
  readonly buildTimeoutMs?: number;
  /** Must not throw. */
  readonly onRoleEvent?: (e: ConductorRoleEvent) => void;
  /** Takeover work that must be done before jobs are taken (e.g. hosting the tree actors). */
  readonly onLead?: () => Promise<void>;
  /** Undoes onLead when leadership ends. Must not throw. */
  readonly onStepDown?: () => Promise<void>;
}

export function conductorElectionName(cell: string): string {
  return `conductor.${cell}`;
}

export class CellConductor {
  readonly ops: ConductorOps;
  private readonly loop: LeaderLoop;
  private readonly ackWaitMs: number;
  private readonly buildStallMs: number;
  private readonly buildTimeoutMs: number;
  private consumer: Consumer | undefined;
  private queue: WorkQueue | undefined;
  private leading = false;
  /** Per instance: the tail of its chain of jobs. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Per instance: when a job of it was last delivered or retried here (for the build watch). */
  private readonly seen = new Map<string, number>();
  private watchTimer: TimerHandle | undefined;
  private watching: Promise<void> | undefined;
  private inFlight = 0;

  constructor(private readonly opts: CellConductorOptions) {
    this.ops = new ConductorOps(opts);
    this.ackWaitMs = opts.ackWaitMs ?? DEFAULT_JOB_ACK_WAIT_MS;
    this.buildStallMs =
      opts.buildStallMs ?? Math.max(DEFAULT_BUILD_STALL_MS, BUILD_STALL_ACK_WAITS * this.ackWaitMs);
    this.buildTimeoutMs = opts.buildTimeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS;
    if (this.buildStallMs <= this.ackWaitMs)
      throw new CellplaneError(
        'invalid',
        `buildStallMs (${this.buildStallMs}) must exceed ackWaitMs (${this.ackWaitMs}): a job held by a dead conductor comes back only after the ack-wait`,
      );
    if (this.buildTimeoutMs <= this.buildStallMs)
      throw new CellplaneError(
        'invalid',
        `buildTimeoutMs (${this.buildTimeoutMs}) must exceed buildStallMs (${this.buildStallMs})`,
      );
    this.loop = new LeaderLoop({
      coordinator: opts.coordinator,
      election: conductorElectionName(opts.cell),
      candidateId: opts.candidateId,
      ttlMs: opts.leaseTtlMs ?? DEFAULT_LEADER_LEASE_TTL_MS,
      lead: (l) => this.lead(l),
      stepDown: () => this.stepDown(),
      onEvent: (e) => this.emit(e),
      sleep: (ms) => opts.clock.sleep(ms),
    });
  }

  /** True while this replica leads and takes jobs. */
  get serving(): boolean {
    return this.leading;
  }

  /** Jobs being worked on now. */
  get busy(): number {
    return this.inFlight;
  }

  /** True while a job of instance `uuid` is in hand (running, or queued behind another of it). */
  holds(uuid: string): boolean {
    return this.chains.has(uuid);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async lead(l: Leadership): Promise<boolean> {
    const queue = await this.opts.bus.workQueue(opsQueueName(this.opts.cell), { ackWaitMs: this.ackWaitMs });
    this.queue = queue;
    if (l.lost) return true;
    // Before any job: from here on, every write of an earlier leader fails its fence check.
    await this.opts.fence?.take();
    if (l.lost) return true;
    l.onLost(() => {
      this.leading = false;
    });
    await this.opts.onLead?.();
    if (l.lost) return true;
    this.consumer = await queue.consume((job) => this.onJob(job), {
      maxInFlight: this.opts.maxInFlight ?? DEFAULT_CONDUCTOR_IN_FLIGHT,
      onProblem: (err) => this.loop.problem('consumerResumed', err),
    });
    this.leading = !l.lost;
    if (this.leading) {
      this.emit({ type: 'serving' });
      this.watchSoon(0); // builds a dead leader left without a job: found at takeover
    }
    return true;
  }

  private async stepDown(): Promise<void> {
    this.leading = false;
    if (this.watchTimer) this.opts.clock.clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
    await this.watching;
    const c = this.consumer;
    this.consumer = undefined;
    await c?.stop().catch(() => {});
    await this.opts.onStepDown?.().catch(() => {});
  }

  private async onJob(job: Job): Promise<void> {
    let body: ConductorJob;
    try {
      body = decode(conductorJob, job.data);
    } catch (err) {
      this.loop.problem('invalidJob', err);
      await job.term();
      return;
    }
    this.seen.set(body.uuid, this.opts.clock.now());
    if (job.deliveryCount > 1)
      this.emit({ type: 'redelivered', job: `${body.op} ${body.uuid}`, delivery: job.deliveryCount });
    // Renewed from the moment the job is in hand: also while it waits behind an earlier job of
    // the same instance, or it would be redelivered as if this conductor had died.
    let renew: ReturnType<Clock['setTimeout']> | undefined;
    const since = this.opts.clock.now();
    let reported = false;
    const keepAlive = () => {
      renew = this.opts.clock.setTimeout(
        () => {
          job.working().catch(() => {});
          if (!reported && this.opts.clock.now() - since >= STUCK_JOB_AFTER_MS) {
            reported = true;
            this.loop.problem(
              'jobStuck',
              new Error(
                `${body.op} ${body.uuid} (delivery ${job.deliveryCount}) has been running for ${Math.round((this.opts.clock.now() - since) / 1000)} s`,
              ),
            );
          }
          keepAlive();
        },
        Math.max(1, Math.floor(this.ackWaitMs / ACK_RENEWALS_PER_WAIT)),
      );
    };
    keepAlive();
    try {
      await this.exclusive(body.uuid, () => this.runJob(job, body));
    } finally {
      if (renew) this.opts.clock.clearTimeout(renew);
    }
  }

  /** Runs `fn` after every job of the instance handed out before it, one at a time. */
  private async exclusive(uuid: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(uuid) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.catch(() => {});
    this.chains.set(uuid, tail);
    try {
      await run;
    } finally {
      if (this.chains.get(uuid) === tail) this.chains.delete(uuid);
    }
  }

  /** The next build watch pass in `delayMs` (every quarter of the stall bound). */
  private watchSoon(delayMs: number): void {
    if (this.watchTimer) this.opts.clock.clearTimeout(this.watchTimer);
    this.watchTimer = this.opts.clock.setTimeout(() => {
      this.watchTimer = undefined;
      if (!this.leading) return;
      this.watching = this.watchOnce().finally(() => {
        this.watching = undefined;
        if (this.leading)
          this.watchSoon(Math.max(1, Math.floor(this.buildStallMs / BUILD_WATCH_PASSES_PER_STALL)));
      });
    }, delayMs);
  }

  private async watchOnce(): Promise<void> {
    const now = this.opts.clock.now();
    for (const [uuid, at] of this.seen) if (now - at >= this.buildStallMs) this.seen.delete(uuid);
    try {
      await watchBuilds({
        instances: this.opts.instances,
        clock: this.opts.clock,
        stallMs: this.buildStallMs,
        timeoutMs: this.buildTimeoutMs,
        inHand: (uuid) => this.chains.has(uuid),
        lastSeen: (uuid) => this.seen.get(uuid),
        kick: async (rec) => {
          await this.queue!.enqueue(encode(conductorJob, buildJob(rec.value)));
        },
        expire: (uuid, reason) =>
          this.exclusive(uuid, async () => {
            const rec = await this.opts.instances.get(uuid);
            if (rec?.value.status === 'BUILD') await this.ops.abandon(buildJob(rec.value), reason);
          }),
        onEvent: (e) => this.emit(e),
      });
    } catch (err) {
      this.loop.problem('buildWatchFailed', err); // the next pass tries again
    }
  }

  private async runJob(job: Job, body: ConductorJob): Promise<void> {
    this.inFlight++;
    try {
      await this.ops.run(body);
      await job.ack();
    } catch (err) {
      const e = toCellplaneError(err);
      if (isFenced(e)) this.emit({ type: 'fenced', job: `${body.op} ${body.uuid}`, error: e.message });
      // The store lost the fence with its data: the leader takes it again; the job comes back.
      if (isFenceLost(e) && this.leading) await this.opts.fence?.take().catch(() => {});
      if (e.retryable && this.leading) {
        const delay = Math.min(
          JOB_RETRY_MAX_MS,
          JOB_RETRY_BASE_MS * 2 ** Math.min(JOB_RETRY_MAX_DOUBLINGS, job.deliveryCount - 1),
        );
        this.seen.set(body.uuid, this.opts.clock.now());
        this.emit({
          type: 'retry',
          job: `${body.op} ${body.uuid}`,
          delivery: job.deliveryCount,
          error: e.message,
        });
        await job.nak(delay).catch(() => {});
        return;
      }
      if (!this.leading) return; // lost leadership meanwhile: the job is the next leader's
      this.emit({
        type: 'gaveUp',
        job: `${body.op} ${body.uuid}`,
        delivery: job.deliveryCount,
        error: `${e.code}: ${e.message}`,
      });
      await this.ops
        .abandon(body, `${e.code}: ${e.message}`)
        .catch((x) => this.loop.problem('abandonFailed', x));
      await job.term().catch(() => {});
    } finally {
      this.inFlight--;
    }
  }

  private emit(e: ConductorRoleEvent): void {
    try {
      this.opts.onRoleEvent?.(e);
    } catch {
      // Contract: listeners must not throw.
    }
  }
}
