/** Small helpers for the Bus contract suite: waiting without fixed sleeps, bytes, error capture. */
import type { VirtualClock } from '../../core/adapters/memory/clock.ts';
import type { Bus } from '../../core/ports/bus.ts';

/** What a Bus adapter's test file hands to `busContract`. */
export interface BusContractTarget {
  /** ack-wait for redelivery tests: anything on virtual time, short (500–1000 ms) on real time. */
  readonly ackWaitMs: number;
  /** Fresh, isolated fixture per test. */
  setup(): Promise<BusFixture>;
}

export interface BusFixture {
  /** A new connection to the same broker/server as every other `make()` of this fixture. */
  make(): Promise<Bus>;
  /** Set when the adapter runs on virtual time; tests then advance it instead of waiting. */
  readonly clock?: VirtualClock;
  /** Closes whatever is still open and removes server-side state (streams). */
  cleanup(): Promise<void>;
}

/** Context shared by the parts of the suite: the fixture of the running test. */
export interface BusTestContext {
  fx: BusFixture;
  target: BusContractTarget;
}

/** Real-time deadline for anything a test waits for (real servers included). */
export const WAIT_DEADLINE_MS = 10_000;
const POLL_MS = 10;

/** Retries `check` until it stops throwing or the deadline passes (then rethrows its error). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = WAIT_DEADLINE_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}

/** Lets `ms` of time pass: advances the virtual clock, or does nothing on real time (callers poll). */
export async function elapse(fx: BusFixture, ms: number): Promise<void> {
  if (fx.clock) await fx.clock.advance(ms);
}

const enc = new TextEncoder();
const dec = new TextDecoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);
export const text = (b: Uint8Array): string => dec.decode(b);

/** The `code` a promise rejects with (fails the test if it resolves). */
export async function rejectionCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** The `code` a synchronous call throws with (fails the test if it returns). */
export function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  throw new Error('expected a throw, but the call returned');
}

/** Tracks settlement of a promise without awaiting it. */
export function track<T>(p: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  const promise = p.finally(() => {
    settled = true;
  });
  promise.catch(() => {});
  return { settled: () => settled, promise };
}
