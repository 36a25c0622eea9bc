/**
 * /resource_providers/{uuid}/inventories[/{rc}] per placement/handlers/inventory.py. The
 * single-class routes are one `setInventories` with that class added, changed or left out, so
 * each is one atomic engine write.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Uuid } from '../../../core/model/ids.ts';
import type { Inventory } from '../../../core/model/inventory.ts';
import { type Outcome, PlacementCodes, setInventories } from '../../../core/placement/operations.ts';
import type { RouteOptions } from '../context.ts';
import { badRequest, conflict, notFound, PlacementHttpError, unwrapOutcome } from '../errors.ts';
import {
  cacheHeaders,
  jsonBody,
  locationOf,
  mv,
  pathParam,
  pathUuid,
  routes,
  sendEmpty,
  sendJson,
} from '../http.ts';
import { requireVersion } from '../microversion.ts';
import {
  type InventoryBody,
  inventoriesJson,
  inventoryFromBody,
  inventoryJson,
  providerPath,
} from '../serialize.ts';
import { BASE_INVENTORY, POST_INVENTORY, PUT_INVENTORIES } from './inventory-schemas.ts';

const missing = (uuid: Uuid) => notFound(`No resource provider with uuid ${uuid} found`);

export async function inventoryRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const { service } = ctx;
  const base = '/resource_providers/:uuid/inventories';

  /** One write replacing the provider's inventories with `next(current)`. */
  const replace = (
    req: FastifyRequest,
    uuid: Uuid,
    generation: number | undefined,
    next: (current: ReadonlyMap<string, Inventory>) => Map<string, Inventory>,
  ) =>
    service.write((s): Outcome<ReturnType<typeof inventoriesJson>> => {
      const rp = s.provider(uuid);
      if (!rp) throw missing(uuid);
      const o = setInventories(s, uuid, generation, next(rp.inventories), {
        reservedCanBeTotal: mv(req).atLeast(26),
      });
      return o.ok ? { ok: true, value: inventoriesJson(o.value.provider) } : o;
    });

  routes(app, base, {
    GET: async (req, reply) => {
      const uuid = pathUuid(req);
      const json = await service.read((s) => {
        const rp = s.provider(uuid);
        return rp && inventoriesJson(rp);
      });
      if (!json) throw missing(uuid);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, json);
    },
    PUT: async (req, reply) => {
      const uuid = pathUuid(req);
      const body = jsonBody<{
        resource_provider_generation: number;
        inventories: Record<string, InventoryBody>;
      }>(req, PUT_INVENTORIES);
      const wanted = new Map(Object.entries(body.inventories).map(([rc, b]) => [rc, inventoryFromBody(b)]));
      const out = await replace(req, uuid, body.resource_provider_generation, () => wanted);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, unwrapOutcome(out));
    },
    POST: async (req, reply) => {
      const uuid = pathUuid(req);
      const body = jsonBody<InventoryBody & { resource_class: string }>(req, POST_INVENTORY);
      const rc = body.resource_class;
      const out = await replace(req, uuid, undefined, (cur) => {
        if (cur.has(rc))
          throw conflict(
            `Update conflict: Inventory for '${rc}' on resource provider '${uuid}' already exists.`,
          );
        return new Map([...cur, [rc, inventoryFromBody(body)]]);
      });
      if (!out.ok && out.error.code === 'invalid')
        throw badRequest(`Unable to create inventory for resource provider ${uuid}: ${out.error.message}`);
      const json = unwrapOutcome(out);
      reply.header('location', locationOf(req, `${providerPath(uuid)}/inventories/${rc}`));
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 201, {
        ...json.inventories[rc],
        resource_provider_generation: json.resource_provider_generation,
      });
    },
    DELETE: async (req, reply) => {
      requireVersion(mv(req), 5, 405);
      const uuid = pathUuid(req);
      const out = await replace(req, uuid, undefined, () => new Map());
      if (!out.ok && out.error.code === 'conflict')
        throw conflict(out.error.message, PlacementCodes.inventoryInUse);
      unwrapOutcome(out);
      return sendEmpty(reply, 204);
    },
  });

  routes(app, `${base}/:rc`, {
    GET: async (req, reply) => {
      const uuid = pathUuid(req);
      const rc = pathParam(req, 'rc');
      const found = await service.read((s) => {
        const rp = s.provider(uuid);
        const inv = rp?.inventories.get(rc);
        return rp && { generation: rp.generation, inv };
      });
      if (!found) throw missing(uuid);
      if (!found.inv) throw notFound(`No inventory of class ${rc} for ${uuid}`);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, {
        ...inventoryJson(found.inv),
        resource_provider_generation: found.generation,
      });
    },
    PUT: async (req, reply) => {
      const uuid = pathUuid(req);
      const rc = pathParam(req, 'rc');
      const body = jsonBody<InventoryBody & { resource_provider_generation: number }>(req, BASE_INVENTORY);
      const out = await replace(req, uuid, body.resource_provider_generation, (cur) => {
        if (!cur.has(rc))
          throw badRequest(
            `No inventory record with resource class for resource provider ${uuid}: No inventory of class ${rc} found`,
          );
        return new Map([...cur, [rc, inventoryFromBody(body)]]);
      });
      if (!out.ok && out.error.code === 'invalid')
        throw badRequest(`Unable to update inventory for resource provider ${uuid}: ${out.error.message}`);
      const json = unwrapOutcome(out);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, {
        ...json.inventories[rc],
        resource_provider_generation: json.resource_provider_generation,
      });
    },
    DELETE: async (req, reply) => {
      const uuid = pathUuid(req);
      const rc = pathParam(req, 'rc');
      const out = await replace(req, uuid, undefined, (cur) => {
        if (!cur.has(rc))
          throw notFound(
            `No inventory of class ${rc} found for delete: Inventory of class ${rc} not found for resource provider ${uuid}`,
          );
        const next = new Map(cur);
        next.delete(rc);
        return next;
      });
      // Placement's quirk: an in-use single class answers concurrent_update.
      if (!out.ok && out.error.code === 'conflict')
        throw new PlacementHttpError(409, `Unable to delete inventory of class ${rc}: ${out.error.message}`, {
          code: PlacementCodes.concurrentUpdate,
        });
      unwrapOutcome(out);
      return sendEmpty(reply, 204);
    },
  });
}
