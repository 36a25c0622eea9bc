/**
 * An actor's mailbox: a bounded FIFO that runs one item at a time, in arrival order.
 * The next item starts only after the previous one's promise settled, so whatever an
 * actor does between two awaits can never interleave with another of its messages.
 */
import { CellplaneError } from '../../core/errors.ts';

/** Messages an actor may have waiting (not counting the one running) before senders are refused. */
export const DEFAULT_MAILBOX_LIMIT = 1_000;

export class Mailbox<T> {
  private queue: T[] = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];

  /**
   * `run` handles one item; it must not throw (a rejection is swallowed: reporting is the
   * runner's job). `limit` bounds the items waiting behind the running one.
   */
  constructor(
    private readonly run: (item: T) => Promise<void>,
    readonly limit: number = DEFAULT_MAILBOX_LIMIT,
  ) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new CellplaneError('invalid', `mailbox limit must be an integer >= 1, got ${limit}`);
  }

  /** Items waiting to run (not counting the running one). */
  get waiting(): number {
    return this.queue.length;
  }

  /** True while an item runs or waits. */
  get busy(): boolean {
    return this.running || this.queue.length > 0;
  }

  /**
   * Queues `item` and returns true, or returns false (queuing nothing) when `limit` items
   * already wait. An idle mailbox starts the item synchronously, up to its first await.
   */
  offer(item: T): boolean {
    if (this.queue.length >= this.limit) return false;
    this.force(item);
    return true;
  }

  /** Queues `item` whatever the limit (the runtime's own work, such as passivation). */
  force(item: T): void {
    this.queue.push(item);
    if (!this.running) void this.pump();
  }

  /** Removes and returns the waiting items (the running one finishes normally). */
  takeWaiting(): T[] {
    const taken = this.queue;
    this.queue = [];
    return taken;
  }

  /** Resolves once nothing runs or waits (items queued meanwhile are waited for too). */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const item = this.queue.shift() as T;
      try {
        await this.run(item);
      } catch {
        // Contract: `run` reports its own failures; the mailbox keeps going.
      }
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
