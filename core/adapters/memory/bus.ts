/**
 * The in-process Bus adapter: same semantics as NATS core + JetStream for everything in
 * core/ports/bus.ts (wildcards, queue groups, request/reply with `noResponders` reported at
 * once and `timeout` on the injected clock, durable work queues, event streams).
 *
 * Several `MemoryBus` connections may share one `MemoryBroker` (like processes sharing one
 * nats-server); `new MemoryBus()` alone gets a private broker. Time comes only from the
 * Clock, so the whole bus runs deterministically on a VirtualClock.
 */

import { copyBytes } from '../../codec/bytes.ts';
import { CellplaneError } from '../../errors.ts';
import type {
  Bus,
  BusMessage,
  EventStream,
  EventStreamOptions,
  MessageHandler,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  WorkQueue,
  WorkQueueOptions,
} from '../../ports/bus.ts';
import { tokensMatch } from '../../ports/bus.ts';
import type { Clock } from '../../ports/clock.ts';
import { systemClock } from '../system/clock.ts';
import { checkName, checkSubject, NAME } from './bus-checks.ts';
import { EventStreamCore, MemoryEventStream, validateStreamOptions } from './bus-eventstream.ts';
import { callDetached, Inbox } from './bus-inbox.ts';
import { MemoryWorkQueue, QueueCore, validateQueueOptions } from './bus-workqueue.ts';

interface Sub {
  readonly pattern: string;
  /** `pattern` split on '.', once. */
  readonly tokens: readonly string[];
  /** Subscription order on its broker (delivery order between subscriptions). */
  seq: number;
  readonly queue: string | undefined;
  readonly inbox: Inbox<BusMessage>;
  readonly owner: MemoryBus;
}

/**
 * Shared state of one in-process "server".
 *
 * Routing is indexed: a subscription whose first two tokens are literal (`cp.cell1.…`, the
 * common case) sits in the bucket of those two tokens; the others (a wildcard in the first two
 * tokens, or a one-token subject) in one loose list. A message is matched only against its
 * bucket and the loose list, in subscription order — with many cells on one broker (the
 * simulator: 10 cells, hundreds of subscriptions) a linear scan of every pattern per message
 * was a measurable share of the run.
 */
export class MemoryBroker {
  readonly clock: Clock;
  private readonly buckets = new Map<string, Sub[]>();
  private loose: Sub[] = [];
  private nextSeq = 0;
  private readonly rr = new Map<string, number>();
  readonly queues = new Map<string, QueueCore>();
  readonly streams = new Map<string, EventStreamCore>();

  constructor(opts: { clock?: Clock } = {}) {
    this.clock = opts.clock ?? systemClock;
  }

  /** A new connection to this broker. */
  connect(): MemoryBus {
    return new MemoryBus({ broker: this });
  }

  add(sub: Sub): void {
    sub.seq = this.nextSeq++;
    const key = bucketOf(sub.tokens);
    if (key === undefined) {
      this.loose.push(sub);
      return;
    }
    const b = this.buckets.get(key);
    if (b) b.push(sub);
    else this.buckets.set(key, [sub]);
  }

  remove(sub: Sub): void {
    const key = bucketOf(sub.tokens);
    if (key === undefined) {
      this.loose = this.loose.filter((s) => s !== sub);
      return;
    }
    const b = this.buckets.get(key)?.filter((s) => s !== sub);
    if (!b || b.length === 0) this.buckets.delete(key);
    else this.buckets.set(key, b);
  }

  /** Hands `msg` to every matching plain subscriber and one member per queue group. Returns the count. */
  route(msg: BusMessage): number {
    const tokens = msg.subject.split('.');
    const bucket = tokens.length >= 2 ? this.buckets.get(`${tokens[0]}.${tokens[1]}`) : undefined;
    const groups = new Map<string, Sub[]>();
    let n = 0;
    const offer = (s: Sub) => {
      if (!tokensMatch(s.tokens, tokens)) return;
      if (s.queue === undefined) {
        s.inbox.push(msg);
        n++;
        return;
      }
      const g = groups.get(s.queue);
      if (g) g.push(s);
      else groups.set(s.queue, [s]);
    };
    // Both lists are in subscription order: merge them so delivery order is subscription order.
    const a = bucket ?? [];
    const b = this.loose;
    for (let i = 0, j = 0; i < a.length || j < b.length; ) {
      if (j >= b.length || (i < a.length && a[i]!.seq < b[j]!.seq)) offer(a[i++]!);
      else offer(b[j++]!);
    }
    for (const [queue, members] of groups) {
      const i = this.rr.get(queue) ?? 0;
      this.rr.set(queue, i + 1);
      members[i % members.length]!.inbox.push(msg);
      n++;
    }
    return n;
  }
}

/** The bucket of a pattern: its first two tokens when both are literal. */
function bucketOf(tokens: readonly string[]): string | undefined {
  if (tokens.length < 2) return undefined;
  const [t0, t1] = tokens as [string, string];
  if (t0 === '*' || t0 === '>' || t1 === '*' || t1 === '>') return undefined;
  return `${t0}.${t1}`;
}

export interface MemoryBusOptions {
  /** Time source for request timeouts and work-queue ack-wait. Default: system clock. */
  clock?: Clock;
  /** Share a broker between connections; default: a private one (with `clock`). */
  broker?: MemoryBroker;
}

