/**
 * What an actor host reports (ActorHostOptions.onEvent): activations, passivations,
 * failures with the actor's address and error, restarts, stops, refused messages.
 * Invariant checkers and metrics hang off these (STYLE.md §13); a listener must not throw.
 */
import type { CellplaneError } from '../../core/errors.ts';
import type { ActorAddress } from './address.ts';

export type FailurePhase = 'activate' | 'handle' | 'deactivate';

export type ActorEvent =
  | { readonly type: 'activated'; readonly address: ActorAddress }
  | { readonly type: 'passivated'; readonly address: ActorAddress }
  | {
      readonly type: 'failed';
      readonly address: ActorAddress;
      readonly phase: FailurePhase;
      readonly messageType?: string;
      readonly error: CellplaneError;
    }
  /** The instance was dropped; the next message re-activates it from persisted state. */
  | { readonly type: 'restarted'; readonly address: ActorAddress; readonly recentFailures: number }
  /** The restart budget is spent: messages are refused with `error` until `resume`. */
  | { readonly type: 'stopped'; readonly address: ActorAddress; readonly error: CellplaneError }
  | { readonly type: 'overloaded'; readonly address: ActorAddress; readonly messageType: string }
  /** A message that could not be decoded or addressed, refused before reaching any actor. */
  | { readonly type: 'rejected'; readonly subject: string; readonly error: CellplaneError };

export type ActorEventListener = (ev: ActorEvent) => void;

/** Counters and gauges of one host, for tests, metrics and the demo. */
export interface HostStats {
  /** Messages taken into a mailbox. */
  accepted: number;
  /** Messages whose handler returned (or threw a coded answer). */
  processed: number;
  /** Messages refused because the mailbox was full (also counted in `refused`). */
  overloaded: number;
  /** Messages refused for any reason: full mailbox, undecodable, stopped actor, shutting down. */
  refused: number;
  activations: number;
  passivations: number;
  failures: number;
  restarts: number;
  stops: number;
  /** Actors with a record in memory (loaded, loading, or stopped). */
  actors: number;
  /** Actors with state loaded. */
  active: number;
}
