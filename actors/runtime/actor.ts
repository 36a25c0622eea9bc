/**
 * Defining an actor kind: how its state is loaded and persisted, and one typed handler per
 * message type.
 *
 * ```ts
 * const counter = defineActor<{ n: number }>({
 *   kind: 'counter',
 *   activate: async (id) => ({ n: (await store.get(id)) ?? 0 }),
 *   deactivate: async (id, s) => store.set(id, s.n),
 * })
 *   .on(increment, (ctx, { by }) => { ctx.state.n += by; })
 *   .on(getCount, (ctx) => ctx.state.n);   // getCount = defineAsk(req, reply): returns the reply
 * ```
 */
import type { MessageType } from '../../core/codec/envelope.ts';
import { CellplaneError } from '../../core/errors.ts';
import { type ActorAddress, checkKind } from './address.ts';
import type { AskType } from './protocol.ts';

/** What a handler sees. Handlers of one actor never overlap (one mailbox, one at a time). */
export interface ActorContext<S> {
  readonly address: ActorAddress;
  readonly scope: string;
  /** The actor's own state: mutate it or assign a new value. */
  state: S;
  /** The host's clock. */
  now(): number;
}

export type Handler<S, Req, Res> = (ctx: ActorContext<S>, body: Req) => Res | Promise<Res>;

export interface ActorBehaviour<S> {
  /** Lowercase letters, digits and `-`; one bus subject token. */
  readonly kind: string;
  /**
   * Loads the state of actor `id`: on its first message, after passivation and after a
   * restart. A throw fails the message that triggered it (with the error's code) and counts
   * against the restart budget; the next message tries again.
   */
  activate(id: string): Promise<S>;
  /**
   * Persists the state of an idle actor before it is dropped, and of every actor at
   * shutdown. Must be idempotent. Never called for an instance that crashed (its state is
   * suspect). A throw keeps the instance loaded; the next sweep tries again.
   */
  deactivate?(id: string, state: S): Promise<void>;
}

export interface HandlerEntry<S> {
  readonly request: MessageType<unknown>;
  /** Absent for a plain message: an ask of it is answered with an acknowledgement. */
  readonly reply: MessageType<unknown> | undefined;
  readonly fn: Handler<S, unknown, unknown>;
}

export class ActorDefinition<S> {
  private readonly entries = new Map<MessageType<unknown>, HandlerEntry<S>>();

  constructor(readonly behaviour: ActorBehaviour<S>) {
    checkKind(behaviour.kind);
  }

  get kind(): string {
    return this.behaviour.kind;
  }

  /** Registers the handler of a message type (one per type and major version). */
  on<Req, Res>(type: AskType<Req, Res>, fn: Handler<S, Req, Res>): this;
  on<Req>(type: MessageType<Req>, fn: Handler<S, Req, void>): this;
  on(type: AskType<unknown, unknown> | MessageType<unknown>, fn: Handler<S, unknown, unknown>): this {
    const request = 'request' in type ? type.request : type;
    const reply = 'request' in type ? type.reply : undefined;
    for (const known of this.entries.keys()) {
      if (known.type === request.type && known.major === request.major)
        throw new CellplaneError('invalid', `${this.kind} already handles ${request.type} v${request.major}`);
    }
    this.entries.set(request, { request, reply, fn });
    return this;
  }

  /** The message types this kind accepts, for decoding. */
  get requestTypes(): readonly MessageType<unknown>[] {
    return [...this.entries.keys()];
  }

  handler(request: MessageType<unknown>): HandlerEntry<S> | undefined {
    return this.entries.get(request);
  }
}

export function defineActor<S>(behaviour: ActorBehaviour<S>): ActorDefinition<S> {
  return new ActorDefinition(behaviour);
}