export class MemoryBus implements Bus {
  readonly broker: MemoryBroker;
  private readonly subs = new Set<Sub>();
  private readonly pending = new Set<(err: CellplaneError) => void>();
  private readonly closers = new Set<() => Promise<void>>();
  private closed = false;
  private crashed = false;

  constructor(opts: MemoryBusOptions = {}) {
    this.broker = opts.broker ?? new MemoryBroker(opts.clock ? { clock: opts.clock } : {});
  }

  get clock(): Clock {
    return this.broker.clock;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Throws `closed` once close() was called. */
  assertOpen(): void {
    if (this.closed) throw new CellplaneError('closed', 'the bus is closed');
  }

  publish(subject: string, data: Uint8Array): void {
    this.assertOpen();
    checkSubject(subject, false);
    this.broker.route(message(subject, copyBytes(data), undefined));
  }

  async subscribe(
    subject: string,
    handler: MessageHandler,
    opts: SubscribeOptions = {},
  ): Promise<Subscription> {
    this.assertOpen();
    checkSubject(subject, true);
    if (opts.queue !== undefined && !NAME.test(opts.queue))
      throw new CellplaneError('invalid', `queue group "${opts.queue}" is not a valid name`);
    const sub: Sub = {
      pattern: subject,
      tokens: subject.split('.'),
      seq: 0,
      queue: opts.queue,
      inbox: new Inbox<BusMessage>((m) => callDetached(handler, m.expectsReply ? this.answerable(m) : m)),
      owner: this,
    };
    this.subs.add(sub);
    this.broker.add(sub);
    return {
      subject,
      unsubscribe: async () => this.dropSub(sub),
    };
  }

  async request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
    this.assertOpen();
    checkSubject(subject, false);
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false;
      const finish = (err: CellplaneError | undefined, reply?: Uint8Array) => {
        if (done || this.crashed) return; // a dead process hears nothing
        done = true;
        this.clock.clearTimeout(timer);
        this.pending.delete(finish);
        if (err) reject(err);
        else resolve(reply!);
      };
      const timer = this.clock.setTimeout(
        () =>
          finish(
            new CellplaneError('timeout', `request to "${subject}" timed out after ${opts.timeoutMs} ms`),
          ),
        opts.timeoutMs,
      );
      this.pending.add(finish);
      const reached = this.broker.route(
        message(subject, copyBytes(data), (r) => finish(undefined, copyBytes(r))),
      );
      if (reached === 0) finish(new CellplaneError('noResponders', `no responders for "${subject}"`));
    });
  }

  async workQueue(name: string, opts: WorkQueueOptions): Promise<WorkQueue> {
    this.assertOpen();
    checkName(name, 'work queue');
    validateQueueOptions(opts);
    let core = this.broker.queues.get(name);
    if (!core) {
      core = new QueueCore(name, opts, this.clock);
      this.broker.queues.set(name, core);
    } else core.reconfigure(opts);
    return new MemoryWorkQueue(core, this);
  }

  async eventStream(name: string, opts: EventStreamOptions): Promise<EventStream> {
    this.assertOpen();
    checkName(name, 'event stream');
    validateStreamOptions(opts);
    let core = this.broker.streams.get(name);
    if (!core) {
      core = new EventStreamCore(name, opts, this.clock);
      this.broker.streams.set(name, core);
    } else core.reconfigure(opts);
    return new MemoryEventStream(core, this);
  }

  async flush(): Promise<void> {
    this.assertOpen();
  }

  /** Registers a resource (consumer, follower) to stop when this bus closes. Returns the unregister. */
  onClose(fn: () => Promise<void>): () => void {
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Drain: what was already routed to our subscriptions is still delivered.
    await Promise.all([...this.subs].map((s) => s.inbox.idle()));
    for (const s of [...this.subs]) this.dropSub(s);
    await Promise.all([...this.closers].map((fn) => fn()));
    this.closers.clear();
    for (const fail of [...this.pending]) fail(new CellplaneError('closed', 'the bus was closed'));
  }

  /**
   * The process died (the simulator's leader kills): its subscriptions and consumers vanish at
   * once — nothing queued is delivered, no reply it owes is sent, its requests in flight never
   * settle, jobs in its hands come back after their ack-wait — and later calls throw `closed`.
   */
  crash(): void {
    if (this.closed) return;
    this.closed = true;
    this.crashed = true;
    for (const s of [...this.subs]) this.dropSub(s);
    for (const fn of [...this.closers]) fn().catch(() => {});
    this.closers.clear();
    this.pending.clear();
  }

  /** The request as this connection's handler sees it: no reply once this process crashed. */
  private answerable(m: BusMessage): BusMessage {
    return {
      subject: m.subject,
      data: m.data,
      expectsReply: true,
      respond: (d) => {
        if (!this.crashed) m.respond(d);
      },
    };
  }

  private dropSub(sub: Sub): void {
    sub.inbox.stop();
    this.subs.delete(sub);
    this.broker.remove(sub);
  }
}

function message(
  subject: string,
  data: Uint8Array,
  reply: ((d: Uint8Array) => void) | undefined,
): BusMessage {
  return {
    subject,
    data,
    expectsReply: reply !== undefined,
    respond(d: Uint8Array) {
      if (!reply) throw new CellplaneError('invalid', `message on "${subject}" is not a request`);
      reply(d);
    },
  };
}
