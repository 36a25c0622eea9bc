/** JSON schemas of the flavor routes, per microversion (nova/api/openstack/compute/schemas/flavor*.py). */
import type { Schema } from '../validate.ts';

const MAX_INT = 0x7fffffff;
/** Nova's parameter_types.name: 1..255 printable characters, no leading/trailing whitespace. */
export const NAME: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^(?!\\s)[^\\u0000-\\u001f\\u007f]*(?<!\\s)$',
};
const positive: Schema = { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 1, maximum: MAX_INT };
const nonNegative: Schema = {
  type: ['integer', 'string'],
  pattern: '^[0-9]*$',
  minimum: 0,
  maximum: MAX_INT,
};
/** Nova's parameter_types.boolean (the routes parse a valid value with flavors.ts parseBool). */
export const BOOLEAN: Schema = {
  type: ['boolean', 'string'],
  enum: [
    true,
    'True',
    'TRUE',
    'true',
    '1',
    'ON',
    'On',
    'on',
    'YES',
    'Yes',
    'yes',
    false,
    'False',
    'FALSE',
    'false',
    '0',
    'OFF',
    'Off',
    'off',
    'NO',
    'No',
    'no',
  ],
};
/** The same words as a query string carries them (strings only). */
export const BOOLEAN_QUERY: Schema = {
  enum: (BOOLEAN.enum as readonly unknown[]).filter((v) => typeof v === 'string'),
};
const DESCRIPTION: Schema = {
  type: ['string', 'null'],
  minLength: 0,
  maxLength: 65535,
  pattern: '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$',
};

function createSchema(withDescription: boolean): Schema {
  const props: Record<string, Schema> = {
    name: NAME,
    id: {
      type: ['string', 'number', 'null'],
      minLength: 1,
      maxLength: 255,
      pattern: '^(?! )[a-zA-Z0-9. _-]+(?<! )$',
    },
    ram: positive,
    vcpus: positive,
    disk: nonNegative,
    'OS-FLV-EXT-DATA:ephemeral': nonNegative,
    swap: nonNegative,
    rxtx_factor: {
      type: ['number', 'string'],
      pattern: '^[0-9]+(\\.[0-9]+)?$',
      exclusiveMinimum: 0,
      maximum: 3.40282e38,
    },
    'os-flavor-access:is_public': BOOLEAN,
  };
  if (withDescription) props.description = DESCRIPTION;
  return {
    type: 'object',
    properties: {
      flavor: {
        type: 'object',
        properties: props,
        required: ['name', 'ram', 'vcpus', 'disk'],
        additionalProperties: false,
      },
    },
    required: ['flavor'],
    additionalProperties: false,
  };
}

export const CREATE = createSchema(false);
export const CREATE_2_55 = createSchema(true);

export const UPDATE_2_55: Schema = {
  type: 'object',
  properties: {
    flavor: {
      type: 'object',
      properties: { description: DESCRIPTION },
      required: ['description'],
      additionalProperties: false,
    },
  },
  required: ['flavor'],
  additionalProperties: false,
};

const NON_NEGATIVE_QUERY: Schema = { type: 'string', pattern: '^[0-9]+$' };
function indexQuery(strict: boolean): Schema {
  return {
    type: 'object',
    properties: {
      limit: NON_NEGATIVE_QUERY,
      marker: { type: 'string' },
      is_public: { type: 'string' },
      minRam: { type: 'string' },
      minDisk: { type: 'string' },
      sort_key: { type: 'string' },
      sort_dir: { type: 'string' },
    },
    additionalProperties: !strict,
  };
}
export const INDEX_QUERY = indexQuery(false);
export const INDEX_QUERY_2_75 = indexQuery(true);

/** Extra spec keys and values (schemas/flavors_extraspecs.py). */
const SPEC_KEY = '^[a-zA-Z0-9-_:. ]{1,255}$';
const SPEC_VALUE: Schema = { type: ['string', 'number', 'boolean'], minLength: 0, maxLength: 255 };
export const EXTRA_SPECS_CREATE: Schema = {
  type: 'object',
  properties: {
    extra_specs: {
      type: 'object',
      patternProperties: { [SPEC_KEY]: SPEC_VALUE },
      additionalProperties: false,
    },
  },
  required: ['extra_specs'],
  additionalProperties: false,
};
export const EXTRA_SPEC_UPDATE: Schema = {
  type: 'object',
  patternProperties: { [SPEC_KEY]: SPEC_VALUE },
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
};

const TENANT: Schema = {
  type: 'object',
  properties: { tenant: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^\\u0000-\\u001f]*$' } },
  required: ['tenant'],
  additionalProperties: false,
};
export const ADD_TENANT_ACCESS: Schema = {
  type: 'object',
  properties: { addTenantAccess: TENANT },
  required: ['addTenantAccess'],
  additionalProperties: false,
};
export const REMOVE_TENANT_ACCESS: Schema = {
  type: 'object',
  properties: { removeTenantAccess: TENANT },
  required: ['removeTenantAccess'],
  additionalProperties: false,
};
