/**
 * Supervision policy: which failures restart an actor and how many restarts it gets.
 *
 * A handler that throws a CellplaneError (or anything carrying a known `code`) other than
 * `internal` is answering, not failing: the caller gets that error and the actor keeps its
 * state (so such a throw must leave the state consistent — a claim `conflict`, an `invalid`
 * request). Anything else is a crash: the instance is dropped (its state may be half-changed,
 * so it is NOT persisted) and re-activated from persisted state for the next message. More
 * than `maxRestarts` crashes within `windowMs` stop the actor instead.
 */
import { isErrorCode, toCellplaneError } from '../../core/errors.ts';

/** Restarts allowed within one window before the actor is stopped. */
export const DEFAULT_MAX_RESTARTS = 5;
export const DEFAULT_RESTART_WINDOW_MS = 60_000;

export interface RestartPolicy {
  readonly maxRestarts: number;
  readonly windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = Object.freeze({
  maxRestarts: DEFAULT_MAX_RESTARTS,
  windowMs: DEFAULT_RESTART_WINDOW_MS,
});

/** True when a handler's throw is a crash (restart) rather than a coded answer (see header). */
export function isCrash(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return !isErrorCode(code) || code === 'internal' || toCellplaneError(err).code === 'internal';
}

/** Failure times of one actor inside the sliding window. */
export class RestartBudget {
  private failures: number[] = [];

  constructor(private readonly policy: RestartPolicy) {}

  /** Records a crash at `nowMs`; true when the actor may restart, false when it must stop. */
  recordFailure(nowMs: number): boolean {
    const since = nowMs - this.policy.windowMs;
    this.failures = this.failures.filter((t) => t > since);
    this.failures.push(nowMs);
    return this.failures.length <= this.policy.maxRestarts;
  }

  /** Crashes counted in the current window. */
  get recent(): number {
    return this.failures.length;
  }
}
