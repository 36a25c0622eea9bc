import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, decodeAny, defineMessage, encode, pack, peek } from '../../core/codec/envelope.ts';
import * as f from '../../core/codec/fields.ts';
import { CellplaneError } from '../../core/errors.ts';

// The same message at three versions, as three builds of cellplane would define it.
// v1.1 is the original; v1.3 added an optional `az` and `traits`; v2.0 renamed `vcpus`.
interface PingV1 {
  id: string;
  vcpus: number;
  az?: string | undefined;
  traits?: string[] | undefined;
}
const T = 'cp.test.ping';
const pingV1_1 = defineMessage<PingV1>({
  type: T,
  major: 1,
  minor: 1,
  parse(body) {
    const o = f.asObject(body, T);
    return { id: f.string(o, 'id', T), vcpus: f.int(o, 'vcpus', T) };
  },
});
const pingV1_3 = defineMessage<PingV1>({
  type: T,
  major: 1,
  minor: 3,
  parse(body) {
    const o = f.asObject(body, T);
    return {
      id: f.string(o, 'id', T),
      vcpus: f.int(o, 'vcpus', T),
      az: f.optString(o, 'az', T),
      traits: f.optStrings(o, 'traits', T),
    };
  },
});
const pingV2 = defineMessage<{ id: string; cores: number }>({
  type: T,
  major: 2,
  minor: 0,
  parse(body) {
    const o = f.asObject(body, T);
    return { id: f.string(o, 'id', T), cores: f.int(o, 'cores', T) };
  },
});
const blob = defineMessage<{ data: Uint8Array; n: number }>({
  type: 'cp.test.blob',
  major: 1,
  minor: 0,
  parse(body) {
    const o = f.asObject(body, 'blob');
    return { data: f.bytes(o, 'data', 'blob'), n: f.int(o, 'n', 'blob') };
  },
});
/** Accepts any body as-is: for properties about the envelope itself. */
const anyBody = defineMessage<unknown>({ type: 'cp.test.any', major: 1, minor: 0, parse: (b) => b });

