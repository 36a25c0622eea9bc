/**
 * /os-quota-sets/{project}[/defaults|/detail] (nova/api/openstack/compute/quota_sets.py): show the
 * project's limits (its own over the defaults), the defaults, or limits with usage; update (200,
 * refusing a limit below usage unless `force`); delete = back to defaults (202). The resources
 * shown depend on the microversion (quota.ts). Per-user quotas (`user_id`) are not supported.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ComputeContext, RouteOptions } from '../context.ts';
import { badRequest } from '../errors.ts';
import { checkQuery, jsonBody, mv, pathParam, routes, sendEmpty, sendJson } from '../http.ts';
import type { ApiVersion } from '../microversion.ts';
import { effectiveLimits, MAX_QUOTA_LIMIT, resourcesAt } from '../quota.ts';
import type { Schema } from '../validate.ts';
import { BOOLEAN } from './flavor-schemas.ts';
import { parseBool } from './flavors.ts';

const QUERY: Schema = {
  type: 'object',
  properties: { user_id: { type: 'string' } },
  additionalProperties: false,
};
const LIMIT: Schema = {
  type: ['integer', 'string'],
  pattern: '^-?[0-9]+$',
  minimum: -1,
  maximum: MAX_QUOTA_LIMIT,
};

const updateSchemas = new Map<number, Schema>();
function updateSchema(v: ApiVersion): Schema {
  let s = updateSchemas.get(v.minor);
  if (!s) {
    const props: Record<string, Schema> = { force: BOOLEAN };
    for (const r of resourcesAt(v.minor)) props[r.name] = LIMIT;
    s = {
      type: 'object',
      properties: { quota_set: { type: 'object', properties: props, additionalProperties: false } },
      required: ['quota_set'],
      additionalProperties: false,
    };
    updateSchemas.set(v.minor, s);
  }
  return s;
}

function project(req: FastifyRequest): string {
  const q = checkQuery(req, QUERY);
  if (q.user_id !== undefined)
    throw badRequest(
      'Per-user quotas are not supported by cellplane: omit user_id to use the project quota.',
    );
  return pathParam(req, 'project'); // decoded once by the router: '%25' is a literal '%'
}

/** What each resource is using now: instances/cores/ram from the usage source, server groups counted. */
async function inUse(ctx: ComputeContext, projectId: string): Promise<Record<string, number>> {
  const [u, groups] = await Promise.all([
    ctx.usage.usage(projectId),
    ctx.store.serverGroups.countForProject(projectId),
  ]);
  return { instances: u.instances, cores: u.cores, ram: u.ram, server_groups: groups };
}

function shown(v: ApiVersion, limits: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(resourcesAt(v.minor).map((r) => [r.name, limits[r.name] ?? r.default]));
}

export async function quotaSetRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const limitsOf = async (p: string) => effectiveLimits(ctx.quotaDefaults, await ctx.store.quotas.get(p));

  routes(app, '/os-quota-sets/:project', {
    GET: async (req, reply) => {
      const p = project(req);
      return sendJson(reply, 200, { quota_set: { id: p, ...shown(mv(req), await limitsOf(p)) } });
    },
    PUT: async (req, reply) => {
      const v = mv(req);
      const p = project(req);
      const { force, ...given } = jsonBody<{ quota_set: Record<string, number | string | boolean> }>(
        req,
        updateSchema(v),
      ).quota_set;
      const limits = Object.fromEntries(Object.entries(given).map(([k, x]) => [k, Number(x)]));
      if (!parseBool(force ?? false)) {
        const used = await inUse(ctx, p);
        for (const [r, limit] of Object.entries(limits)) {
          const min = used[r] ?? 0;
          if (limit >= 0 && limit < min)
            throw badRequest(
              `Quota limit ${limit} for ${r} must be greater than or equal to already used and reserved ${min}.`,
            );
        }
      }
      const own = await ctx.store.quotas.set(p, limits);
      return sendJson(reply, 200, { quota_set: shown(v, effectiveLimits(ctx.quotaDefaults, own)) });
    },
    DELETE: async (req, reply) => {
      await ctx.store.quotas.reset(project(req));
      return sendEmpty(reply, 202);
    },
  });

  routes(app, '/os-quota-sets/:project/defaults', {
    GET: async (req, reply) => {
      const p = project(req);
      return sendJson(reply, 200, { quota_set: { id: p, ...shown(mv(req), ctx.quotaDefaults) } });
    },
  });

  routes(app, '/os-quota-sets/:project/detail', {
    GET: async (req, reply) => {
      const p = project(req);
      const [limits, used] = await Promise.all([limitsOf(p), inUse(ctx, p)]);
      const detail = Object.fromEntries(
        Object.entries(shown(mv(req), limits)).map(([r, limit]) => [
          r,
          { in_use: used[r] ?? 0, limit, reserved: 0 },
        ]),
      );
      return sendJson(reply, 200, { quota_set: { id: p, ...detail } });
    },
  });
}
