/**
 * JSON-schema validation (ajv) with Nova's messages (nova/api/validation/validators.py):
 *   body:  "Invalid input for field/attribute <field>. Value: <value>. <jsonschema message>"
 *   query: "Invalid input for query parameters <name>. Value: <value>. <jsonschema message>"
 * and the bare jsonschema message for a problem at the root. Values print as Python reprs, as
 * Nova's do, bounded in depth and length (api/common/bounded.ts). Schemas are compiled once and
 * cached.
 *
 * As Nova's validator, `minimum`/`maximum` also hold for strings that read as numbers
 * (validators.py `_validate_minimum`: `int()`, else `float()`, else not checked): a count of
 * `"0"` is refused as `0` is. ajv skips those keywords on strings, so each schema is compiled
 * with `stringMinimum`/`stringMaximum` beside every `minimum`/`maximum`.
 */
import { Ajv, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import { tryParseUuid } from '../../core/model/ids.ts';
import { boundedRepr, boundedText, MAX_ECHO_CHARS } from '../common/bounded.ts';
import { badRequest } from './errors.ts';

export type Schema = Record<string, unknown>;

const ajv = new Ajv({ allErrors: false, strict: false, verbose: true });
ajv.addFormat('uuid', { type: 'string', validate: (s: string) => tryParseUuid(s) !== undefined });

/** Python's int(s), else float(s), as Nova's _number_from_str; undefined when neither reads it. */
function numberFromString(s: string): number | undefined {
  const t = s.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(inf|infinity|nan)$/i.test(t)) return undefined;
  const n = Number(t.replace(/^([-+]?)inf(inity)?$/i, '$1Infinity'));
  return Number.isNaN(n) ? undefined : n;
}

function stringBound(keyword: 'minimum' | 'maximum'): SchemaValidateFunction {
  const check: SchemaValidateFunction = (limit: number, data: string) => {
    const n = numberFromString(data);
    if (n === undefined || (keyword === 'minimum' ? n >= limit : n <= limit)) return true;
    check.errors = [{ keyword, params: { limit, number: n } }];
    return false;
  };
  return check;
}
ajv.addKeyword({
  keyword: 'stringMinimum',
  type: 'string',
  schemaType: 'number',
  errors: true,
  validate: stringBound('minimum'),
});
ajv.addKeyword({
  keyword: 'stringMaximum',
  type: 'string',
  schemaType: 'number',
  errors: true,
  validate: stringBound('maximum'),
});

/** `schema` with `stringMinimum`/`stringMaximum` beside each `minimum`/`maximum`, at every level. */
function withStringBounds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withStringBounds);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema))
    out[k] = k === 'enum' || k === 'const' ? v : withStringBounds(v);
  if (typeof out.minimum === 'number') out.stringMinimum = out.minimum;
  if (typeof out.maximum === 'number') out.stringMaximum = out.maximum;
  return out;
}

const compiled = new WeakMap<Schema, ValidateFunction>();

function compile(schema: Schema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(withStringBounds(schema) as Schema);
    compiled.set(schema, v);
  }
  return v;
}

/** Python's repr of a JSON value ('str', True/False/None, [..], {'k': v}), bounded. */
export function pyRepr(v: unknown): string {
  return boundedRepr(v, 'python');
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
      return `Additional properties are not allowed ('${echo(String(p.additionalProperty))}' was unexpected)`;
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

const echo = (s: string) => boundedText(s, MAX_ECHO_CHARS);

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
  // A string bound (stringMinimum/Maximum) is reported with the number read, as Nova does.
  const number = (e.params as { number?: number }).number;
  const at = number ?? pick(data, e.instancePath);
  const field = e.instancePath.split('/').pop() ?? '';
  return [echo(field.replace(/~1/g, '/').replace(/~0/g, '~')), at, jsonschemaMessage(e, at)];
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
      : `Invalid input for query parameters ${field}. Value: ${echo(String(value))}. ${message}`,
  );
}
