/**
 * /allocations/{consumer} (GET, PUT in every body form, DELETE), POST /allocations (1.13+,
 * several consumers atomically) and GET /resource_providers/{uuid}/allocations, per
 * placement/handlers/allocation.py. Provider generations in request bodies are ignored, as in
 * Placement.
 */
import type { FastifyInstance } from 'fastify';
import { tryParseUuid, type Uuid } from '../../../core/model/ids.ts';
import {
  type ConsumerView,
  deleteAllocations,
  type PlacementState,
  providerAllocations,
  writeAllocations,
} from '../../../core/placement/operations.ts';
import { type ConsumerBody, consumerWrite } from '../allocation-input.ts';
import type { RouteOptions } from '../context.ts';
import { badRequest, notFound, unwrapOutcome } from '../errors.ts';
import { cacheHeaders, jsonBody, mv, pathParam, pathUuid, routes, sendEmpty, sendJson } from '../http.ts';
import { type Microversion, requireVersion } from '../microversion.ts';
import { postAllocationsSchema, putAllocationSchema } from './allocation-schemas.ts';

function consumerUuidOf(raw: string): Uuid {
  const u = tryParseUuid(raw);
  if (!u) throw badRequest(`Malformed consumer_uuid: ${raw}`);
  return u;
}

/** GET /allocations/{consumer}'s body. */
export function consumerAllocationsJson(s: PlacementState, c: ConsumerView | undefined, v: Microversion) {
  const allocations: Record<string, { resources: Record<string, number>; generation: number }> = {};
  if (!c) return { allocations };
  for (const [rp, byClass] of c.allocations)
    allocations[rp] = { resources: Object.fromEntries(byClass), generation: s.provider(rp)?.generation ?? 0 };
  const out: Record<string, unknown> = { allocations };
  if (v.atLeast(12)) {
    out.project_id = c.projectId;
    out.user_id = c.userId;
  }
  if (v.atLeast(28)) out.consumer_generation = c.generation;
  if (v.atLeast(38)) out.consumer_type = c.consumerType ?? 'unknown';
  return out;
}

export async function allocationRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const { service } = ctx;
  routes(app, '/allocations/:consumer', {
    GET: async (req, reply) => {
      const v = mv(req);
      const uuid = consumerUuidOf(pathParam(req, 'consumer'));
      const json = await service.read((s) => consumerAllocationsJson(s, s.consumer(uuid), v));
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, json);
    },
    PUT: async (req, reply) => {
      const v = mv(req);
      const uuid = consumerUuidOf(pathParam(req, 'consumer'));
      const body = jsonBody<ConsumerBody>(req, putAllocationSchema(v));
      const write = consumerWrite(uuid, body, v);
      unwrapOutcome(await service.write((s) => writeAllocations(s, [write])));
      return sendEmpty(reply, 204);
    },
    DELETE: async (req, reply) => {
      const uuid = consumerUuidOf(pathParam(req, 'consumer'));
      const out = await service.write((s) => deleteAllocations(s, uuid));
      if (!out.ok && out.error.code === 'notFound') throw notFound(`No allocations for consumer '${uuid}'`);
      unwrapOutcome(out);
      return sendEmpty(reply, 204);
    },
  });

  routes(app, '/allocations', {
    POST: async (req, reply) => {
      const v = mv(req);
      requireVersion(v, 13);
      const body = jsonBody<Record<string, ConsumerBody>>(req, postAllocationsSchema(v));
      const writes = Object.entries(body).map(([c, b]) => consumerWrite(consumerUuidOf(c), b, v));
      unwrapOutcome(await service.write((s) => writeAllocations(s, writes)));
      return sendEmpty(reply, 204);
    },
  });

  routes(app, '/resource_providers/:uuid/allocations', {
    GET: async (req, reply) => {
      const v = mv(req);
      const uuid = pathUuid(req);
      const json = await service.read((s) => {
        const rp = s.provider(uuid);
        if (!rp) return undefined;
        const allocations: Record<string, Record<string, unknown>> = {};
        for (const [consumer, byClass] of providerAllocations(s, rp)) {
          const entry: Record<string, unknown> = { resources: Object.fromEntries(byClass) };
          if (v.atLeast(28)) entry.consumer_generation = s.consumer(consumer)?.generation ?? null;
          allocations[consumer] = entry;
        }
        return { allocations, resource_provider_generation: rp.generation };
      });
      if (!json)
        throw notFound(`Resource provider '${uuid}' not found: No resource provider with uuid ${uuid} found`);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, json);
    },
  });
}
