/**
 * Time and randomness are injected (STYLE.md §3) so that what must be deterministic —
 * the simulator, placement replays, tests — can run on virtual time with a seed.
 */

export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (virtual clocks start wherever they are told). */
  now(): number;
  /** Calls `fn` once after `ms` (>= 0). Timers due at the same instant fire in creation order. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; cancelling one that already fired or was cancelled is a no-op. */
  clearTimeout(handle: TimerHandle): void;
  /** Resolves after `ms`; rejects with the signal's reason if aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
