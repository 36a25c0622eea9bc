/**
 * The wire envelope (STYLE.md §7): every message on the bus and to worker threads is
 * `[type, major, minor, body]` packed with msgpackr (plain maps, no records, so any
 * version of any peer can read it).
 *
 * Compatibility rules, so mixed versions interoperate during a rolling (skip-level) upgrade:
 * - a newer minor of a known major decodes: the parser keeps the fields it knows and
 *   ignores the rest; new fields must be optional for older readers;
 * - a major this build does not know is a clear `unsupportedVersion` error;
 * - an unknown type is an `unsupportedVersion` error too, naming the type.
 */
import { Packr } from 'msgpackr';
import { CellplaneError } from '../errors.ts';

// Options checked against msgpackr 2.1.3: plain maps (no records), no typed-array extensions,
// 64-bit integers from other writers arrive as numbers, and bin values are copied out of the
// input so a decoded Uint8Array never aliases (or pins) the caller's buffer — a NATS read
// chunk or a buffer shared with worker threads.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  int64AsType: 'number',
  copyBuffers: true,
});

export interface MessageType<T> {
  /** Dotted name without version, e.g. `cp.sched.select`. */
  readonly type: string;
  readonly major: number;
  /** The newest minor this build writes. */
  readonly minor: number;
  /**
   * Turns a decoded body into T, validating what it needs and ignoring unknown fields.
   * `minor` is the writer's minor (may be newer than ours). Throw `invalid` on bad input.
   */
  parse(body: unknown, minor: number): T;
}

export interface Envelope {
  readonly type: string;
  readonly major: number;
  readonly minor: number;
  readonly body: unknown;
}

export function defineMessage<T>(def: MessageType<T>): MessageType<T> {
  if (!/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/.test(def.type)) {
    throw new CellplaneError('invalid', `message type "${def.type}" must be dotted lowercase words`);
  }
  return Object.freeze({ ...def });
}

/**
 * The envelope's bytes. They may be a VIEW into msgpackr's encoding pool (see codec/bytes.ts):
 * send them, or copy them before keeping them — a kept view pins the whole pool chunk. The memory
 * adapters copy what they store; a holder of its own (a tree's last record) copies too.
 */
export function encode<T>(kind: MessageType<T>, body: T): Uint8Array {
  return packr.pack([kind.type, kind.major, kind.minor, body]);
}

/** Reads the envelope without interpreting the body. */
export function peek(bytes: Uint8Array): Envelope {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (err) {
    throw new CellplaneError('invalid', 'message is not valid msgpack', { cause: err });
  }
  if (
    !Array.isArray(raw) ||
    raw.length !== 4 ||
    typeof raw[0] !== 'string' ||
    !Number.isInteger(raw[1]) ||
    !Number.isInteger(raw[2])
  ) {
    throw new CellplaneError('invalid', 'message is not a cellplane envelope [type, major, minor, body]');
  }
  return { type: raw[0], major: raw[1], minor: raw[2], body: raw[3] };
}

function checkVersion(env: Envelope, kinds: readonly MessageType<unknown>[]): MessageType<unknown> {
  const sameType = kinds.filter((k) => k.type === env.type);
  if (sameType.length === 0) {
    throw new CellplaneError('unsupportedVersion', `unknown message type "${env.type}"`, {
      details: { type: env.type, known: kinds.map((k) => k.type) },
    });
  }
  const kind = sameType.find((k) => k.major === env.major);
  if (!kind) {
    const majors = sameType.map((k) => k.major).join(', ');
    throw new CellplaneError(
      'unsupportedVersion',
      `${env.type} v${env.major}.${env.minor} is not supported: this build reads major version(s) ${majors}; upgrade this process or keep writers on a supported version`,
      {
        details: {
          type: env.type,
          major: env.major,
          minor: env.minor,
          supportedMajors: sameType.map((k) => k.major),
        },
      },
    );
  }
  return kind;
}

/** Decodes bytes that must be a message of `kind` (any minor of its major). */
export function decode<T>(kind: MessageType<T>, bytes: Uint8Array): T {
  const env = peek(bytes);
  checkVersion(env, [kind as MessageType<unknown>]);
  return kind.parse(env.body, env.minor);
}

export type Decoded<K extends readonly MessageType<unknown>[]> = {
  [I in keyof K]: K[I] extends MessageType<infer T> ? { kind: K[I]; body: T } : never;
}[number];

/** Decodes bytes that may be any of `kinds` (for a handler that accepts several messages). */
export function decodeAny<K extends readonly MessageType<unknown>[]>(
  kinds: K,
  bytes: Uint8Array,
): Decoded<K> {
  const env = peek(bytes);
  const kind = checkVersion(env, kinds);
  return { kind, body: kind.parse(env.body, env.minor) } as Decoded<K>;
}

/** Raw msgpack, for bodies that are already plain data (store values). */
export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function unpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
