/**
 * Sending to actors: `tell` (fire and forget) and `ask` (request/reply with a timeout).
 *
 * `ask` rejects with a CellplaneError whose `code` says what happened:
 * - the handler's own coded error (`conflict`, `invalid`, …) as it threw it;
 * - `internal` when the handler crashed (the actor restarts);
 * - `overloaded` when the actor's mailbox is full;
 * - `closed` when the actor is stopped (restart budget spent) or its host shuts down;
 * - `noResponders` when no host serves the kind in that scope; `timeout` when no reply came.
 * A `tell` to a kind nobody serves is dropped silently (publish semantics).
 */
import { encode, type MessageType } from '../../core/codec/envelope.ts';
import { CellplaneError, toCellplaneError } from '../../core/errors.ts';
import type { Bus } from '../../core/ports/bus.ts';
import { type ActorAddress, actorSubject, checkScope, formatAddress } from './address.ts';
import { type AskType, decodeReply, requestType, type Sendable } from './protocol.ts';

/** Default time an ask waits for its reply. */
export const DEFAULT_ASK_TIMEOUT_MS = 5_000;

export interface SendOptions {
  /** Scope of the receiving actor; default: the client's. */
  readonly scope?: string;
}

export interface AskOptions extends SendOptions {
  readonly timeoutMs?: number;
}

export interface ActorClientOptions {
  readonly scope: string;
  readonly askTimeoutMs?: number;
}

export class ActorClient {
  private readonly scope: string;
  private readonly askTimeoutMs: number;

  constructor(
    private readonly bus: Bus,
    opts: ActorClientOptions,
  ) {
    checkScope(opts.scope);
    this.scope = opts.scope;
    this.askTimeoutMs = opts.askTimeoutMs ?? DEFAULT_ASK_TIMEOUT_MS;
  }

  /** Fire and forget. Messages told by one client to one actor are handled in order. */
  tell<Req>(to: ActorAddress, type: Sendable<Req>, body: Req, opts: SendOptions = {}): void {
    this.bus.publish(actorSubject(opts.scope ?? this.scope, to), encode(requestType(type), body));
  }

  /** Request/reply: the handler's result, or an acknowledgement for a plain message. */
  ask<Req, Res>(to: ActorAddress, type: AskType<Req, Res>, body: Req, opts?: AskOptions): Promise<Res>;
  ask<Req>(to: ActorAddress, type: MessageType<Req>, body: Req, opts?: AskOptions): Promise<void>;
  async ask(
    to: ActorAddress,
    type: Sendable<unknown>,
    body: unknown,
    opts: AskOptions = {},
  ): Promise<unknown> {
    const request = requestType(type);
    const subject = actorSubject(opts.scope ?? this.scope, to);
    let bytes: Uint8Array;
    try {
      bytes = await this.bus.request(subject, encode(request, body), {
        timeoutMs: opts.timeoutMs ?? this.askTimeoutMs,
      });
    } catch (err) {
      // Same code, with the actor and message named (the bus only knows the subject).
      const e = toCellplaneError(err);
      const message = `ask ${formatAddress(to)} ${request.type}: ${e.message}`;
      throw new CellplaneError(e.code, message, { cause: e, details: { address: formatAddress(to) } });
    }
    return decodeReply('reply' in type ? type.reply : undefined, bytes);
  }
}
