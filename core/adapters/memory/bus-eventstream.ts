/**
 * In-process event stream with JetStream limits-retention semantics: seqs start at 1 and
 * only grow, the oldest events beyond `maxEvents` are dropped, and a follower replays from
 * any retained seq then follows live appends in order without gaps (one handler call at a
 * time; a returned promise is awaited before the next event).
 */

import { copyBytes } from '../../codec/bytes.ts';
import { CellplaneError } from '../../errors.ts';
import type { EventStream, EventStreamOptions, StreamEvent, Subscription } from '../../ports/bus.ts';
import type { Clock } from '../../ports/clock.ts';
import { checkSubject } from './bus-checks.ts';

/** Dropped events are compacted out of the backing array once this many have piled up. */
const COMPACT_AFTER = 1_024;

type Follower = (ev: StreamEvent) => void | Promise<void>;

export function validateStreamOptions(opts: EventStreamOptions): void {
  if (!Number.isInteger(opts.maxEvents) || opts.maxEvents < 1)
    throw new CellplaneError('invalid', `maxEvents must be a positive integer, got ${opts.maxEvents}`);
}

interface FollowerState {
  readonly handler: Follower;
  nextSeq: number;
  running: boolean;
  active: boolean;
}

export class EventStreamCore {
  private events: StreamEvent[] = [];
  /** Index in `events` of the first retained event. */
  private head = 0;
  private lastSeq = 0;
  private readonly followers = new Set<FollowerState>();

  constructor(
    readonly name: string,
    private opts: EventStreamOptions,
    private readonly clock: Clock,
  ) {}

  reconfigure(opts: EventStreamOptions): void {
    this.opts = opts;
    this.trim();
  }

  bounds(): { firstSeq: number; lastSeq: number } {
    const first = this.events[this.head];
    return first ? { firstSeq: first.seq, lastSeq: this.lastSeq } : { firstSeq: 0, lastSeq: 0 };
  }

  append(subject: string, data: Uint8Array): number {
    const seq = ++this.lastSeq;
    this.events.push({ seq, subject, data, timestampMs: this.clock.now() });
    this.trim();
    for (const f of this.followers) this.pump(f);
    return seq;
  }

  follow(fromSeq: number, handler: Follower): () => void {
    const f: FollowerState = { handler, nextSeq: fromSeq, running: false, active: true };
    this.followers.add(f);
    queueMicrotask(() => this.pump(f));
    return () => {
      f.active = false;
      this.followers.delete(f);
    };
  }

  private trim(): void {
    while (this.events.length - this.head > this.opts.maxEvents) this.head++;
    if (this.head >= COMPACT_AFTER) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  /** The first retained event with seq >= `seq`. */
  private at(seq: number): StreamEvent | undefined {
    const first = this.events[this.head];
    if (!first) return undefined;
    return this.events[this.head + Math.max(0, seq - first.seq)];
  }

  private pump(f: FollowerState): void {
    if (f.running || !f.active) return;
    f.running = true;
    void (async () => {
      try {
        for (;;) {
          if (!f.active) return;
          const ev = this.at(f.nextSeq);
          if (!ev) return;
          f.nextSeq = ev.seq + 1;
          try {
            await f.handler(ev);
          } catch {
            // The handler's to report; the follower goes on with the next event.
          }
        }
      } finally {
        f.running = false;
      }
    })();
  }
}

/** What a stream handle needs of its connection (MemoryBus is one). */
interface StreamConnection {
  /** Throws `closed` once the connection is closed. */
  assertOpen(): void;
  /** Registers a follower to stop when the connection closes; returns the unregister. */
  onClose(fn: () => Promise<void>): () => void;
}

/** One connection's handle on a shared stream. */
export class MemoryEventStream implements EventStream {
  constructor(
    private readonly core: EventStreamCore,
    private readonly bus: StreamConnection,
  ) {}

  get name(): string {
    return this.core.name;
  }

  async append(subject: string, data: Uint8Array): Promise<number> {
    this.bus.assertOpen();
    checkSubject(subject, false);
    return this.core.append(subject, copyBytes(data));
  }

  async follow(fromSeq: number, handler: Follower): Promise<Subscription> {
    this.bus.assertOpen();
    if (!Number.isInteger(fromSeq) || fromSeq < 1)
      throw new CellplaneError('invalid', `fromSeq must be an integer >= 1, got ${fromSeq}`);
    const stop = this.core.follow(fromSeq, handler);
    const unsubscribe = async () => {
      stop();
      unregister();
    };
    const unregister = this.bus.onClose(unsubscribe);
    return { subject: `${this.core.name}.>`, unsubscribe };
  }

  async bounds(): Promise<{ firstSeq: number; lastSeq: number }> {
    this.bus.assertOpen();
    return this.core.bounds();
  }
}
