/**
 * The message bus port. Real adapter: NATS core + JetStream (core/adapters/nats).
 * Embedded adapter: in-process (core/adapters/memory). Both pass test/contract/bus.contract.ts.
 *
 * Subjects are NATS-style: dot-separated tokens, `*` matches one token, `>` matches one
 * or more trailing tokens (only in subscriptions). Payloads are opaque bytes; the codec
 * (core/codec) turns them into typed envelopes.
 *
 * Errors (recognise by `code`): `noResponders` when a request finds no subscriber,
 * `timeout` when no reply came in time, `closed` after close(), `invalid` for a bad subject.
 */

export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** True when the sender waits for a reply (a request). */
  readonly expectsReply: boolean;
  /** Sends the reply to a request. Throws `invalid` if the message was not a request. */
  respond(data: Uint8Array): void;
}

/** Must not throw; errors are the handler's to report. A returned promise is not awaited. */
export type MessageHandler = (msg: BusMessage) => void | Promise<void>;

export interface Subscription {
  readonly subject: string;
  /** Stops delivery. Idempotent. */
  unsubscribe(): Promise<void>;
}

export interface SubscribeOptions {
  /** Members of the same queue group share the messages: each goes to exactly one member. */
  queue?: string;
}

export interface RequestOptions {
  timeoutMs: number;
}

export interface WorkQueueOptions {
  /** A delivered job not acked within this time is delivered again (to any consumer). */
  ackWaitMs: number;
  /** Deliveries before a job is dropped as poison (counted by `deadLettered`). 0 = unlimited. */
  maxDeliver?: number;
}

export interface Job {
  readonly data: Uint8Array;
  /** Position in the queue, unique per queue. */
  readonly seq: number;
  /** 1 on first delivery, 2 on the first redelivery, … */
  readonly deliveryCount: number;
  /** Done: the job is removed and never delivered again. */
  ack(): Promise<void>;
  /** Give it back for redelivery after `delayMs` (default: at once). */
  nak(delayMs?: number): Promise<void>;
  /** Still working: restarts the ack-wait timer. */
  working(): Promise<void>;
  /** Drop it for good without success (poison message). */
  term(): Promise<void>;
}

export interface ConsumeOptions {
  /** Jobs handed to this consumer and not yet acked, at most. */
  maxInFlight: number;
  /**
   * Told when the consumer lost its delivery (the server ended it) and is resuming on its own:
   * for the role's log. Must not throw.
   */
  onProblem?: (err: Error) => void;
}

export interface Consumer {
  /** Stops taking new jobs. Jobs in flight and not acked are redelivered after ack-wait. */
  stop(): Promise<void>;
}

/**
 * A durable work queue (JetStream work-queue retention). A job is delivered to one
 * consumer at a time; it stays until acked. A consumer that crashes with a job in hand
 * loses nothing: after `ackWaitMs` the job goes to another consumer.
 */
export interface WorkQueue {
  readonly name: string;
  /** Durably accepted when this resolves. `msgId` de-duplicates retried enqueues. */
  enqueue(data: Uint8Array, opts?: { msgId?: string }): Promise<{ seq: number; duplicate: boolean }>;
  /** Handler must eventually ack/nak/term each job; a handler that throws naks it. */
  consume(handler: (job: Job) => Promise<void>, opts: ConsumeOptions): Promise<Consumer>;
  /** Jobs not yet acked or terminated. */
  depth(): Promise<number>;
}

export interface StreamEvent {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  /** Milliseconds since the epoch when the stream stored it. */
  readonly timestampMs: number;
}

export interface EventStreamOptions {
  /** Events beyond this many are dropped oldest first. */
  maxEvents: number;
}

/**
 * An append-only event stream (JetStream limits retention). Readers replay from any
 * sequence still retained and then follow live appends, in order, without gaps.
 */
export interface EventStream {
  readonly name: string;
  /** `subject` is relative to the stream (`instance.created`), may not contain wildcards. */
  append(subject: string, data: Uint8Array): Promise<number>;
  /** Delivers events with seq >= fromSeq (1 = everything retained), then live ones, in order. */
  follow(fromSeq: number, handler: (ev: StreamEvent) => void | Promise<void>): Promise<Subscription>;
  /** First and last retained sequence (0, 0 when empty). */
  bounds(): Promise<{ firstSeq: number; lastSeq: number }>;
}

export interface Bus {
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, handler: MessageHandler, opts?: SubscribeOptions): Promise<Subscription>;
  /** Rejects with code `noResponders` or `timeout`. */
  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array>;
  /** Opens (creating if needed) a named durable work queue. Same name = same queue. */
  workQueue(name: string, opts: WorkQueueOptions): Promise<WorkQueue>;
  /** Opens (creating if needed) a named event stream. */
  eventStream(name: string, opts: EventStreamOptions): Promise<EventStream>;
  /** Resolves once everything published so far has reached the server. */
  flush(): Promise<void>;
  /** Drains subscriptions and closes. Further calls fail with `closed`. */
  close(): Promise<void>;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Validates a subject; `allowWildcards` for subscriptions. Returns an error message or undefined. */
export function subjectProblem(subject: string, allowWildcards: boolean): string | undefined {
  if (subject.length === 0) return 'subject is empty';
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (allowWildcards && t === '*') continue;
    if (allowWildcards && t === '>' && i === tokens.length - 1) continue;
    if (!TOKEN.test(t))
      return `subject "${subject}" has an invalid token "${t}" (letters, digits, _ and - only)`;
  }
  return undefined;
}

/** NATS subject matching: `*` one token, trailing `>` one or more tokens. */
export function subjectMatches(pattern: string, subject: string): boolean {
  return tokensMatch(pattern.split('.'), subject.split('.'));
}

/** `subjectMatches` on subjects already split on '.' (for routers that split once). */
export function tokensMatch(p: readonly string[], s: readonly string[]): boolean {
  for (let i = 0; i < p.length; i++) {
    const tok = p[i];
    if (tok === '>') return s.length > i;
    if (i >= s.length) return false;
    if (tok !== '*' && tok !== s[i]) return false;
  }
  return p.length === s.length;
}
