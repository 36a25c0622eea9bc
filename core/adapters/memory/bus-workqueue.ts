/**
 * In-process durable work queue with JetStream work-queue semantics: a job goes to one
 * consumer at a time, stays until acked or terminated, and is delivered again (deliveryCount
 * + 1, to any consumer) after `nak` or when not acked within `ackWaitMs`. `maxDeliver`
 * deliveries at most; `msgId` de-duplicates within DUPLICATE_WINDOW_MS. Ready jobs go out in
 * seq order (so redeliveries overtake newer jobs), round-robin over consumers with room.
 */

import { copyBytes } from '../../codec/bytes.ts';
import { CellplaneError } from '../../errors.ts';
import type { ConsumeOptions, Consumer, Job, WorkQueue, WorkQueueOptions } from '../../ports/bus.ts';
import type { Clock, TimerHandle } from '../../ports/clock.ts';

/** What a queue needs of the connection its handles belong to (MemoryBus is one). */
interface QueueConnection {
  /** Throws `closed` once the connection is closed. */
  assertOpen(): void;
  /** Registers a consumer to stop when the connection closes; returns the unregister. */
  onClose(fn: () => Promise<void>): () => void;
}

/** Same as JetStream's default duplicate window. */
export const DUPLICATE_WINDOW_MS = 120_000;
/** Jobs a queue holds at most; enqueue beyond it fails `overloaded` (JetStream: discard new). */
export const MAX_QUEUE_JOBS = 1_000_000;

interface JobState {
  readonly seq: number;
  readonly data: Uint8Array;
  deliveries: number;
  /** Bumped on every delivery: nak/working/ack-wait of an older delivery are ignored. */
  token: number;
  owner: ConsumerState | undefined;
  timer: TimerHandle | undefined;
}

interface ConsumerState {
  readonly handler: (job: Job) => Promise<void>;
  readonly maxInFlight: number;
  readonly bus: QueueConnection;
  inFlight: number;
  stopped: boolean;
}

export function validateQueueOptions(opts: WorkQueueOptions): void {
  if (!Number.isInteger(opts.ackWaitMs) || opts.ackWaitMs <= 0)
    throw new CellplaneError('invalid', `ackWaitMs must be a positive integer, got ${opts.ackWaitMs}`);
  const md = opts.maxDeliver ?? 0;
  if (!Number.isInteger(md) || md < 0)
    throw new CellplaneError('invalid', `maxDeliver must be an integer >= 0, got ${opts.maxDeliver}`);
}

export class QueueCore {
  private opts: Required<WorkQueueOptions>;
  private nextSeq = 1;
  private readonly jobs = new Map<number, JobState>();
  /** Seqs ready for delivery, ascending. */
  private readonly ready: number[] = [];
  private readonly consumers: ConsumerState[] = [];
  private readonly msgIds = new Map<string, { seq: number; atMs: number }>();
  private rr = 0;
  private dispatchScheduled = false;

  constructor(
    readonly name: string,
    opts: WorkQueueOptions,
    private readonly clock: Clock,
  ) {
    this.opts = { maxDeliver: 0, ...opts };
  }

  /** A later opener's options win (as a JetStream consumer update would). */
  reconfigure(opts: WorkQueueOptions): void {
    this.opts = { maxDeliver: 0, ...opts };
  }

  get depth(): number {
    return this.jobs.size;
  }

  enqueue(data: Uint8Array, msgId: string | undefined): { seq: number; duplicate: boolean } {
    const now = this.clock.now();
    if (msgId !== undefined) {
      const seen = this.msgIds.get(msgId);
      if (seen && now - seen.atMs < DUPLICATE_WINDOW_MS) return { seq: seen.seq, duplicate: true };
      this.pruneMsgIds(now);
    }
    if (this.jobs.size >= MAX_QUEUE_JOBS)
      throw new CellplaneError('overloaded', `work queue "${this.name}" holds ${MAX_QUEUE_JOBS} jobs`);
    const seq = this.nextSeq++;
    if (msgId !== undefined) this.msgIds.set(msgId, { seq, atMs: now });
    this.jobs.set(seq, { seq, data, deliveries: 0, token: 0, owner: undefined, timer: undefined });
    this.ready.push(seq);
    this.scheduleDispatch();
    return { seq, duplicate: false };
  }

  addConsumer(c: ConsumerState): void {
    this.consumers.push(c);
    this.scheduleDispatch();
  }

  removeConsumer(c: ConsumerState): void {
    c.stopped = true;
    const i = this.consumers.indexOf(c);
    if (i >= 0) this.consumers.splice(i, 1);
  }

  /** ack and term: the job is gone for good (an ack from any delivery of it counts, as in JetStream). */
  finish(seq: number): void {
    const job = this.jobs.get(seq);
    if (!job) return;
    this.release(job);
    this.jobs.delete(seq);
  }

