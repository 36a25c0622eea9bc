/**
 * /traits[/{name}] and /resource_providers/{uuid}/traits (microversion 1.6+), and
 * /resource_providers/{uuid}/aggregates (1.1+; the 1.19 form carries the generation), per
 * placement/handlers/trait.py and aggregate.py.
 */
import type { FastifyInstance } from 'fastify';
import { tryParseUuid, type Uuid } from '../../../core/model/ids.ts';
import {
  deleteTrait,
  ensureTrait,
  type ProviderView,
  setAggregates,
  setTraits,
} from '../../../core/placement/operations.ts';
import type { RouteOptions } from '../context.ts';
import { badRequest, notFound, unwrapOutcome } from '../errors.ts';
import {
  cacheHeaders,
  checkQuery,
  jsonBody,
  locationOf,
  mv,
  pathParam,
  pathUuid,
  routes,
  sendEmpty,
  sendJson,
} from '../http.ts';
import { type Microversion, requireVersion } from '../microversion.ts';
import type { Schema } from '../validate.ts';

const TRAIT = { type: 'string', minLength: 1, maxLength: 255 };
const SET_RP_TRAITS: Schema = {
  type: 'object',
  properties: { traits: { type: 'array', items: TRAIT }, resource_provider_generation: { type: 'integer' } },
  required: ['traits', 'resource_provider_generation'],
  additionalProperties: false,
};
const LIST_TRAITS: Schema = {
  type: 'object',
  properties: { name: { type: 'string' }, associated: { type: 'string' } },
  additionalProperties: false,
};
const AGGREGATES: Schema = { type: 'array', items: { type: 'string', format: 'uuid' }, uniqueItems: true };
const PUT_AGGREGATES_1_19: Schema = {
  type: 'object',
  properties: { aggregates: AGGREGATES, resource_provider_generation: { type: 'integer' } },
  required: ['aggregates', 'resource_provider_generation'],
  additionalProperties: false,
};

const missing = (uuid: Uuid) => notFound(`No resource provider with uuid ${uuid} found`);
const traitsJson = (rp: ProviderView) => ({
  traits: [...rp.traits],
  resource_provider_generation: rp.generation,
});
function aggregatesJson(rp: ProviderView, v: Microversion) {
  const out: Record<string, unknown> = { aggregates: [...rp.aggregates] };
  if (v.atLeast(19)) out.resource_provider_generation = rp.generation;
  return out;
}

export async function traitRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const { service } = ctx;

  routes(app, '/traits', {
    GET: async (req, reply) => {
      requireVersion(mv(req), 6);
      const q = checkQuery(req, LIST_TRAITS);
      const keep = traitFilter(q);
      const traits = await service.read((s) => {
        const used = q.associated === undefined ? undefined : associatedTraits(s.providers());
        return s
          .traitNames()
          .filter(
            (t) =>
              keep(t) && (used === undefined || used.has(t) === (q.associated!.toLowerCase() === 'true')),
          );
      });
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, { traits });
    },
  });

  routes(app, '/traits/:name', {
    GET: async (req, reply) => {
      requireVersion(mv(req), 6);
      const name = pathParam(req, 'name');
      if (!(await service.read((s) => s.hasTrait(name)))) throw notFound(`No such trait(s): ${name}`);
      cacheHeaders(req, reply, ctx.now);
      return sendEmpty(reply, 204);
    },
    PUT: async (req, reply) => {
      requireVersion(mv(req), 6);
      const name = pathParam(req, 'name');
      const { created } = unwrapOutcome(await service.write((s) => ensureTrait(s, name)));
      reply.header('location', locationOf(req, `/traits/${name}`));
      cacheHeaders(req, reply, ctx.now);
      return sendEmpty(reply, created ? 201 : 204);
    },
    DELETE: async (req, reply) => {
      requireVersion(mv(req), 6);
      const name = pathParam(req, 'name');
      unwrapOutcome(await service.write((s) => deleteTrait(s, name)));
      return sendEmpty(reply, 204);
    },
  });

  routes(app, '/resource_providers/:uuid/traits', {
    GET: async (req, reply) => {
      requireVersion(mv(req), 6);
      const uuid = pathUuid(req);
      const json = await service.read((s) => {
        const rp = s.provider(uuid);
        return rp && traitsJson(rp);
      });
      if (!json) throw missing(uuid);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, json);
    },
    PUT: async (req, reply) => {
      requireVersion(mv(req), 6);
      const uuid = pathUuid(req);
      const body = jsonBody<{ traits: string[]; resource_provider_generation: number }>(req, SET_RP_TRAITS);
      const out = await service.write((s) => {
        const o = setTraits(s, uuid, body.resource_provider_generation, body.traits);
        return o.ok ? { ok: true as const, value: traitsJson(o.value) } : o;
      });
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, unwrapOutcome(out));
    },
    DELETE: async (req, reply) => {
      requireVersion(mv(req), 6);
      const uuid = pathUuid(req);
      unwrapOutcome(await service.write((s) => setTraits(s, uuid, undefined, [])));
      return sendEmpty(reply, 204);
    },
  });

  routes(app, '/resource_providers/:uuid/aggregates', {
    GET: async (req, reply) => {
      const v = mv(req);
      requireVersion(v, 1);
      const uuid = pathUuid(req);
      const json = await service.read((s) => {
        const rp = s.provider(uuid);
        return rp && aggregatesJson(rp, v);
      });
      if (!json) throw missing(uuid);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, json);
    },
    PUT: async (req, reply) => {
      const v = mv(req);
      requireVersion(v, 1);
      const uuid = pathUuid(req);
      const body = v.atLeast(19)
        ? jsonBody<{ aggregates: string[]; resource_provider_generation: number }>(req, PUT_AGGREGATES_1_19)
        : { aggregates: jsonBody<string[]>(req, AGGREGATES), resource_provider_generation: undefined };
      const aggs = [...new Set(body.aggregates.map((a) => tryParseUuid(a)!))];
      const out = await service.write((s) => {
        const o = setAggregates(s, uuid, body.resource_provider_generation, aggs);
        return o.ok ? { ok: true as const, value: aggregatesJson(o.value, v) } : o;
      });
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, unwrapOutcome(out));
    },
  });
}

function traitFilter(q: Record<string, string>): (t: string) => boolean {
  if (q.associated !== undefined && !['true', 'false'].includes(q.associated.toLowerCase()))
    throw badRequest('The query parameter "associated" only accepts "true" or "false"');
  if (q.name === undefined) return () => true;
  const i = q.name.indexOf(':');
  const op = i < 0 ? undefined : q.name.slice(0, i);
  const value = q.name.slice(i + 1);
  if (op === 'in') {
    const names = new Set(value.split(','));
    return (t) => names.has(t);
  }
  if (op === 'startswith') return (t) => t.startsWith(value);
  throw badRequest(
    `Badly formatted name parameter. Expected name query string parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "${q.name}"`,
  );
}

function associatedTraits(providers: Iterable<ProviderView>): Set<string> {
  const out = new Set<string>();
  for (const rp of providers) for (const t of rp.traits) out.add(t);
  return out;
}
