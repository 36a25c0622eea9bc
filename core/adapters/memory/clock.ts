import type { Clock, TimerHandle } from '../../ports/clock.ts';

interface Timer {
  id: number;
  due: number;
  fn: () => void;
}

const noop = () => {};

/** Lets promise callbacks queued by a timer run before the next timer fires. */
async function settle(rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Virtual time for deterministic tests and simulation. Nothing moves until `advance`
 * is called; due timers fire in (due time, creation order), and the promise work each
 * one triggers is let run before the next fires, so async code behaves as on real time.
 */
export class VirtualClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();
  /** Min-heap on (due, id); cancelled timers are skipped lazily when they surface. */
  private readonly heap: Timer[] = [];

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const timer = { id, due: this.current + Math.max(0, ms), fn };
    this.timers.set(id, timer);
    this.push(timer);
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (!t) return;
    this.timers.delete(handle.id);
    // The heap drops cancelled timers only when they surface: let go of the callback (and all
    // it captured) now, or a burst of cancelled request timeouts keeps its payloads alive.
    t.fn = noop;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const h = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        this.clearTimeout(h);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle(2);
    for (;;) {
      const next = this.earliest();
      if (!next || next.due > target) break;
      this.timers.delete(next.id);
      this.current = Math.max(this.current, next.due);
      next.fn();
      await settle(2);
    }
    this.current = target;
  }

  /** Fires timers until none is left or `maxMs` of virtual time has passed. */
  async runUntilIdle(maxMs = 3_600_000): Promise<void> {
    const limit = this.current + maxMs;
    for (;;) {
      const next = this.earliest();
      if (!next || next.due > limit) return;
      await this.advance(next.due - this.current);
    }
  }

  private earliest(): Timer | undefined {
    while (this.heap.length > 0 && !this.timers.has(this.heap[0]!.id)) this.pop();
    return this.heap[0];
  }

  private static before(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.id < b.id);
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!VirtualClock.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && VirtualClock.before(h[l]!, h[m]!)) m = l;
      if (r < h.length && VirtualClock.before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
