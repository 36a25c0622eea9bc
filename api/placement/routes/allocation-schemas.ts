/** JSON schemas of allocation writes per microversion (constraints of placement/schemas/allocation.py). */
import type { Microversion } from '../microversion.ts';
import type { Schema } from '../validate.ts';

export const UUID_PATTERN = '^[0-9a-fA-F-]{36}$';
const RC_PATTERN = '^[A-Z0-9_]+$';
const GROUP_PATTERN = '^[a-zA-Z0-9_-]{1,64}$';
const RESOURCES = {
  type: 'object',
  minProperties: 1,
  patternProperties: { [RC_PATTERN]: { type: 'integer', minimum: 1 } },
  additionalProperties: false,
};
const ID = { type: 'string', minLength: 1, maxLength: 255 };

/** 1.0–1.11: a list of {resource_provider: {uuid}, resources}. */
const LIST_1_0: Schema = {
  type: 'object',
  properties: {
    allocations: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        properties: {
          resource_provider: {
            type: 'object',
            properties: { uuid: { type: 'string', format: 'uuid' } },
            additionalProperties: false,
            required: ['uuid'],
          },
          resources: RESOURCES,
        },
        required: ['resource_provider', 'resources'],
        additionalProperties: false,
      },
    },
  },
  required: ['allocations'],
  additionalProperties: false,
};
const LIST_1_8: Schema = {
  ...LIST_1_0,
  properties: { ...(LIST_1_0.properties as object), project_id: ID, user_id: ID },
  required: ['allocations', 'project_id', 'user_id'],
};

function dictForm(minProviders: number, extra: Record<string, unknown>, required: string[]): Schema {
  return {
    type: 'object',
    properties: {
      allocations: {
        type: 'object',
        minProperties: minProviders,
        patternProperties: {
          [UUID_PATTERN]: {
            type: 'object',
            properties: { generation: { type: 'integer' }, resources: RESOURCES },
            required: ['resources'],
            additionalProperties: false,
          },
        },
        additionalProperties: false,
      },
      project_id: ID,
      user_id: ID,
      ...extra,
    },
    additionalProperties: false,
    required: ['allocations', 'project_id', 'user_id', ...required],
  };
}

const GEN = { consumer_generation: { type: ['integer', 'null'] } };
const MAPPINGS = {
  mappings: {
    type: 'object',
    minProperties: 1,
    patternProperties: {
      [GROUP_PATTERN]: { type: 'array', minItems: 1, items: { type: 'string', format: 'uuid' } },
    },
  },
};
const TYPE = { consumer_type: { type: 'string', pattern: RC_PATTERN, minLength: 1, maxLength: 255 } };

const DICT_1_12 = dictForm(1, {}, []);
const DELETABLE = dictForm(0, {}, []);
const DICT_1_28 = dictForm(0, GEN, ['consumer_generation']);
const DICT_1_34 = dictForm(0, { ...GEN, ...MAPPINGS }, ['consumer_generation']);
const DICT_1_38 = dictForm(0, { ...GEN, ...MAPPINGS, ...TYPE }, ['consumer_generation', 'consumer_type']);

/** PUT /allocations/{consumer}. */
export function putAllocationSchema(v: Microversion): Schema {
  if (v.atLeast(38)) return DICT_1_38;
  if (v.atLeast(34)) return DICT_1_34;
  if (v.atLeast(28)) return DICT_1_28;
  if (v.atLeast(12)) return DICT_1_12;
  if (v.atLeast(8)) return LIST_1_8;
  return LIST_1_0;
}

/** One consumer's entry in POST /allocations (and the reshaper's allocations). */
export function consumerEntrySchema(v: Microversion): Schema {
  if (v.atLeast(38)) return DICT_1_38;
  if (v.atLeast(34)) return DICT_1_34;
  if (v.atLeast(28)) return DICT_1_28;
  return DELETABLE;
}

/** POST /allocations (1.13+): consumer uuid → entry; `minConsumers` 0 for the reshaper. */
export function postAllocationsSchema(v: Microversion, minConsumers = 1): Schema {
  return {
    type: 'object',
    minProperties: minConsumers,
    additionalProperties: false,
    patternProperties: { [UUID_PATTERN]: consumerEntrySchema(v) },
  };
}
