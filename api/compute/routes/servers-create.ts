/**
 * POST /servers: the body checked against Nova's schema for the microversion, then the flavor
 * (known, enabled), the image or a boot volume, the zone (`az` or `az:host`) and forced host, the
 * server group hint and min_count/max_count — each a 400 worded as Nova's — and the boot handed to
 * the use case (cells/servers/boot.ts: quota, cell, group pinning, mapping, durable job, record).
 * 202 with the first server (and its Location), or the reservation id when asked for.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InstanceGroup } from '../../../cells/instances.ts';
import { bootServers } from '../../../cells/servers/boot.ts';
import { badRequest } from '../errors.ts';
import { API_PREFIX, type Handler, identity, jsonBody, memberLinks, mv, sendJson } from '../http.ts';
import type { ApiVersion } from '../microversion.ts';
import type { Schema } from '../validate.ts';
import { flavorIdOf, instanceFlavor, type ServerRouteDeps } from './servers-ports.ts';

/** Largest max_count accepted in one request. */
export const MAX_INSTANCES_PER_CREATE = 100;

const NAME: Schema = { type: 'string', minLength: 1, maxLength: 255 };
const METADATA: Schema = {
  type: 'object',
  patternProperties: { '^[a-zA-Z0-9-_:. ]{1,255}$': { type: 'string', maxLength: 255 } },
  additionalProperties: false,
};
const COUNT: Schema = { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 1, minLength: 1 };

function createSchema(v: ApiVersion): Schema {
  const server: Record<string, Schema> = {
    name: NAME,
    imageRef: { type: 'string', maxLength: 255 },
    flavorRef: { type: ['string', 'integer'], minLength: 1 },
    adminPass: { type: 'string' },
    metadata: METADATA,
    availability_zone: { type: 'string', minLength: 1, maxLength: 255 },
    min_count: COUNT,
    max_count: COUNT,
    return_reservation_id: { type: ['boolean', 'string'] },
    key_name: { type: 'string', minLength: 1, maxLength: 255 },
    user_data: { type: 'string', maxLength: 65535 },
    security_groups: { type: 'array', items: { type: 'object' } },
    config_drive: { type: ['boolean', 'string'] },
    accessIPv4: { type: 'string' },
    accessIPv6: { type: 'string' },
    'OS-DCF:diskConfig': { type: 'string', enum: ['AUTO', 'MANUAL'] },
    block_device_mapping_v2: { type: 'array', items: { type: 'object' } },
    networks: v.atLeast(37)
      ? {
          oneOf: [
            { type: 'string', enum: ['auto', 'none'] },
            { type: 'array', items: { type: 'object' } },
          ],
        }
      : { type: 'array', items: { type: 'object' } },
  };
  if (v.atLeast(19)) server.description = { type: ['string', 'null'], maxLength: 255 };
  if (v.atLeast(52)) server.tags = { type: 'array', items: { type: 'string', maxLength: 60 }, maxItems: 50 };
  if (v.atLeast(74)) {
    server.host = { type: 'string', minLength: 1, maxLength: 255 };
    server.hypervisor_hostname = { type: 'string', minLength: 1, maxLength: 255 };
  }
  const required = ['name', 'flavorRef'];
  if (v.atLeast(37)) required.push('networks');
  return {
    type: 'object',
    properties: {
      server: { type: 'object', properties: server, required, additionalProperties: false },
      'os:scheduler_hints': { type: 'object' },
      'OS-SCH-HNT:scheduler_hints': { type: 'object' },
    },
    required: ['server'],
    additionalProperties: false,
  };
}
const CREATE_SCHEMAS = new Map<string, Schema>();
function createSchemaFor(v: ApiVersion): Schema {
  const k = [19, 37, 52, 74].filter((m) => v.atLeast(m)).join(',');
  if (!CREATE_SCHEMAS.has(k)) CREATE_SCHEMAS.set(k, createSchema(v));
  return CREATE_SCHEMAS.get(k)!;
}

interface CreateBody {
  server: {
    name: string;
    imageRef?: string;
    flavorRef: string | number;
    metadata?: Record<string, string>;
    availability_zone?: string;
    min_count?: number | string;
    max_count?: number | string;
    return_reservation_id?: boolean | string;
    block_device_mapping_v2?: Array<Record<string, unknown>>;
    host?: string;
  };
  'os:scheduler_hints'?: Record<string, unknown>;
  'OS-SCH-HNT:scheduler_hints'?: Record<string, unknown>;
}