  /** Gives the job back (nak, ack-wait expiry) unless that was its last allowed delivery. */
  giveBack(seq: number, token: number, delayMs: number): void {
    const job = this.jobs.get(seq);
    if (!job || job.token !== token || !job.owner) return;
    this.release(job);
    if (this.opts.maxDeliver > 0 && job.deliveries >= this.opts.maxDeliver) {
      this.jobs.delete(seq);
      return;
    }
    if (delayMs > 0) {
      job.timer = this.clock.setTimeout(() => {
        job.timer = undefined;
        if (this.jobs.get(seq) === job) this.makeReady(seq);
      }, delayMs);
    } else this.makeReady(seq);
  }

  /** Restarts the ack-wait timer of the current delivery. */
  touch(seq: number, token: number): void {
    const job = this.jobs.get(seq);
    if (!job || job.token !== token || !job.owner) return;
    if (job.timer) this.clock.clearTimeout(job.timer);
    job.timer = this.clock.setTimeout(() => this.giveBack(seq, token, 0), this.opts.ackWaitMs);
  }

  private release(job: JobState): void {
    if (job.timer) this.clock.clearTimeout(job.timer);
    job.timer = undefined;
    if (job.owner) {
      job.owner.inFlight--;
      job.owner = undefined;
      this.scheduleDispatch();
    }
  }

  private makeReady(seq: number): void {
    let lo = 0;
    let hi = this.ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ready[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    this.ready.splice(lo, 0, seq);
    this.scheduleDispatch();
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.ready.length > 0) {
      const c = this.nextConsumer();
      if (!c) return;
      const seq = this.ready.shift()!;
      const job = this.jobs.get(seq);
      if (job) this.deliver(job, c);
    }
  }

  private nextConsumer(): ConsumerState | undefined {
    const n = this.consumers.length;
    for (let i = 0; i < n; i++) {
      const c = this.consumers[(this.rr + i) % n]!;
      if (!c.stopped && c.inFlight < c.maxInFlight) {
        this.rr = (this.rr + i + 1) % n;
        return c;
      }
    }
    return undefined;
  }

  private deliver(job: JobState, c: ConsumerState): void {
    job.deliveries++;
    const token = ++job.token;
    job.owner = c;
    c.inFlight++;
    this.touch(job.seq, token);
    const handle = this.jobHandle(job, token, c.bus);
    void (async () => {
      try {
        await c.handler(handle);
      } catch {
        this.giveBack(job.seq, token, 0);
      }
    })();
  }

  private jobHandle(job: JobState, token: number, bus: QueueConnection): Job {
    const seq = job.seq;
    const guarded =
      (fn: (arg?: number) => void) =>
      async (arg?: number): Promise<void> => {
        bus.assertOpen();
        fn(arg);
      };
    return {
      data: job.data,
      seq,
      deliveryCount: job.deliveries,
      ack: guarded(() => this.finish(seq)),
      term: guarded(() => this.finish(seq)),
      nak: guarded((delayMs) => this.giveBack(seq, token, delayMs ?? 0)),
      working: guarded(() => this.touch(seq, token)),
    };
  }

  private pruneMsgIds(now: number): void {
    for (const [id, v] of this.msgIds) {
      if (now - v.atMs < DUPLICATE_WINDOW_MS) break; // insertion order = time order
      this.msgIds.delete(id);
    }
  }
}

/** One connection's handle on a shared queue. */
export class MemoryWorkQueue implements WorkQueue {
  constructor(
    private readonly core: QueueCore,
    private readonly bus: QueueConnection,
  ) {}

  get name(): string {
    return this.core.name;
  }

  async enqueue(
    data: Uint8Array,
    opts: { msgId?: string } = {},
  ): Promise<{ seq: number; duplicate: boolean }> {
    this.bus.assertOpen();
    return this.core.enqueue(copyBytes(data), opts.msgId);
  }

  async consume(handler: (job: Job) => Promise<void>, opts: ConsumeOptions): Promise<Consumer> {
    this.bus.assertOpen();
    if (!Number.isInteger(opts.maxInFlight) || opts.maxInFlight < 1)
      throw new CellplaneError('invalid', `maxInFlight must be a positive integer, got ${opts.maxInFlight}`);
    const state: ConsumerState = {
      handler,
      maxInFlight: opts.maxInFlight,
      bus: this.bus,
      inFlight: 0,
      stopped: false,
    };
    const stop = async () => {
      this.core.removeConsumer(state);
      unregister();
    };
    const unregister = this.bus.onClose(stop);
    this.core.addConsumer(state);
    return { stop };
  }

  async depth(): Promise<number> {
    this.bus.assertOpen();
    return this.core.depth;
  }
}
