/**
 * /os-services (nova/api/openstack/compute/services.py): list (filters `host`, `binary`; strict
 * query from 2.75; `forced_down` from 2.11), the update actions before 2.53
 * (`PUT /os-services/enable|disable|disable-log-reason|force-down` naming host and binary in the
 * body; force-down from 2.11), `PUT /os-services/{uuid}` from 2.53 (status, disabled_reason,
 * forced_down), and delete (integer ids before 2.53, uuids from it; a compute service still
 * holding instances is refused with 409; its host leaves every aggregate).
 * Only nova-compute services can be updated, as in Nova.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hasCode } from '../../../core/errors.ts';
import { tryParseUuid } from '../../../core/model/ids.ts';
import type { ComputeContext, RouteOptions } from '../context.ts';
import { badRequest, ComputeHttpError, conflict, notFound } from '../errors.ts';
import { COMPUTE_BINARY, type HostEntry, type ServiceChange, type ServiceState } from '../hosts.ts';
import { checkQuery, jsonBody, mv, pathParam, routes, sendEmpty, sendJson } from '../http.ts';
import type { ApiVersion } from '../microversion.ts';
import { AZ_KEY } from '../store/aggregates.ts';
import type { Schema } from '../validate.ts';
import { novaTime } from './aggregates.ts';
import { BOOLEAN } from './flavor-schemas.ts';
import { parseBool } from './flavors.ts';

const HOST: Schema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' };
const TEXT: Schema = { type: 'string', minLength: 1, maxLength: 255 };
const UPDATE_LEGACY = (forcedDown: boolean): Schema => ({
  type: 'object',
  properties: {
    host: HOST,
    binary: TEXT,
    disabled_reason: TEXT,
    ...(forcedDown ? { forced_down: BOOLEAN } : {}),
  },
  required: ['host', 'binary'],
  additionalProperties: false,
});
const UPDATE_2_1 = UPDATE_LEGACY(false);
const UPDATE_2_11 = UPDATE_LEGACY(true);
const UPDATE_2_53: Schema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['enabled', 'disabled'] },
    disabled_reason: TEXT,
    forced_down: BOOLEAN,
  },
  additionalProperties: false,
};
const LIST_QUERY = (strict: boolean): Schema => ({
  type: 'object',
  properties: { host: { type: 'string' }, binary: { type: 'string' } },
  additionalProperties: !strict,
});
const LIST_QUERY_2_1 = LIST_QUERY(false);
const LIST_QUERY_2_75 = LIST_QUERY(true);

/** oslo's bool_from_string (non-strict: anything else is false). */

interface Located {
  readonly host: HostEntry;
  readonly service: ServiceState;
}

/** Zone of each host: its aggregates' `availability_zone` values joined with ',' (as the AZ list does). */
async function zonesOf(ctx: ComputeContext): Promise<Map<string, string>> {
  const zones = new Map<string, Set<string>>();
  for (const a of await ctx.store.aggregates.all()) {
    const zone = a.metadata[AZ_KEY];
    if (zone === undefined) continue;
    for (const h of a.hosts) zones.set(h, (zones.get(h) ?? new Set()).add(zone));
  }
  return new Map([...zones].map(([h, z]) => [h, [...z].sort().join(',')]));
}

function serviceView(l: Located, zone: string, v: ApiVersion, forcedDown = v.atLeast(11)) {
  const { host, service: s } = l;
  const out: Record<string, unknown> = {
    binary: s.binary,
    host: host.name,
    id: v.atLeast(53) ? s.uuid : s.id,
    zone,
    status: s.enabled ? 'enabled' : 'disabled',
    state: s.up ? 'up' : 'down',
    updated_at: novaTime(s.updatedAt),
    disabled_reason: s.disabledReason,
  };
  if (forcedDown) out.forced_down = s.forcedDown;
  return out;
}

async function located(ctx: ComputeContext): Promise<Located[]> {
  const out: Located[] = [];
  for (const host of await ctx.hosts.hosts())
    for (const service of host.services) out.push({ host, service });
  return out.sort((a, b) => a.service.id - b.service.id);
}

async function zoneFor(ctx: ComputeContext, l: Located): Promise<string> {
  if (l.service.binary !== COMPUTE_BINARY) return ctx.internalZone;
  return (await zonesOf(ctx)).get(l.host.name) ?? ctx.defaultZone;
}

function onlyCompute(binary: string): void {
  if (binary !== COMPUTE_BINARY)
    throw badRequest(
      `Updating a ${binary} service is not supported. Only nova-compute services can be updated.`,
    );
}

/** Applies `change` to the compute service of `host`; a host the directory does not know is 404. */
async function update(ctx: ComputeContext, host: string, binary: string, change: ServiceChange) {
  onlyCompute(binary);
  try {
    await ctx.hosts.setService(host, change);
  } catch (err) {
    if (hasCode(err, 'notFound'))
      throw new ComputeHttpError(404, `Could not find binary ${binary} on host ${host}.`, { cause: err });
    throw err;
  }
}

interface LegacyBody {
  host: string;
  binary: string;
  disabled_reason?: string;
  forced_down?: boolean | string;
}

