/**
 * Work queue on JetStream: a file-backed stream with WorkQueue retention (on the bus's
 * streamReplicas servers) plus one durable pull consumer (explicit ack, ack_wait = ackWaitMs,
 * max_deliver) that every process of the queue shares. Opening is idempotent: same config =
 * no-op; a changed ack-wait/max-deliver updates the consumer (the last opener wins, as in the
 * memory adapter).
 *
 * maxInFlight: `consume()` pulls at most maxInFlight messages ahead, and a slot semaphore
 * keeps unsettled jobs per consumer <= maxInFlight. A slot frees on ack/nak/term or when the
 * job's ack-wait runs out (the server then redelivers it, as it would after a crash).
 * maxDeliver: a failed last delivery is terminated so it leaves the stream; one that simply
 * times out on its last delivery is deleted when the server's MAX_DELIVERIES advisory comes.
 * A delivery the client library ends on its own (a terminal pull error; the consumer or the whole
 * stream deleted under it, as when JetStream lost its store) is opened again after
 * CONSUME_RESUME_MS, re-creating stream and consumer, and reported (`onProblem`): a conductor
 * whose consumer died silently would lead a cell and take no job.
 */
import {
  AckPolicy,
  type ConsumerMessages,
  DiscardPolicy,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { CellplaneError } from '../../errors.ts';
import type { ConsumeOptions, Consumer, Job, WorkQueue, WorkQueueOptions } from '../../ports/bus.ts';
import { checkInt } from '../memory/bus-checks.ts';
import {
  DUPLICATE_WINDOW_MS,
  ensureStream,
  mapNatsError,
  msToNanos,
  type NatsBusContext,
  WORK_QUEUE_CONSUMER,
  WORK_QUEUE_MAX_ACK_PENDING,
  WORK_QUEUE_MAX_JOBS,
  WORK_QUEUE_PULL_EXPIRES_MS,
} from './bus-support.ts';
import { Slots } from './slots.ts';

/**
 * A JetStream publish nobody answered: no stream takes the subject (the client reports it as
 * "jetstream is not enabled", caused by a no-responders request error).
 */
function noStreamAnswered(err: unknown): boolean {
  const noResponders = (e: unknown) => e instanceof errors.RequestError && e.isNoResponders();
  return noResponders(err) || (err instanceof Error && noResponders(err.cause));
}

/** Pause before a consumer whose delivery ended on its own is opened again. */
export const CONSUME_RESUME_MS = 1_000;

export async function openWorkQueue(
  bus: NatsBusContext,
  name: string,
  opts: WorkQueueOptions,
): Promise<WorkQueue> {
  checkInt(opts.ackWaitMs, 1, 'ackWaitMs');
  checkInt(opts.maxDeliver ?? 0, 0, 'maxDeliver');
  await ensureWorkQueue(bus, name, opts);
  const { stream, subject } = bus.names.workQueue(name);
  return new NatsWorkQueue(bus, name, stream, subject, opts);
}

/** Creates (or updates) the queue's stream and its durable consumer; idempotent. */
async function ensureWorkQueue(bus: NatsBusContext, name: string, opts: WorkQueueOptions): Promise<void> {
  const { stream, subject } = bus.names.workQueue(name);
  const streamCfg = {
    name: stream,
    subjects: [subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_msgs: WORK_QUEUE_MAX_JOBS,
    max_bytes: bus.streamMaxBytes,
    duplicate_window: msToNanos(DUPLICATE_WINDOW_MS),
    num_replicas: bus.streamReplicas,
  };
  await ensureStream(bus, streamCfg, `opening work queue "${name}"`);
  try {
    // The consumer leaves num_replicas unset: it then has the stream's replicas (and follows a
    // stream scaled up later), so a server's loss takes neither the jobs nor their delivery state.
    await bus.jsm.consumers.add(stream, {
      durable_name: WORK_QUEUE_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      ack_wait: msToNanos(opts.ackWaitMs),
      max_deliver: opts.maxDeliver ? opts.maxDeliver : -1,
      max_ack_pending: WORK_QUEUE_MAX_ACK_PENDING,
    });
  } catch (err) {
    throw mapNatsError(err, `opening work queue "${name}"`);
  }
}

class NatsWorkQueue implements WorkQueue {
  constructor(
    private readonly bus: NatsBusContext,
    readonly name: string,
    private readonly stream: string,
    private readonly subject: string,
    private readonly opts: WorkQueueOptions,
  ) {}

  async enqueue(
    data: Uint8Array,
    opts: { msgId?: string } = {},
  ): Promise<{ seq: number; duplicate: boolean }> {
    this.bus.assertOpen();
    const publish = () => this.bus.js.publish(this.subject, data, opts.msgId ? { msgID: opts.msgId } : {});
    try {
      const ack = await publish().catch(async (err) => {
        // No stream answers the subject: JetStream lost it (a server restarted without its
        // store). Re-create it once and publish again; the job is not lost on the way.
        if (!noStreamAnswered(err)) throw err;
        await ensureWorkQueue(this.bus, this.name, this.opts);
        return publish();
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      throw mapNatsError(err, `enqueue on "${this.name}"`);
    }
  }

  async depth(): Promise<number> {
    this.bus.assertOpen();
    try {
      const info = await this.bus.jsm.consumers.info(this.stream, WORK_QUEUE_CONSUMER);
      return info.num_pending + info.num_ack_pending;
    } catch (err) {
      throw mapNatsError(err, `depth of "${this.name}"`);
    }
  }

  async consume(handler: (job: Job) => Promise<void>, opts: ConsumeOptions): Promise<Consumer> {
    this.bus.assertOpen();
    checkInt(opts.maxInFlight, 1, 'maxInFlight');
    let messages = await this.openDelivery(opts.maxInFlight);
    const advisory = this.bus.nc.subscribe(
      `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${this.stream}.${WORK_QUEUE_CONSUMER}`,
      { callback: (err, msg) => void (err || this.dropDead(msg.json<{ stream_seq?: number }>().stream_seq)) },
    );
    const slots = new Slots(opts.maxInFlight);
    let stopped = false;
    let resume: NodeJS.Timeout | undefined;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      unregister();
      clearTimeout(resume);
      advisory.unsubscribe();
      slots.cancel();
      await messages.close().catch(() => {});
    };
    const unregister = this.bus.onClose(stop);
    const pump = async (): Promise<void> => {
      try {
        for await (const m of messages) {
          const waited = await slots.acquire();
          if (stopped || waited === undefined) return; // unsettled buffered jobs come back after ack-wait
          if (waited) m.working();
          this.run(m, handler, slots);
        }
      } catch (err) {
        if (!stopped) report(err);
      }
      if (stopped || this.bus.nc.isClosed()) return;
      report(new CellplaneError('unavailable', `the delivery of work queue "${this.name}" ended; resuming`));
      resume = setTimeout(() => void reopen(), CONSUME_RESUME_MS);
    };
    const reopen = async (): Promise<void> => {
      if (stopped || this.bus.nc.isClosed()) return;
      try {
        await ensureWorkQueue(this.bus, this.name, this.opts); // the consumer or stream may be gone
        messages = await this.openDelivery(opts.maxInFlight);
      } catch (err) {
        report(err);
        resume = setTimeout(() => void reopen(), CONSUME_RESUME_MS);
        return;
      }
      if (stopped) await messages.close().catch(() => {});
      else void pump();
    };
    const report = (err: unknown) => {
      try {
        opts.onProblem?.(err instanceof Error ? err : new Error(String(err)));
      } catch {
        // Contract: must not throw.
      }
    };
    void pump();
    return { stop };
  }

  private async openDelivery(maxInFlight: number): Promise<ConsumerMessages> {
    try {
      const consumer = await this.bus.js.consumers.get(this.stream, WORK_QUEUE_CONSUMER);
      // A missing consumer or stream ends the delivery (rather than waiting in silence for
      // someone to re-create it): consume() then re-creates both and resumes.
      return await consumer.consume({
        max_messages: maxInFlight,
        expires: WORK_QUEUE_PULL_EXPIRES_MS,
        abort_on_missing_resource: true,
      });
    } catch (err) {
      throw mapNatsError(err, `consume from "${this.name}"`);
    }
  }

  private dropDead(seq: number | undefined): void {
    if (seq === undefined) return;
    this.bus.jsm.streams.deleteMessage(this.stream, seq, false).catch(() => {});
  }

  private run(m: JsMsg, handler: (job: Job) => Promise<void>, slots: Slots): void {
    const maxDeliver = this.opts.maxDeliver ?? 0;
    const last = maxDeliver > 0 && m.info.deliveryCount >= maxDeliver;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(settle, this.opts.ackWaitMs);
      timer.unref();
    };
    function settle(): boolean {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      slots.release();
      return true;
    }
    const guard = (what: string) => {
      if (this.bus.nc.isClosed()) throw new CellplaneError('closed', `cannot ${what}: the bus is closed`);
    };
    const job: Job = {
      data: m.data,
      seq: m.seq,
      deliveryCount: m.info.deliveryCount,
      ack: async () => {
        guard('ack');
        settle();
        await m.ackAck().catch((err) => Promise.reject(mapNatsError(err, `ack of job ${m.seq}`)));
      },
      term: async () => {
        guard('term');
        settle();
        m.term();
        await this.bus.nc.flush().catch(() => {});
      },
      nak: async (delayMs?: number) => {
        guard('nak');
        if (!settle()) return;
        if (last) m.term();
        else m.nak(delayMs);
      },
      working: async () => {
        guard('report progress on');
        if (settled) return;
        arm();
        m.working();
      },
    };
    arm();
    void (async () => {
      try {
        await handler(job);
      } catch {
        await job.nak().catch(() => {});
      }
    })();
  }
}
