/**
 * JSON-schema validation of bodies and query strings (ajv), with Placement's message prefixes
 * ("JSON does not validate: …", "Invalid query string parameters: …") and jsonschema-like,
 * actionable details naming the offending field; quoted values are bounded in depth and length
 * (api/common/bounded.ts). Schemas are compiled once and cached.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { tryParseUuid } from '../../core/model/ids.ts';
import { boundedRepr, boundedText, MAX_ECHO_CHARS } from '../common/bounded.ts';
import { badRequest } from './errors.ts';

export type Schema = Record<string, unknown>;

const ajv = new Ajv({ allErrors: false, strict: false, verbose: true });
ajv.addFormat('uuid', { type: 'string', validate: (s: string) => tryParseUuid(s) !== undefined });
const compiled = new WeakMap<Schema, ValidateFunction>();
/**
 * Also by schema text: routes build their schema per microversion on every request, and ajv both
 * compiles (milliseconds) and caches (for good) each new schema object. Keyed by text, each
 * distinct schema compiles once; the map is bounded by the schemas the routes can build.
 */
const compiledByText = new Map<string, ValidateFunction>();

function compile(schema: Schema): ValidateFunction {
  let v = compiled.get(schema);
  if (v) return v;
  const text = JSON.stringify(schema);
  v = compiledByText.get(text);
  if (!v) {
    v = ajv.compile(schema);
    compiledByText.set(text, v);
  }
  compiled.set(schema, v);
  return v;
}

/** A value as the details quote it, bounded in depth and length (api/common/bounded.ts). */
const repr = (v: unknown): string =>
  typeof v === 'string' ? `'${boundedText(v, MAX_ECHO_CHARS)}'` : boundedRepr(v, 'json');
const echo = (s: unknown) => boundedText(String(s), MAX_ECHO_CHARS);

/** One ajv error in jsonschema's words, plus where it is. */
export function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const where = e.instancePath === '' ? '' : ` (at ${echo(e.instancePath)})`;
  const v = e.data;
  switch (e.keyword) {
    case 'type':
      return `${repr(v)} is not of type '${p.type}'${where}`;
    case 'required':
      return `'${echo(p.missingProperty)}' is a required property${where}`;
    case 'additionalProperties':
      return `Additional properties are not allowed ('${echo(p.additionalProperty)}' was unexpected)${where}`;
    case 'pattern':
      return `${repr(v)} does not match '${p.pattern}'${where}`;
    case 'minimum':
      return `${repr(v)} is less than the minimum of ${p.limit}${where}`;
    case 'maximum':
      return `${repr(v)} is greater than the maximum of ${p.limit}${where}`;
    case 'maxLength':
      return `${repr(v)} is too long (at most ${p.limit} characters)${where}`;
    case 'minLength':
      return `${repr(v)} is too short (at least ${p.limit} characters)${where}`;
    case 'format':
      return `${repr(v)} is not a '${p.format}'${where}`;
    case 'enum':
      return `${repr(v)} is not one of ${boundedRepr(p.allowedValues, 'json')}${where}`;
    case 'minProperties':
      return `${repr(v)} does not have enough properties${where}`;
    case 'minItems':
      return `${repr(v)} is too short${where}`;
    case 'uniqueItems':
      return `${repr(v)} has non-unique elements${where}`;
    default:
      return `${e.message ?? 'is invalid'}${where}`;
  }
}

function firstError(validate: ValidateFunction, data: unknown): string | undefined {
  if (validate(data)) return undefined;
  const e = validate.errors?.[0];
  return e ? describe({ ...e, data: e.data ?? pick(data, e.instancePath) }) : 'invalid';
}

function pick(data: unknown, pointer: string): unknown {
  let cur = data;
  for (const part of pointer.split('/').slice(1)) cur = (cur as Record<string, unknown> | undefined)?.[part];
  return cur;
}

/** Validates a parsed body; throws Placement's 400. */
export function validateBody(data: unknown, schema: Schema): void {
  const problem = firstError(compile(schema), data);
  if (problem) throw badRequest(`JSON does not validate: ${problem}`);
}

/** Validates query parameters (last value of each key, as webob's dict(req.GET)); throws 400. */
export function validateQuery(query: Record<string, string>, schema: Schema): void {
  const problem = firstError(compile(schema), query);
  if (problem) throw badRequest(`Invalid query string parameters: ${problem}`);
}