/** POST /servers. */
export function createServers(d: ServerRouteDeps): Handler {
  return async (req, reply) => {
    const who = identity(req);
    const body = jsonBody<CreateBody>(req, createSchemaFor(mv(req)));
    const s = body.server;
    const flavorId = flavorIdOf(s.flavorRef);
    const flavor = await d.ctx.store.flavors.get(flavorId);
    if (!flavor) throw badRequest(`Flavor ${flavorId} could not be found.`);
    if (flavor.disabled) throw badRequest('Flavor is disabled.');
    const bootFromVolume = (s.block_device_mapping_v2 ?? []).some((b) => Number(b.boot_index) === 0);
    const imageRef = s.imageRef ?? '';
    if (imageRef === '' && !bootFromVolume)
      throw badRequest(
        'Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.',
      );
    const { zone, forceHost } = await placementOf(d, s);
    const group = await groupOf(d, body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {});
    const min = Number(s.min_count ?? 1);
    const max = Number(s.max_count ?? min);
    if (min > max) throw badRequest('min_count must be <= max_count');
    if (max > MAX_INSTANCES_PER_CREATE)
      throw badRequest(`max_count must be at most ${MAX_INSTANCES_PER_CREATE} in one request`);
    const reservation = `r-${randomUUID().slice(0, 8)}`;
    const created = await bootServers(d.ports, {
      requestId: req.computeRequestId,
      userId: who.userId,
      projectId: who.projectId,
      name: s.name,
      flavor: instanceFlavor(flavor),
      imageRef,
      availabilityZone: zone,
      group,
      metadata: s.metadata ?? {},
      ...(forceHost ? { forceHost } : {}),
      min,
      uuids: Array.from({ length: max }, () => d.ctx.newUuid()),
    });
    const rid = s.return_reservation_id;
    if (rid === true || rid === 'True' || rid === 'true')
      return sendJson(reply, 202, { reservation_id: reservation });
    return accepted(d, req, reply, created[0]!.record.uuid);
  };
}

/** 202 with the first server: its links, Location, and a generated admin password. */
function accepted(d: ServerRouteDeps, req: FastifyRequest, reply: FastifyReply, id: string) {
  const base = d.base(req);
  reply.header('location', `${base}${API_PREFIX}/servers/${id}`);
  return sendJson(reply, 202, {
    server: {
      id,
      links: memberLinks(base, 'servers', id),
      'OS-DCF:diskConfig': 'MANUAL',
      security_groups: [{ name: 'default' }],
      adminPass: randomUUID().replace(/-/g, '').slice(0, 12),
    },
  });
}

/** `availability_zone` (`az`, `az:host` or `:host`) and 2.74's `host`: the zone and forced host. */
async function placementOf(
  d: ServerRouteDeps,
  s: CreateBody['server'],
): Promise<{ zone: string | null; forceHost: string | undefined }> {
  let zone: string | null = null;
  let forceHost: string | undefined;
  if (s.availability_zone !== undefined) {
    const [z, host] = s.availability_zone.split(':', 2);
    if (z) {
      if (!(await d.zones()).all.has(z)) throw badRequest('The requested availability zone is not available');
      zone = z;
    }
    if (host) forceHost = host;
  }
  if (s.host) forceHost = s.host;
  if (forceHost && !(await d.ctx.hosts.computeHost(forceHost)))
    throw badRequest(`Compute host ${forceHost} could not be found.`);
  return { zone, forceHost };
}

/** The `group` scheduler hint: the server group the servers join (400 when it does not exist). */
async function groupOf(d: ServerRouteDeps, hints: Record<string, unknown>): Promise<InstanceGroup | null> {
  if (hints.group === undefined) return null;
  if (typeof hints.group !== 'string')
    throw badRequest('Invalid input for field/attribute group. Value: must be a uuid');
  const g = await d.ctx.store.serverGroups.get(hints.group);
  if (!g) throw badRequest(`Invalid server group: ${hints.group} could not be found.`);
  const max = g.rules.max_server_per_host;
  return { uuid: g.uuid, policy: g.policy, ...(max ? { maxServerPerHost: Number(max) } : {}) };
}
