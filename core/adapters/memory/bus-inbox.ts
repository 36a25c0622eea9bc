/**
 * Per-subscription delivery for the in-process bus: messages are queued and handed to the
 * handler asynchronously (never inside `publish`), one at a time, in publish order. A handler's
 * returned promise is not awaited (as with NATS core subscriptions).
 */

/** Consecutive microtask drains before an inbox yields to the event loop (no I/O starvation). */
export const MICROTASK_DRAINS_BEFORE_YIELD = 1_000;

export class Inbox<T> {
  private queue: T[] = [];
  private scheduled = false;
  private active = true;
  private streak = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly deliver: (item: T) => void) {}

  push(item: T): void {
    if (!this.active) return;
    this.queue.push(item);
    this.schedule();
  }

  /** Drops anything queued and delivers nothing more. Idempotent. */
  stop(): void {
    this.active = false;
    this.queue = [];
    this.wakeIdle();
  }

  /** Resolves once everything queued so far has been handed to the handler. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (++this.streak >= MICROTASK_DRAINS_BEFORE_YIELD) {
      this.streak = 0;
      setImmediate(() => this.drain());
    } else queueMicrotask(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const item of batch) {
      if (!this.active) break;
      try {
        this.deliver(item);
      } catch {
        // Handlers must not throw (port contract); a throwing one does not stop delivery.
      }
    }
    if (this.queue.length === 0) {
      this.streak = 0;
      this.wakeIdle();
    }
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** Calls a handler that may return a promise; swallows its rejection (the handler's to report). */
export function callDetached<A>(fn: (arg: A) => void | Promise<void>, arg: A): void {
  const r = fn(arg);
  if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch(() => {});
}
