/**
 * /os-aggregates (nova/api/openstack/compute/aggregates.py): list, create (200, without hosts and
 * metadata), show, update name/zone, delete, and the actions add_host, remove_host, set_metadata.
 * Ids are Nova's integers; `uuid` shows from 2.41. Hosts must be compute hosts of the directory.
 * Every change is handed to the schedulers (`ctx.aggregatesChanged`, api/compute/aggregate-publisher.ts)
 * before the answer, so the next boot is placed with it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hasCode } from '../../../core/errors.ts';
import { type RouteOptions, requireAction } from '../context.ts';
import { badRequest, ComputeHttpError, notFound } from '../errors.ts';
import { jsonBody, mv, pathParam, routes, sendEmpty, sendJson } from '../http.ts';
import type { ApiVersion } from '../microversion.ts';
import { AZ_KEY } from '../store/aggregates.ts';
import type { AggregateRecord } from '../store/records.ts';
import type { Schema } from '../validate.ts';
import { NAME } from './flavor-schemas.ts';

/** Nova's az_name: a name without ':' (the scheduler's `zone:host` syntax). */
const ZONE: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^(?!\\s)[^:\\u0000-\\u001f]*(?<!\\s)$',
};
const ZONE_OR_NULL: Schema = { oneOf: [ZONE, { type: 'null' }] };
const HOST: Schema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' };

const wrap = (key: string, inner: Schema): Schema => ({
  type: 'object',
  properties: { [key]: inner },
  required: [key],
  additionalProperties: false,
});
const CREATE = wrap('aggregate', {
  type: 'object',
  properties: { name: NAME, availability_zone: ZONE_OR_NULL },
  required: ['name'],
  additionalProperties: false,
});
const UPDATE = wrap('aggregate', {
  type: 'object',
  properties: { name: NAME, availability_zone: ZONE_OR_NULL },
  additionalProperties: false,
  anyOf: [{ required: ['name'] }, { required: ['availability_zone'] }],
});
const HOST_ACTION = (action: string) =>
  wrap(action, {
    type: 'object',
    properties: { host: HOST },
    required: ['host'],
    additionalProperties: false,
  });
const SET_METADATA = wrap('set_metadata', {
  type: 'object',
  properties: {
    metadata: {
      type: 'object',
      patternProperties: {
        '^[a-zA-Z0-9-_:. ]{1,255}$': { type: ['string', 'null'], maxLength: 255 },
      },
      additionalProperties: false,
    },
  },
  required: ['metadata'],
  additionalProperties: false,
});

/** Nova's timestamps: naive ISO with microseconds. */
export const novaTime = (iso: string | null) => (iso === null ? null : iso.replace('Z', '000'));

function view(a: AggregateRecord, v: ApiVersion, full = true) {
  const out: Record<string, unknown> = {
    availability_zone: a.metadata[AZ_KEY] ?? null,
    created_at: novaTime(a.createdAt),
    deleted: false,
    deleted_at: null,
    id: a.id,
    name: a.name,
    updated_at: novaTime(a.updatedAt),
  };
  if (full) {
    out.hosts = [...a.hosts];
    out.metadata = { ...a.metadata };
  }
  if (v.atLeast(41)) out.uuid = a.uuid;
  return { aggregate: out };
}

function aggregateId(req: FastifyRequest): number {
  const raw = pathParam(req, 'id');
  if (!/^-?\d+$/.test(raw)) throw badRequest('Invalid input received: id must be an integer');
  return Number(raw);
}

export async function aggregateRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const aggs = ctx.store.aggregates;

  routes(app, '/os-aggregates', {
    GET: async (req, reply) =>
      sendJson(reply, 200, { aggregates: (await aggs.all()).map((a) => view(a, mv(req)).aggregate) }),
    POST: async (req, reply) => {
      const body = jsonBody<{ aggregate: { name: string; availability_zone?: string | null } }>(req, CREATE);
      const zone = body.aggregate.availability_zone?.trim() || undefined;
      const a = await aggs.create(body.aggregate.name.trim(), zone);
      await ctx.aggregatesChanged();
      return sendJson(reply, 200, view(a, mv(req), false));
    },
  });

  routes(app, '/os-aggregates/:id', {
    GET: async (req, reply) => sendJson(reply, 200, view(await aggs.require(aggregateId(req)), mv(req))),
    PUT: async (req, reply) => {
      const id = aggregateId(req);
      const body = jsonBody<{ aggregate: { name?: string; availability_zone?: string | null } }>(req, UPDATE);
      const change: { name?: string; zone?: string | null } = {};
      if (body.aggregate.name !== undefined) change.name = body.aggregate.name.trim();
      if (body.aggregate.availability_zone !== undefined) change.zone = body.aggregate.availability_zone;
      const a = await aggs.update(id, change);
      await ctx.aggregatesChanged();
      return sendJson(reply, 200, view(a, mv(req)));
    },
    DELETE: async (req, reply) => {
      await aggs.delete(aggregateId(req));
      await ctx.aggregatesChanged();
      return sendEmpty(reply, 200);
    },
  });

  routes(app, '/os-aggregates/:id/action', {
    POST: async (req, reply) => {
      const id = aggregateId(req);
      const action = requireAction(jsonBody<unknown>(req, { type: 'object' }), [
        'add_host',
        'remove_host',
        'set_metadata',
      ]);
      if (action === 'set_metadata') {
        const body = jsonBody<{ set_metadata: { metadata: Record<string, string | null> } }>(
          req,
          SET_METADATA,
        );
        const a = await aggs.setMetadata(id, body.set_metadata.metadata);
        await ctx.aggregatesChanged();
        return sendJson(reply, 200, view(a, mv(req)));
      }
      const body = jsonBody<Record<string, { host: string }>>(req, HOST_ACTION(action));
      const host = body[action]!.host;
      const known = await ctx.hosts.computeHost(host);
      if (action === 'add_host') {
        if (!known) throw notFound(`Compute host ${host} could not be found.`);
        const a = await aggs.addHost(id, host);
        await ctx.aggregatesChanged();
        return sendJson(reply, 200, view(a, mv(req)));
      }
      const cannot = `Cannot remove host ${host} in aggregate ${id}`;
      if (!known) throw notFound(cannot);
      const a = await aggs.removeHost(id, host).catch((err: unknown) => {
        if (hasCode(err, 'notFound')) throw new ComputeHttpError(404, cannot, { cause: err });
        throw err;
      });
      await ctx.aggregatesChanged();
      return sendJson(reply, 200, view(a, mv(req)));
    },
  });
}
