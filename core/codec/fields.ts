/**
 * Small pure helpers for writing a message's `parse` (see envelope.ts).
 *
 * Two layers:
 * - value readers `asString(v, path)`, `asInt(v, path)`… check one value;
 * - field readers `string(o, key, path)`, `optInt(o, key, path)`… read `o[key]` (own
 *   properties only) and name the field `path.key` in errors.
 * Every failure is `CellplaneError('invalid')` whose message starts with the field's full
 * path (`cp.sched.select.flavor.resources.VCPU must be an integer…`), with
 * `details: { path, expected }`. Unknown fields are ignored: a parser only reads what it
 * knows, which is what lets a newer minor's extra fields pass through an older reader.
 * Optional readers treat `undefined` and `null` (nil from other msgpack writers) as absent.
 *
 * ```ts
 * parse(body) {
 *   const o = asObject(body, 'cp.sched.select');
 *   return { id: string(o, 'id', 'cp.sched.select'), az: optString(o, 'az', 'cp.sched.select') };
 * }
 * ```
 */
import { CellplaneError } from '../errors.ts';

/** A decoded msgpack map. */
export type Fields = Readonly<Record<string, unknown>>;

/** How much of a bad value an error message quotes. */
export const MAX_QUOTED_CHARS = 40;

export interface LengthLimits {
  readonly minLength?: number;
  readonly maxLength?: number;
}
export interface IntLimits {
  readonly min?: number;
  readonly max?: number;
}
export interface ItemLimits {
  readonly maxItems?: number;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'string') {
    const s = v.length > MAX_QUOTED_CHARS ? `${v.slice(0, MAX_QUOTED_CHARS)}…` : v;
    return `string ${JSON.stringify(s)}`;
  }
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function fail(path: string, expected: string, v: unknown): never {
  const what =
    v === undefined ? `${path} is required (${expected})` : `${path} must be ${expected}, got ${describe(v)}`;
  throw new CellplaneError('invalid', what, { details: { path, expected } });
}

/** `a.b` + `c` → `a.b.c`; an empty parent gives just the key. */
export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

// ---- value readers -------------------------------------------------------------------

export function asObject(v: unknown, path: string): Fields {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    return fail(path, 'an object', v);
  }
  return v as Fields;
}

export function asString(v: unknown, path: string, limits: LengthLimits = {}): string {
  if (typeof v !== 'string') return fail(path, 'a string', v);
  const { minLength = 0, maxLength = Number.POSITIVE_INFINITY } = limits;
  if (v.length < minLength || v.length > maxLength) {
    const range = Number.isFinite(maxLength) ? `${minLength}..${maxLength}` : `at least ${minLength}`;
    return fail(path, `a string of ${range} characters`, v);
  }
  return v;
}

/** A safe integer (beyond 2^32 is fine; msgpack int64 arrives as a number). */
export function asInt(v: unknown, path: string, limits: IntLimits = {}): number {
  if (!Number.isSafeInteger(v)) return fail(path, 'an integer', v);
  const n = v as number;
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = limits;
  if (n < min || n > max) return fail(path, `an integer in ${min}..${max}`, v);
  return n;
}

/** A finite number. */
export function asNumber(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return fail(path, 'a finite number', v);
  return v;
}

export function asBoolean(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') return fail(path, 'a boolean', v);
  return v;
}

/**
 * Binary (msgpack bin): a Uint8Array copied out of the input — a Node Buffer (a Uint8Array
 * subclass) when the decoded input was a Buffer, as NATS payloads are.
 */
export function asBytes(v: unknown, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) return fail(path, 'bytes', v);
  return v;
}

export function asOneOf<const E extends string>(v: unknown, path: string, values: readonly E[]): E {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    return fail(path, `one of ${values.join(', ')}`, v);
  }
  return v as E;
}

/** An array whose items are each read by `item` (with paths `path[i]`). */
export function asList<T>(
  v: unknown,
  path: string,
  item: (v: unknown, path: string) => T,
  limits: ItemLimits = {},
): T[] {
  if (!Array.isArray(v)) return fail(path, 'an array', v);
  const { maxItems = Number.POSITIVE_INFINITY } = limits;
  if (v.length > maxItems) return fail(path, `an array of at most ${maxItems} items`, v);
  return v.map((x, i) => item(x, at(path, i)));
}

export function asStrings(v: unknown, path: string, limits: ItemLimits = {}): string[] {
  return asList(v, path, (x, p) => asString(x, p), limits);
}

/** A map with arbitrary string keys (e.g. resource class → amount), values read by `value`. */
export function asRecord<T>(
  v: unknown,
  path: string,
  value: (v: unknown, path: string) => T,
): Record<string, T> {
  const o = asObject(v, path);
  const out: Record<string, T> = {};
  for (const key of Object.keys(o)) out[key] = value(o[key], at(path, key));
  return out;
}

/** A nested object handed to `parse` with its own path. */
export function asNested<T>(v: unknown, path: string, parse: (o: Fields, path: string) => T): T {
  return parse(asObject(v, path), path);
}

// ---- field readers -------------------------------------------------------------------

type ValueReader<A extends unknown[], R> = (v: unknown, path: string, ...rest: A) => R;
type FieldReader<A extends unknown[], R> = (o: Fields, key: string, path: string, ...rest: A) => R;

function own(o: Fields, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** Turns a value reader into a required-field reader. */
export function required<A extends unknown[], R>(read: ValueReader<A, R>): FieldReader<A, R> {
  return (o, key, path, ...rest) => read(own(o, key), at(path, key), ...rest);
}

/** Turns a value reader into an optional-field reader: absent or nil → `undefined`. */
export function optional<A extends unknown[], R>(read: ValueReader<A, R>): FieldReader<A, R | undefined> {
  return (o, key, path, ...rest) => {
    const v = own(o, key);
    return v === undefined || v === null ? undefined : read(v, at(path, key), ...rest);
  };
}

export const string = required(asString);
export const optString = optional(asString);
export const int = required(asInt);
export const optInt = optional(asInt);
export const number = required(asNumber);
export const optNumber = optional(asNumber);
export const boolean = required(asBoolean);
export const optBoolean = optional(asBoolean);
export const bytes = required(asBytes);
export const optBytes = optional(asBytes);
export const strings = required(asStrings);
export const optStrings = optional(asStrings);
export const oneOf = required(asOneOf);
export const optOneOf = optional(asOneOf);
export const list = required(asList);
export const optList = optional(asList);
export const record = required(asRecord);
export const optRecord = optional(asRecord);
export const nested = required(asNested);
export const optNested = optional(asNested);
