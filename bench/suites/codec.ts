/**
 * Codec suite: the msgpackr envelope (core/codec/envelope.ts) against JSON, for three
 * typical control-plane messages × encode / decode / encode+decode.
 *
 * Declared as data: MESSAGES × OPS × CODECS. Every codec carries the same envelope
 * `[type, major, minor, body]` and every decode runs the same envelope check and the same
 * field parser, so the rows differ only in the serialisation. `JSON+bytes` adds
 * TextEncoder/TextDecoder: a bus carries bytes, so that is the fair comparison.
 */
import { deepStrictEqual } from 'node:assert';
import { isNativeAccelerationEnabled } from 'msgpackr';
import { decode, encode, type MessageType } from '../../core/codec/envelope.ts';
import { markdownTable } from '../lib/report.ts';
import { type BenchCase, defineSuite } from '../lib/types.ts';
import {
  heartbeat,
  heartbeatFixture,
  makeReplyFixture,
  REPLY_ALTERNATES,
  REPLY_HOSTS,
  SEED,
  selectFixture,
  selectReply,
  selectRequest,
} from './codec-messages.ts';

interface Message {
  readonly label: string;
  readonly kind: MessageType<unknown>;
  readonly body: () => unknown;
}

const MESSAGES: readonly Message[] = [
  { label: 'select request', kind: selectRequest as MessageType<unknown>, body: () => selectFixture },
  { label: 'heartbeat', kind: heartbeat as MessageType<unknown>, body: () => heartbeatFixture },
  {
    label: `reply ${REPLY_HOSTS}+${REPLY_ALTERNATES} hosts`,
    kind: selectReply as MessageType<unknown>,
    body: () => makeReplyFixture(SEED),
  },
];

/** One wire format: what goes on the bus (`W`) and back. */
interface Codec<W> {
  readonly label: string;
  encode(kind: MessageType<unknown>, body: unknown): W;
  decode(kind: MessageType<unknown>, wire: W): unknown;
  size(wire: W): number;
}

/** The envelope check decode() does, for the JSON codecs. */
function checkJsonEnvelope(kind: MessageType<unknown>, raw: unknown): unknown[] {
  if (!Array.isArray(raw) || raw.length !== 4 || raw[0] !== kind.type || raw[1] !== kind.major) {
    throw new Error(`not a ${kind.type} v${kind.major} envelope`);
  }
  if (!Number.isInteger(raw[2])) throw new Error('bad minor');
  return raw;
}
const jsonEncode = (kind: MessageType<unknown>, body: unknown) =>
  JSON.stringify([kind.type, kind.major, kind.minor, body]);
const jsonDecode = (kind: MessageType<unknown>, text: string) => {
  const raw = checkJsonEnvelope(kind, JSON.parse(text));
  return kind.parse(raw[3], raw[2] as number);
};
const utf8Out = new TextEncoder();
const utf8In = new TextDecoder();

const msgpackr: Codec<Uint8Array> = { label: 'msgpackr', encode, decode, size: (w) => w.length };
const json: Codec<string> = { label: 'JSON', encode: jsonEncode, decode: jsonDecode, size: (w) => w.length };
const jsonBytes: Codec<Uint8Array> = {
  label: 'JSON+bytes',
  encode: (kind, body) => utf8Out.encode(jsonEncode(kind, body)),
  decode: (kind, bytes) => jsonDecode(kind, utf8In.decode(bytes)),
  size: (w) => w.length,
};
const CODECS = [msgpackr, json, jsonBytes] as readonly Codec<unknown>[];

type OpName = 'encode' | 'decode' | 'encode+decode';
const OPS: readonly OpName[] = ['encode', 'decode', 'encode+decode'];

function makeCase(m: Message, op: OpName, codec: Codec<unknown>): BenchCase {
  return {
    row: `${m.label} · ${op}`,
    variant: codec.label,
    prepare() {
      const body = m.body();
      const wire = codec.encode(m.kind, body);
      deepStrictEqual(codec.decode(m.kind, wire), m.kind.parse(body, m.kind.minor)); // never time a broken codec
      if (op === 'encode') return () => codec.encode(m.kind, body);
      if (op === 'decode') return () => codec.decode(m.kind, wire);
      return () => codec.decode(m.kind, codec.encode(m.kind, body));
    },
  };
}

function sizes(): string {
  const rows = MESSAGES.map((m) => [
    m.label,
    ...CODECS.filter((c) => c !== json).map((c) => String(c.size(c.encode(m.kind, m.body())))),
  ]);
  const native = isNativeAccelerationEnabled ? 'on' : 'off';
  return [
    markdownTable(['message', 'msgpackr bytes', 'JSON bytes'], rows),
    '',
    `msgpackr native string decoding (msgpackr-extract): ${native}.`,
  ].join('\n');
}

export const codecSuite = defineSuite({
  name: 'codec',
  title: 'codec — msgpackr envelope vs JSON',
  about:
    'Encode, decode and encode+decode of three control-plane messages with the wire codec ' +
    '(`core/codec/envelope.ts`, msgpackr 2.1.3) against `JSON.stringify`/`JSON.parse`, alone ' +
    'and with TextEncoder/TextDecoder to bytes (what a bus carries: the fair comparison). ' +
    'All codecs write the same `[type, major, minor, body]` envelope and every decode runs the ' +
    'same envelope check and field parser (`core/codec/fields.ts`). Ratios are ops/s of msgpackr ' +
    'divided by ops/s of the JSON variant: above 1× msgpackr is faster.',
  seed: SEED,
  ratios: [
    { label: 'msgpackr/JSON', of: 'msgpackr', to: 'JSON' },
    { label: 'msgpackr/JSON+bytes', of: 'msgpackr', to: 'JSON+bytes' },
  ],
  cases: () => MESSAGES.flatMap((m) => OPS.flatMap((op) => CODECS.map((c) => makeCase(m, op, c)))),
  notes: sizes,
});
