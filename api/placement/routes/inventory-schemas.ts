/** JSON schemas of inventories (constraints of placement/schemas/inventory.py). */
import { MAX_INT, SQL_SP_FLOAT_MAX } from '../../../core/model/inventory.ts';
import type { Schema } from '../validate.ts';

export const RC_PATTERN = '^[A-Z0-9_]+$';

const int = (minimum: number) => ({ type: 'integer', minimum, maximum: MAX_INT });
const fields = {
  resource_provider_generation: { type: 'integer' },
  total: int(1),
  reserved: int(0),
  min_unit: int(1),
  max_unit: int(1),
  step_size: int(1),
  allocation_ratio: { type: 'number', maximum: SQL_SP_FLOAT_MAX },
};

/** PUT /inventories/{rc}: one record, generation required. */
export const BASE_INVENTORY: Schema = {
  type: 'object',
  properties: fields,
  required: ['total', 'resource_provider_generation'],
  additionalProperties: false,
};

/** POST /inventories: one record naming its class, generation optional. */
export const POST_INVENTORY: Schema = {
  type: 'object',
  properties: { ...fields, resource_class: { type: 'string', pattern: RC_PATTERN } },
  required: ['total', 'resource_class'],
  additionalProperties: false,
};

const RECORD: Schema = { ...BASE_INVENTORY, required: ['total'] };

/** PUT /inventories: every record, with the provider generation. */
export const PUT_INVENTORIES: Schema = {
  type: 'object',
  properties: {
    resource_provider_generation: { type: 'integer' },
    inventories: { type: 'object', patternProperties: { [RC_PATTERN]: RECORD } },
  },
  required: ['resource_provider_generation', 'inventories'],
  additionalProperties: false,
};
