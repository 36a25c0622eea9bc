/**
 * /resource_providers (GET with filters, POST) and /resource_providers/{uuid} (GET, PUT, DELETE),
 * per placement/handlers/resource_provider.py.
 */
import type { FastifyInstance } from 'fastify';
import { tryParseUuid, type Uuid } from '../../../core/model/ids.ts';
import { fits, unitViolation } from '../../../core/model/inventory.ts';
import {
  createProvider,
  deleteProvider,
  type PlacementState,
  type ProviderView,
  updateProvider,
} from '../../../core/placement/operations.ts';
import type { RouteOptions } from '../context.ts';
import { badRequest, notFound, PlacementHttpError, unwrapOutcome } from '../errors.ts';
import {
  cacheHeaders,
  checkQuery,
  jsonBody,
  locationOf,
  mv,
  pathUuid,
  queryAll,
  routes,
  sendEmpty,
  sendJson,
} from '../http.ts';
import type { Microversion } from '../microversion.ts';
import { parseMemberOf, parseRequired, parseResources } from '../query.ts';
import { providerJson, providerPath } from '../serialize.ts';
import { listQuerySchema, postSchema, putSchema } from './resource-provider-schemas.ts';

interface ProviderBody {
  name: string;
  uuid?: string;
  parent_provider_uuid?: string | null;
}

export async function providerRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const { service } = ctx;
  routes(app, '/resource_providers', {
    GET: async (req, reply) => {
      const v = mv(req);
      const q = checkQuery(req, listQuerySchema(v));
      const filter = (state: PlacementState) => matcher(state, q, (k) => queryAll(req, k), v);
      const list = await service.read((state) => {
        const keep = filter(state);
        return [...state.providers()].filter(keep).map((rp) => providerJson(rp, v));
      });
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, { resource_providers: list });
    },
    POST: async (req, reply) => {
      const v = mv(req);
      const body = jsonBody<ProviderBody>(req, postSchema(v));
      const uuid = body.uuid ? tryParseUuid(body.uuid)! : (ctx.newUuid() as Uuid);
      const parentUuid = body.parent_provider_uuid ? tryParseUuid(body.parent_provider_uuid)! : null;
      const out = await service.write((s) => {
        const o = createProvider(s, { uuid, name: body.name, parentUuid });
        return o.ok ? { ok: true as const, value: providerJson(o.value, v) } : o;
      });
      if (!out.ok && out.error.code === 'invalid')
        throw badRequest(`Unable to create resource provider "${body.name}", ${uuid}: ${out.error.message}`);
      const json = unwrapOutcome(out);
      reply.header('location', locationOf(req, providerPath(uuid)));
      if (!v.atLeast(20)) return sendEmpty(reply, 201);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, json);
    },
  });
  routes(app, '/resource_providers/:uuid', {
    GET: async (req, reply) => {
      const v = mv(req);
      const uuid = pathUuid(req);
      const json = await service.read((s) => {
        const rp = s.provider(uuid);
        return rp && providerJson(rp, v);
      });
      if (!json) throw notFound(`No resource provider with uuid ${uuid} found`);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, json);
    },
    PUT: async (req, reply) => {
      const v = mv(req);
      const uuid = pathUuid(req);
      const exists = await service.read((s) => s.provider(uuid) !== undefined);
      if (!exists) throw notFound(`No resource provider with uuid ${uuid} found`);
      const body = jsonBody<ProviderBody>(req, putSchema(v));
      const parentUuid =
        body.parent_provider_uuid === undefined
          ? undefined
          : body.parent_provider_uuid === null
            ? null
            : tryParseUuid(body.parent_provider_uuid)!;
      const out = await service.write((s) => {
        const o = updateProvider(s, uuid, { name: body.name, parentUuid, allowReparenting: v.atLeast(37) });
        return o.ok ? { ok: true as const, value: providerJson(o.value, v) } : o;
      });
      if (!out.ok && out.error.code === 'invalid')
        throw badRequest(`Unable to save resource provider ${uuid}: ${out.error.message}`);
      if (!out.ok && out.error.code === 'conflict')
        throw new PlacementHttpError(409, `Conflicting resource provider ${body.name} already exists.`, {
          code: 'placement.duplicate_name',
        });
      const json = unwrapOutcome(out);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, json);
    },
    DELETE: async (req, reply) => {
      const uuid = pathUuid(req);
      unwrapOutcome(await service.write((s) => deleteProvider(s, uuid)));
      return sendEmpty(reply, 204);
    },
  });
}

/** The GET /resource_providers filters as one predicate (Placement's get_all_by_filters). */
function matcher(
  state: PlacementState,
  q: Record<string, string>,
  all: (key: string) => string[],
  v: Microversion,
): (rp: ProviderView) => boolean {
  const checks: Array<(rp: ProviderView) => boolean> = [];
  if (q.name !== undefined) checks.push((rp) => rp.name === q.name);
  if (q.uuid !== undefined) {
    const u = tryParseUuid(q.uuid);
    checks.push((rp) => rp.uuid === u);
  }
  if (q.in_tree !== undefined) {
    const root = state.provider(tryParseUuid(q.in_tree)!)?.rootUuid;
    checks.push((rp) => root !== undefined && rp.rootUuid === root);
  }
  if (q.member_of !== undefined) {
    const { memberOf, forbidden } = parseMemberOf(all('member_of'), v);
    checks.push(
      (rp) =>
        memberOf.every((any) => any.some((a) => rp.aggregates.has(a))) &&
        !forbidden.some((a) => rp.aggregates.has(a)),
    );
  }
  if (q.required !== undefined) {
    const { required, forbidden } = parseRequired(all('required'), v);
    const unknown = [...required.flat(), ...forbidden].filter((t) => !state.hasTrait(t));
    if (unknown.length > 0)
      throw badRequest(`Invalid trait(s) in "required" parameter: No such trait(s): ${unknown.join(', ')}.`);
    checks.push(
      (rp) =>
        required.every((any) => any.some((t) => rp.traits.has(t))) &&
        !forbidden.some((t) => rp.traits.has(t)),
    );
  }
  if (q.resources !== undefined) {
    const wanted = Object.entries(parseResources(q.resources));
    for (const [rc] of wanted)
      if (!state.hasResourceClass(rc))
        throw badRequest(`Invalid resource class in resources parameter: No such resource class ${rc}.`);
    checks.push((rp) =>
      wanted.every(([rc, amount]) => {
        const inv = rp.inventories.get(rc);
        return !!inv && !unitViolation(inv, amount) && fits(inv, rp.usages.get(rc) ?? 0, amount);
      }),
    );
  }
  return (rp) => checks.every((c) => c(rp));
}