/** PUT /os-services/<action> before 2.53. */
async function legacyAction(ctx: ComputeContext, req: FastifyRequest, action: string) {
  const v = mv(req);
  const body = jsonBody<LegacyBody>(req, v.atLeast(11) ? UPDATE_2_11 : UPDATE_2_1);
  const { host, binary } = body;
  switch (action) {
    case 'enable':
      await update(ctx, host, binary, { disabled: false, reason: null });
      return { service: { host, binary, status: 'enabled' } };
    case 'disable':
      await update(ctx, host, binary, { disabled: true, reason: null });
      return { service: { host, binary, status: 'disabled' } };
    case 'disable-log-reason': {
      const reason = body.disabled_reason;
      if (reason === undefined) throw badRequest('Missing disabled reason field');
      await update(ctx, host, binary, { disabled: true, reason });
      return { service: { host, binary, status: 'disabled', disabled_reason: reason } };
    }
    case 'force-down':
      if (v.atLeast(11)) {
        if (body.forced_down === undefined) throw badRequest('Missing forced_down field');
        const forcedDown = parseBool(body.forced_down) === true;
        await update(ctx, host, binary, { forcedDown });
        return { service: { host, binary, forced_down: forcedDown } };
      }
  }
  throw notFound('Unknown action');
}

/** PUT /os-services/{uuid} from 2.53. */
async function updateById(ctx: ComputeContext, req: FastifyRequest, id: string) {
  const v = mv(req);
  const body = jsonBody<{ status?: string; disabled_reason?: string; forced_down?: boolean | string }>(
    req,
    UPDATE_2_53,
  );
  const l = await findById(ctx, v, id, `Service ${id} could not be found.`);
  onlyCompute(l.service.binary);
  const change: { disabled?: boolean; reason?: string | null; forcedDown?: boolean } = {};
  if (body.status === 'enabled') {
    if (body.disabled_reason)
      throw badRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.");
    Object.assign(change, { disabled: false, reason: null });
  } else if (body.status === 'disabled') {
    Object.assign(change, { disabled: true, reason: body.disabled_reason ?? null });
  }
  if (body.forced_down !== undefined) change.forcedDown = parseBool(body.forced_down) === true;
  if (Object.keys(change).length === 0)
    throw badRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.");
  await update(ctx, l.host.name, l.service.binary, change);
  const after = (await located(ctx)).find((x) => x.service.uuid === l.service.uuid) ?? l;
  return { service: serviceView(after, await zoneFor(ctx, after), v, true) };
}

/** The service `{id}` names: an integer before 2.53, a uuid from it (400 otherwise). */
async function findById(ctx: ComputeContext, v: ApiVersion, id: string, missing: string): Promise<Located> {
  const uuid = tryParseUuid(id);
  if (v.atLeast(53) && uuid === undefined) throw badRequest(`Invalid uuid ${id}`);
  if (!v.atLeast(53) && !/^-?\d+$/.test(id))
    throw badRequest('Invalid input received: id must be an integer');
  const found = (await located(ctx)).find((l) =>
    v.atLeast(53) ? l.service.uuid === uuid : l.service.id === Number(id),
  );
  if (!found) throw notFound(missing);
  return found;
}

async function deleteService(ctx: ComputeContext, v: ApiVersion, id: string): Promise<void> {
  const l = await findById(ctx, v, id, `Service ${id} not found.`);
  const host = l.host.name;
  if (l.service.binary === COMPUTE_BINARY) {
    const node = (await ctx.hosts.nodes([host])).get(host);
    if (node && node.instances.length > 0)
      throw conflict(
        'Unable to delete compute service that is hosting instances. Migrate or delete the instances first.',
      );
    for (const a of await ctx.store.aggregates.all())
      if (a.hosts.includes(host)) await ctx.store.aggregates.removeHost(a.id, host);
  }
  try {
    await ctx.hosts.deleteService(host, l.service.binary);
  } catch (err) {
    if (hasCode(err, 'notFound')) throw new ComputeHttpError(404, `Service ${id} not found.`, { cause: err });
    throw err;
  }
}

export async function serviceRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  routes(app, '/os-services', {
    GET: async (req, reply) => {
      const v = mv(req);
      const q = checkQuery(req, v.atLeast(75) ? LIST_QUERY_2_75 : LIST_QUERY_2_1);
      const zones = await zonesOf(ctx);
      const services = (await located(ctx))
        .filter((l) => !q.host || l.host.name === q.host)
        .filter((l) => !q.binary || l.service.binary === q.binary)
        .map((l) => {
          const zone =
            l.service.binary === COMPUTE_BINARY
              ? (zones.get(l.host.name) ?? ctx.defaultZone)
              : ctx.internalZone;
          return serviceView(l, zone, v);
        });
      return sendJson(reply, 200, { services });
    },
  });

  routes(app, '/os-services/:id', {
    PUT: async (req, reply) => {
      const id = pathParam(req, 'id');
      const body = mv(req).atLeast(53) ? await updateById(ctx, req, id) : await legacyAction(ctx, req, id);
      return sendJson(reply, 200, body);
    },
    DELETE: async (req, reply) => {
      await deleteService(ctx, mv(req), pathParam(req, 'id'));
      return sendEmpty(reply, 204);
    },
  });
}
