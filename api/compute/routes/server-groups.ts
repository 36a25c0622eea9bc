/**
 * /os-server-groups (nova/api/openstack/compute/server_groups.py): list (own project, or every
 * project with `all_projects`; limit/offset), create (200; `policies: [one]` before 2.64, `policy`
 * + `rules.max_server_per_host` from 2.64), show, delete (204). The project's `server_groups`
 * quota is enforced on create (403).
 */
import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from '../context.ts';
import { badRequest, forbidden } from '../errors.ts';
import { checkQuery, identity, jsonBody, mv, pathParam, routes, sendEmpty, sendJson } from '../http.ts';
import type { ApiVersion } from '../microversion.ts';
import { effectiveLimits } from '../quota.ts';
import type { ServerGroupPolicy, ServerGroupRecord } from '../store/records.ts';
import type { Schema } from '../validate.ts';
import { NAME } from './flavor-schemas.ts';

const HARD = ['anti-affinity', 'affinity'];
const ALL_POLICIES = [...HARD, 'soft-anti-affinity', 'soft-affinity'];

function createSchema(v: ApiVersion): Schema {
  const props: Record<string, Schema> = { name: NAME };
  const required = ['name'];
  if (v.atLeast(64)) {
    props.policy = { type: 'string', enum: ALL_POLICIES };
    props.rules = {
      type: 'object',
      properties: { max_server_per_host: { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 1 } },
      additionalProperties: false,
    };
    required.push('policy');
  } else {
    props.policies = {
      type: 'array',
      items: { type: 'string', enum: v.atLeast(15) ? ALL_POLICIES : HARD },
      uniqueItems: true,
      minItems: 1,
      maxItems: 1,
    };
    required.push('policies');
  }
  return {
    type: 'object',
    properties: {
      server_group: { type: 'object', properties: props, required, additionalProperties: false },
    },
    required: ['server_group'],
    additionalProperties: false,
  };
}
const SCHEMAS = new Map<string, Schema>();
const schemaFor = (v: ApiVersion) => {
  const k = v.atLeast(64) ? '64' : v.atLeast(15) ? '15' : '1';
  if (!SCHEMAS.has(k)) SCHEMAS.set(k, createSchema(v));
  return SCHEMAS.get(k)!;
};

const indexQuery = (strict: boolean): Schema => ({
  type: 'object',
  properties: {
    all_projects: { type: 'string' },
    limit: { type: 'string', pattern: '^[0-9]+$' },
    offset: { type: 'string', pattern: '^[0-9]+$' },
  },
  additionalProperties: !strict,
});
const INDEX_QUERY = indexQuery(false);
const INDEX_QUERY_2_75 = indexQuery(true);

function view(g: ServerGroupRecord, v: ApiVersion) {
  const out: Record<string, unknown> = { id: g.uuid, name: g.name };
  if (v.atLeast(64)) {
    out.policy = g.policy;
    out.rules = { ...g.rules };
  } else {
    out.policies = [g.policy];
    out.metadata = {};
  }
  out.members = [...g.members];
  if (v.atLeast(13)) {
    out.project_id = g.projectId;
    out.user_id = g.userId;
  }
  return out;
}

interface CreateBody {
  server_group: {
    name: string;
    policies?: ServerGroupPolicy[];
    policy?: ServerGroupPolicy;
    rules?: { max_server_per_host?: number | string };
  };
}

export async function serverGroupRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const groups = ctx.store.serverGroups;

  routes(app, '/os-server-groups', {
    GET: async (req, reply) => {
      const v = mv(req);
      const q = checkQuery(req, v.atLeast(75) ? INDEX_QUERY_2_75 : INDEX_QUERY);
      const limit = Math.min(q.limit === undefined ? ctx.maxLimit : Number(q.limit), ctx.maxLimit);
      const project = q.all_projects !== undefined ? undefined : identity(req).projectId;
      const page = await groups.list(project, Number(q.offset ?? 0), limit);
      return sendJson(reply, 200, { server_groups: page.map((g) => view(g, v)) });
    },
    POST: async (req, reply) => {
      const v = mv(req);
      const sg = jsonBody<CreateBody>(req, schemaFor(v)).server_group;
      const policy = (sg.policy ?? sg.policies?.[0])!;
      const rules: { max_server_per_host?: number } = {};
      if (sg.rules?.max_server_per_host !== undefined) {
        const n = Number(sg.rules.max_server_per_host);
        if (!Number.isSafeInteger(n) || n < 1)
          throw badRequest(`Invalid input received: max_server_per_host must be a positive integer`);
        rules.max_server_per_host = n;
      }
      if (policy !== 'anti-affinity' && Object.keys(rules).length > 0)
        throw badRequest('Only anti-affinity policy supports rules.');
      const who = identity(req);
      const own = await ctx.store.quotas.get(who.projectId);
      const limit = effectiveLimits(ctx.quotaDefaults, own).server_groups ?? -1;
      const g = await groups.create(
        { name: sg.name.trim(), policy, rules, projectId: who.projectId, userId: who.userId },
        limit,
        () => forbidden('Quota exceeded, too many server groups.'),
      );
      return sendJson(reply, 200, { server_group: view(g, v) });
    },
  });

  routes(app, '/os-server-groups/:id', {
    GET: async (req, reply) =>
      sendJson(reply, 200, { server_group: view(await groups.require(pathParam(req, 'id')), mv(req)) }),
    DELETE: async (req, reply) => {
      await groups.delete(pathParam(req, 'id'));
      return sendEmpty(reply, 204);
    },
  });
}
