/** JSON schemas of /resource_providers per microversion (constraints of placement/schemas/resource_provider.py). */
import type { Microversion } from '../microversion.ts';
import type { Schema } from '../validate.ts';

const uuidOrNull = { anyOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }] };
const name = { type: 'string', maxLength: 200 };

const POST_1_0: Schema = {
  type: 'object',
  properties: { name, uuid: { type: 'string', format: 'uuid' } },
  required: ['name'],
  additionalProperties: false,
};
const POST_1_14: Schema = {
  ...POST_1_0,
  properties: { ...(POST_1_0.properties as object), parent_provider_uuid: uuidOrNull },
};
const PUT_1_0: Schema = {
  type: 'object',
  properties: { name },
  required: ['name'],
  additionalProperties: false,
};
const PUT_1_14: Schema = { ...PUT_1_0, properties: { name, parent_provider_uuid: uuidOrNull } };

export const postSchema = (v: Microversion) => (v.atLeast(14) ? POST_1_14 : POST_1_0);
export const putSchema = (v: Microversion) => (v.atLeast(14) ? PUT_1_14 : PUT_1_0);

const str = { type: 'string' };
function listSchema(extra: Record<string, unknown>): Schema {
  return {
    type: 'object',
    properties: { name: str, uuid: { type: 'string', format: 'uuid' }, ...extra },
    additionalProperties: false,
  };
}
const LIST_1_0 = listSchema({});
const LIST_1_3 = listSchema({ member_of: str });
const LIST_1_4 = listSchema({ member_of: str, resources: str });
const LIST_1_14 = listSchema({ member_of: str, resources: str, in_tree: { type: 'string', format: 'uuid' } });
const LIST_1_18 = listSchema({
  member_of: str,
  resources: str,
  in_tree: { type: 'string', format: 'uuid' },
  required: str,
});

export function listQuerySchema(v: Microversion): Schema {
  if (v.atLeast(18)) return LIST_1_18;
  if (v.atLeast(14)) return LIST_1_14;
  if (v.atLeast(4)) return LIST_1_4;
  if (v.atLeast(3)) return LIST_1_3;
  return LIST_1_0;
}
