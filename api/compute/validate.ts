/**
 * JSON-schema validation (ajv) with Nova's messages (nova/api/validation/validators.py):
 *   body:  "Invalid input for field/attribute <field>. Value: <value>. <jsonschema message>"
 *   query: "Invalid input for query parameters <name>. Value: <value>. <jsonschema message>"
 * and the bare jsonschema message for a problem at the root. Values print as Python reprs, as
 * Nova's do. Schemas are compiled once and cached.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { tryParseUuid } from '../../core/model/ids.ts';
import { badRequest } from './errors.ts';

export type Schema = Record<string, unknown>;

const ajv = new Ajv({ allErrors: false, strict: false, verbose: true });
ajv.addFormat('uuid', { type: 'string', validate: (s: string) => tryParseUuid(s) !== undefined });
const compiled = new WeakMap<Schema, ValidateFunction>();

function compile(schema: Schema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** Python's repr of a JSON value: 'str', True/False/None, [..], {'k': v}. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object')
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  return String(v);
}

const TYPE_NAMES: Record<string, string> = { integer: 'integer', number: 'number', string: 'string' };

/** One ajv error in jsonschema's words. */
export function jsonschemaMessage(e: ErrorObject, v: unknown): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': {
      const t = p.type as string | string[];
      const types = (Array.isArray(t) ? t : String(t).split(',')).map((x) => `'${TYPE_NAMES[x] ?? x}'`);
      return `${pyRepr(v)} is not of type ${types.join(', ')}`;
    }
    case 'required':
      return `'${p.missingProperty}' is a required property`;
    case 'additionalProperties':
      return `Additional properties are not allowed ('${p.additionalProperty}' was unexpected)`;
    case 'pattern':
      return `${pyRepr(v)} does not match '${p.pattern}'`;
    case 'minimum':
      return `${pyRepr(v)} is less than the minimum of ${p.limit}`;
    case 'maximum':
      return `${pyRepr(v)} is greater than the maximum of ${p.limit}`;
    case 'exclusiveMinimum':
      return `${pyRepr(v)} is less than or equal to the minimum of ${p.limit}`;
    case 'maxLength':
      return `${pyRepr(v)} is too long`;
    case 'minLength':
      return `${pyRepr(v)} is too short`;
    case 'format':
      return `${pyRepr(v)} is not a '${p.format}'`;
    case 'enum':
      return `${pyRepr(v)} is not one of ${pyRepr(p.allowedValues)}`;
    case 'minProperties':
      return `${pyRepr(v)} does not have enough properties`;
    case 'maxProperties':
      return `${pyRepr(v)} has too many properties`;
    case 'minItems':
      return `${pyRepr(v)} is too short`;
    case 'maxItems':
      return `${pyRepr(v)} is too long`;
    case 'uniqueItems':
      return `${pyRepr(v)} has non-unique elements`;
    case 'anyOf':
    case 'oneOf':
      return `${pyRepr(v)} is not valid under any of the given schemas`;
    default:
      return e.message ?? 'is invalid';
  }
}

function pick(data: unknown, pointer: string): unknown {
  let cur = data;
  for (const part of pointer.split('/').slice(1))
    cur = (cur as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return cur;
}

/** The first problem as [field (last path element, '' at the root), value there, message]. */
function firstProblem(validate: ValidateFunction, data: unknown): [string, unknown, string] | undefined {
  if (validate(data)) return undefined;
  const e = validate.errors?.[0];
  if (!e) return ['', data, 'invalid'];
  const at = pick(data, e.instancePath);
  const field = e.instancePath.split('/').pop() ?? '';
  return [field.replace(/~1/g, '/').replace(/~0/g, '~'), at, jsonschemaMessage(e, at)];
}

/** Validates a parsed body; throws Nova's 400. */
export function validateBody(data: unknown, schema: Schema): void {
  const p = firstProblem(compile(schema), data);
  if (!p) return;
  const [field, value, message] = p;
  throw badRequest(
    field === ''
      ? message
      : `Invalid input for field/attribute ${field}. Value: ${pyRepr(value)}. ${message}`,
  );
}

/** Validates query parameters (the last value of each key); throws Nova's 400. */
export function validateQuery(query: Record<string, string>, schema: Schema): void {
  const p = firstProblem(compile(schema), query);
  if (!p) return;
  const [field, value, message] = p;
  throw badRequest(
    field === ''
      ? `Invalid input for query parameters. ${message}`
      : `Invalid input for query parameters ${field}. Value: ${String(value)}. ${message}`,
  );
}
