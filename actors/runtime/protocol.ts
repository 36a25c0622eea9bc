/**
 * What actors put on the wire. A request is the caller's own versioned envelope
 * (defineMessage from core/codec): a `tell` publishes it, an `ask` sends it as a bus request.
 * The reply to an ask is one more envelope, `cp.actor.reply` v1, whose body holds either
 *   `{ r: <bytes of the reply message's own envelope> }`  (absent for a plain acknowledgement), or
 *   `{ e: <WireError from core/errors.ts> }`
 * so the reply payload is versioned on its own and an error keeps its `code` across processes.
 */
import { decode, defineMessage, encode, type MessageType } from '../../core/codec/envelope.ts';
import { asObject, optBytes } from '../../core/codec/fields.ts';
import { CellplaneError, fromWire, type WireError } from '../../core/errors.ts';

/** A request that is answered with a typed reply: `ask(to, getCount, {})` → `Promise<number>`. */
export interface AskType<Req, Res> {
  readonly request: MessageType<Req>;
  readonly reply: MessageType<Res>;
}

/** Pairs a request message with its reply message. */
export function defineAsk<Req, Res>(request: MessageType<Req>, reply: MessageType<Res>): AskType<Req, Res> {
  return Object.freeze({ request, reply });
}

/** Either a plain message (answered, if asked, with an acknowledgement) or an ask type. */
export type Sendable<Req> = MessageType<Req> | AskType<Req, unknown>;

export function requestType<Req>(t: Sendable<Req>): MessageType<Req> {
  return 'request' in t ? t.request : t;
}

interface ReplyBody {
  r?: Uint8Array;
  e?: WireError;
}

export const actorReply = defineMessage<ReplyBody>({
  type: 'cp.actor.reply',
  major: 1,
  minor: 0,
  parse(body) {
    const o = asObject(body, 'cp.actor.reply');
    const out: ReplyBody = {};
    const r = optBytes(o, 'r', 'cp.actor.reply');
    if (r) out.r = r;
    // The error is rebuilt (and validated) by fromWire on the caller's side.
    if (o.e !== undefined && o.e !== null) out.e = o.e as WireError;
    return out;
  },
});

export function encodeResult<Res>(reply: MessageType<Res> | undefined, result: Res): Uint8Array {
  if (!reply) return encode(actorReply, {});
  return encode(actorReply, { r: encode(reply, result) });
}

export function encodeFailure(err: CellplaneError): Uint8Array {
  return encode(actorReply, { e: err.toWire() });
}

/** Turns reply bytes into the result, or throws the remote error with its code. */
export function decodeReply<Res>(reply: MessageType<Res> | undefined, bytes: Uint8Array): Res | undefined {
  const body = decode(actorReply, bytes);
  if (body.e !== undefined) throw fromWire(body.e);
  if (!reply) return undefined;
  if (!body.r) throw new CellplaneError('invalid', `reply carries no ${reply.type} result`);
  return decode(reply, body.r);
}