/** Decoded bin values are Buffers when the input was a Buffer: compare them as plain bytes. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as CellplaneError;
  }
  throw new Error('expected a throw');
}

describe('envelope: versions', () => {
  it('round-trips a message of the same version', () => {
    const body = { id: 'req-1', vcpus: 4, az: 'az1', traits: ['HW_CPU_X86_AVX2'] };
    expect(decode(pingV1_3, encode(pingV1_3, body))).toEqual(body);
  });

  it('a newer minor (v1.3) decodes on an older reader (v1.1) with the unknown fields ignored', () => {
    const bytes = encode(pingV1_3, { id: 'req-1', vcpus: 4, az: 'az1', traits: ['CUSTOM_X'] });
    expect(peek(bytes)).toMatchObject({ type: T, major: 1, minor: 3 });
    expect(decode(pingV1_1, bytes)).toEqual({ id: 'req-1', vcpus: 4 });
  });

  it('an older minor (v1.1) decodes on a newer reader (v1.3) with the optional fields absent', () => {
    const got = decode(pingV1_3, encode(pingV1_1, { id: 'req-2', vcpus: 2 }));
    expect(got).toEqual({ id: 'req-2', vcpus: 2 });
    expect(got.az).toBeUndefined();
    expect(got.traits).toBeUndefined();
  });

  it('an unknown major is unsupportedVersion, naming the type and both versions', () => {
    const err = codeOf(() => decode(pingV1_3, encode(pingV2, { id: 'x', cores: 1 })));
    expect(err.code).toBe('unsupportedVersion');
    expect(err.message).toContain('cp.test.ping v2.0 is not supported');
    expect(err.message).toContain('major version(s) 1');
    // …and the other way round: a v1 message to a build that only reads v2.
    const back = codeOf(() => decode(pingV2, encode(pingV1_1, { id: 'x', vcpus: 1 })));
    expect(back.code).toBe('unsupportedVersion');
    expect(back.message).toContain('cp.test.ping v1.1');
    expect(back.message).toContain('major version(s) 2');
  });

  it('an unknown type is unsupportedVersion naming the type', () => {
    const err = codeOf(() => decode(pingV1_1, encode(blob, { data: new Uint8Array(1), n: 1 })));
    expect(err.code).toBe('unsupportedVersion');
    expect(err.message).toContain('"cp.test.blob"');
    expect(codeOf(() => decodeAny([pingV1_1, pingV2], encode(anyBody, 1))).code).toBe('unsupportedVersion');
  });

  it('decodeAny picks the kind by type and major', () => {
    const kinds = [pingV1_3, pingV2, blob] as const;
    const a = decodeAny(kinds, encode(pingV2, { id: 'a', cores: 8 }));
    expect(a.kind).toBe(pingV2);
    expect(a.body).toEqual({ id: 'a', cores: 8 });
    const b = decodeAny(kinds, encode(pingV1_1, { id: 'b', vcpus: 3 }));
    expect(b.kind).toBe(pingV1_3);
    expect(b.body).toEqual({ id: 'b', vcpus: 3 });
    expect(decodeAny(kinds, encode(blob, { data: new Uint8Array([7]), n: 0 })).kind).toBe(blob);
  });

  it('rejects message type names that are not dotted lowercase words', () => {
    for (const type of ['ping', 'cp.Ping', 'cp..x', '1cp.x', 'cp.x-y']) {
      expect(() => defineMessage({ type, major: 1, minor: 0, parse: (b) => b })).toThrow(/dotted lowercase/);
    }
  });
});

describe('envelope: bad input is invalid', () => {
  const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
  it.each([
    ['empty input', new Uint8Array(0)],
    ['plain text', new TextEncoder().encode('hello world')],
    ['JSON text', new TextEncoder().encode('["cp.test.ping",1,0,{}]')],
    ['a truncated envelope', hex('94 ac 63702e746573742e70696e67 01')],
    ['the reserved byte 0xc1', hex('c1')],
    ['an unknown extension', hex('c7 01 02 ff')],
    ['msgpack that is not an array', pack({ type: T })],
    ['an array of 3', pack([T, 1, 0])],
    ['a numeric type', pack([7, 1, 0, {}])],
    ['a fractional major', pack([T, 1.5, 0, {}])],
    ['a string minor', pack([T, 1, '0', {}])],
  ])('%s', (_, bytes) => {
    const err = codeOf(() => decode(pingV1_1, bytes));
    expect(err.code).toBe('invalid');
    expect(codeOf(() => decodeAny([pingV1_1], bytes)).code).toBe('invalid');
  });

  it('a body that fails parse is invalid and names the field', () => {
    const err = codeOf(() => decode(pingV1_1, pack([T, 1, 0, { id: 'x', vcpus: '4' }])));
    expect(err.code).toBe('invalid');
    expect(err.message).toBe('cp.test.ping.vcpus must be an integer, got string "4"');
  });
});

describe('envelope: values', () => {
  it('binary bodies round-trip and do not alias the input buffer', () => {
    const data = Uint8Array.from([0, 1, 2, 253, 254, 255]);
    const bytes = encode(blob, { data, n: 1 });
    const got = decode(blob, bytes);
    expect(got.data).toBeInstanceOf(Uint8Array);
    expect([...got.data]).toEqual([...data]);
    bytes.fill(0); // a reused read buffer must not change what was decoded
    expect([...got.data]).toEqual([...data]);
  });

  it('integers beyond 2^32 stay numbers, exactly', () => {
    const values = [
      2 ** 32,
      2 ** 32 + 1,
      2 ** 40 + 7,
      -(2 ** 40) - 7,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
    ];
    const got = decode(anyBody, encode(anyBody, values)) as number[];
    expect(got).toEqual(values);
    for (const v of got) expect(typeof v).toBe('number');
  });

  it('a uint64 from another msgpack writer decodes as a number', () => {
    // [ "cp.test.any", 1, 0, uint64 2^40 ] written by hand: 0xcf + 8 big-endian bytes.
    const head = pack(['cp.test.any', 1, 0]);
    const bytes = Uint8Array.from([0x94, ...head.subarray(1), 0xcf, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(decode(anyBody, bytes)).toBe(2 ** 40);
  });

  it('known lossy edges: -0 becomes 0 and a "__proto__" key cannot pollute the prototype', () => {
    expect(Object.is(decode(anyBody, encode(anyBody, -0)), 0)).toBe(true);
    const got = decode(anyBody, encode(anyBody, JSON.parse('{"__proto__":{"polluted":true}}'))) as object;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('safety: any JSON-ish body (with bytes) decodes to an equal body', () => {
    const key = fc.string({ maxLength: 8, unit: 'grapheme' }).filter((k) => k !== '__proto__');
    const leaf = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.maxSafeInteger(),
      fc.double({ noNaN: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
      fc.string({ unit: 'grapheme' }),
      fc.uint8Array({ maxLength: 16 }),
    );
    const { value } = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('value'), { maxLength: 5 }),
        fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
      ),
    }));
    fc.assert(
      fc.property(value, (body) => {
        expect(plain(decode(anyBody, encode(anyBody, body)))).toEqual(body);
      }),
      { numRuns: 300 },
    );
  });
});

describe('fields: errors name the path', () => {
  const P = 'cp.sched.select';
  const o = {
    id: 'r1',
    n: 3.5,
    big: 2 ** 40,
    flag: 'yes',
    tags: ['a', 2],
    flavor: { resources: { VCPU: 4, MEMORY_MB: '2048' } },
    hosts: [{ name: 'h1' }, { name: 7 }],
    kind: 'vm',
    blob: 'not bytes',
    nil: null,
  };
  it.each([
    ['missing required string', () => f.string(o, 'missing', P), `${P}.missing is required (a string)`],
    [
      'inherited keys are not fields',
      () => f.string(o, 'constructor', P),
      `${P}.constructor is required (a string)`,
    ],
    ['non-integer', () => f.int(o, 'n', P), `${P}.n must be an integer, got number 3.5`],
    ['integer out of range', () => f.int(o, 'big', P, { max: 2 ** 32 }), `${P}.big must be an integer in`],
    ['non-boolean', () => f.boolean(o, 'flag', P), `${P}.flag must be a boolean, got string "yes"`],
    ['array item', () => f.strings(o, 'tags', P), `${P}.tags[1] must be a string, got number 2`],
    [
      'too many items',
      () => f.strings(o, 'tags', P, { maxItems: 1 }),
      `${P}.tags must be an array of at most 1`,
    ],
    [
      'deep record value',
      () => f.nested(o, 'flavor', P, (fl, p) => f.record(fl, 'resources', p, f.asInt)),
      `${P}.flavor.resources.MEMORY_MB must be an integer, got string "2048"`,
    ],
    [
      'list of objects',
      () => f.list(o, 'hosts', P, (h, p) => f.asNested(h, p, (ho, hp) => f.string(ho, 'name', hp))),
      `${P}.hosts[1].name must be a string, got number 7`,
    ],
    [
      'enum',
      () => f.oneOf(o, 'kind', P, ['baremetal', 'container']),
      `${P}.kind must be one of baremetal, container`,
    ],
    ['bytes', () => f.bytes(o, 'blob', P), `${P}.blob must be bytes, got string "not bytes"`],
    ['null required object', () => f.nested(o, 'nil', P, (x) => x), `${P}.nil must be an object, got null`],
    ['optional present but wrong', () => f.optInt(o, 'id', P), `${P}.id must be an integer, got string "r1"`],
    [
      'string too long',
      () => f.string(o, 'id', P, { maxLength: 1 }),
      `${P}.id must be a string of 0..1 characters`,
    ],
    ['root not an object', () => f.asObject([1], P), `${P} must be an object, got an array of 1`],
  ])('%s', (_, read, message) => {
    const err = codeOf(read);
    expect(err).toBeInstanceOf(CellplaneError);
    expect(err.code).toBe('invalid');
    expect(err.message.startsWith(message)).toBe(true);
  });

  it('reads valid fields, with optional ones absent or nil as undefined', () => {
    const kinds = ['vm', 'baremetal'] as const;
    const kind: 'vm' | 'baremetal' = f.oneOf(o, 'kind', P, kinds);
    expect(kind).toBe('vm');
    expect(f.int(o, 'big', P)).toBe(2 ** 40);
    expect(f.number(o, 'n', P)).toBe(3.5);
    expect(f.optString(o, 'missing', P)).toBeUndefined();
    expect(f.optString(o, 'nil', P)).toBeUndefined();
    expect(f.optNested(o, 'nil', P, (x) => x)).toBeUndefined();
    expect(f.list(o, 'hosts', P, (h, p) => f.asObject(h, p))).toHaveLength(2);
    expect(f.optBoolean({ b: false }, 'b', P)).toBe(false);
  });

  it('quotes at most MAX_QUOTED_CHARS of a bad string', () => {
    const err = codeOf(() => f.int({ x: 'y'.repeat(1000) }, 'x', ''));
    expect(err.message).toBe(`x must be an integer, got string "${'y'.repeat(f.MAX_QUOTED_CHARS)}…"`);
  });
});
