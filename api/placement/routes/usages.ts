/**
 * GET /resource_providers/{uuid}/usages and GET /usages?project_id=&user_id=[&consumer_type=]
 * (1.9+; grouped by consumer type with consumer_count from 1.38), per placement/handlers/usage.py.
 */
import type { FastifyInstance } from 'fastify';
import type { PlacementState } from '../../../core/placement/operations.ts';
import { projectUsages, providerUsages } from '../../../core/placement/operations.ts';
import type { RouteOptions } from '../context.ts';
import { notFound } from '../errors.ts';
import { cacheHeaders, checkQuery, mv, pathUuid, routes, sendJson } from '../http.ts';
import { requireVersion } from '../microversion.ts';
import type { Schema } from '../validate.ts';

const ID = { type: 'string', minLength: 1, maxLength: 255 };
const USAGES_1_9: Schema = {
  type: 'object',
  properties: { project_id: ID, user_id: ID },
  required: ['project_id'],
  additionalProperties: false,
};
const USAGES_1_38: Schema = {
  ...USAGES_1_9,
  properties: {
    project_id: ID,
    user_id: ID,
    consumer_type: { ...ID, pattern: '^[A-Z0-9_]+$|^all|^unknown$' },
  },
};

export async function usageRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const { service } = ctx;
  routes(app, '/resource_providers/:uuid/usages', {
    GET: async (req, reply) => {
      const uuid = pathUuid(req);
      const json = await service.read((s) => {
        const rp = s.provider(uuid);
        return rp && { resource_provider_generation: rp.generation, usages: providerUsages(rp) };
      });
      if (!json) throw notFound(`No resource provider with uuid ${uuid} found`);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, json);
    },
  });
  routes(app, '/usages', {
    GET: async (req, reply) => {
      const v = mv(req);
      requireVersion(v, 9);
      const q = checkQuery(req, v.atLeast(38) ? USAGES_1_38 : USAGES_1_9);
      const usages = await service.read((s) =>
        v.atLeast(38)
          ? byConsumerType(s, q.project_id!, q.user_id, q.consumer_type)
          : projectUsages(s, { projectId: q.project_id!, ...(q.user_id ? { userId: q.user_id } : {}) }),
      );
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, { usages });
    },
  });
}

/** 1.38: {TYPE: {consumer_count, RC: used}}, 'all' sums every type, 'unknown' is untyped consumers. */
function byConsumerType(
  s: PlacementState,
  projectId: string,
  userId: string | undefined,
  consumerType: string | undefined,
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const c of s.consumers()) {
    if (c.projectId !== projectId || (userId !== undefined && c.userId !== userId)) continue;
    const type = c.consumerType ?? 'unknown';
    if (consumerType !== undefined && consumerType !== 'all' && consumerType !== type) continue;
    const key = consumerType === 'all' ? 'all' : type;
    const bucket = out[key] ?? { consumer_count: 0 };
    out[key] = bucket;
    bucket.consumer_count = (bucket.consumer_count ?? 0) + 1;
    for (const byClass of c.allocations.values())
      for (const [rc, n] of byClass) bucket[rc] = (bucket[rc] ?? 0) + n;
  }
  return out;
}
