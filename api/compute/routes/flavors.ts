/**
 * /flavors, /flavors/detail, /flavors/{id} (nova/api/openstack/compute/flavors.py and
 * flavor_manage.py): list with Nova's filters (is_public, minRam, minDisk) and paging
 * (limit/marker, sort_key/sort_dir), show, create (200), update description (2.55+), delete (202).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ComputeContext, RouteOptions } from '../context.ts';
import { badRequest } from '../errors.ts';
import {
  baseUrl,
  checkQuery,
  identity,
  jsonBody,
  mv,
  pathParam,
  routes,
  sendEmpty,
  sendJson,
} from '../http.ts';
import { requireVersion } from '../microversion.ts';
import { FLAVOR_SORT_KEYS } from '../store/flavors.ts';
import type { FlavorRecord } from '../store/records.ts';
import { CREATE, CREATE_2_55, INDEX_QUERY, INDEX_QUERY_2_75, UPDATE_2_55 } from './flavor-schemas.ts';
import { flavorBrief, flavorDetail, nextLinks } from './flavor-view.ts';

const TRUE = new Set(['true', '1', 'on', 'yes', 't', 'y']);
const FALSE = new Set(['false', '0', 'off', 'no', 'f', 'n']);

/** oslo's bool_from_string(strict=True) over a body or query value. */
export function parseBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  return TRUE.has(s) ? true : FALSE.has(s) ? false : undefined;
}

interface CreateBody {
  flavor: {
    name: string;
    id?: string | number | null;
    ram: number | string;
    vcpus: number | string;
    disk: number | string;
    'OS-FLV-EXT-DATA:ephemeral'?: number | string;
    swap?: number | string;
    rxtx_factor?: number | string;
    'os-flavor-access:is_public'?: boolean | string;
    description?: string | null;
  };
}

/** Nova's utils.validate_integer over the schema-checked digits. */
function int(v: number | string | undefined, name: string, min: number): number {
  const n = v === undefined ? 0 : typeof v === 'number' ? v : Number(v);
  if (v === '' || !Number.isSafeInteger(n))
    throw badRequest(`Invalid input received: ${name} must be an integer`);
  if (n < min) throw badRequest(`Invalid input received: ${name} must be >= ${min}`);
  if (n > 0x7fffffff) throw badRequest(`Invalid input received: ${name} must be <= ${0x7fffffff}`);
  return n;
}

function newFlavor(body: CreateBody['flavor'], withDescription: boolean, newUuid: () => string) {
  const id = body.id === undefined || body.id === null ? newUuid() : String(body.id);
  return {
    flavorid: id,
    name: body.name.trim(),
    memoryMb: int(body.ram, 'memory_mb', 1),
    vcpus: int(body.vcpus, 'vcpus', 1),
    rootGb: int(body.disk, 'root_gb', 0),
    ephemeralGb: int(body['OS-FLV-EXT-DATA:ephemeral'], 'ephemeral_gb', 0),
    swap: int(body.swap, 'swap', 0),
    rxtxFactor: body.rxtx_factor === undefined ? 1.0 : Number(body.rxtx_factor),
    isPublic: parseBool(body['os-flavor-access:is_public'] ?? true) ?? true,
    disabled: false,
    description: withDescription ? (body.description ?? null) : null,
    extraSpecs: {},
    projects: [],
  };
}

/** The visibility filter of a listing (flavors.py `_get_flavors` + the DB's is_public filter). */
function listFilter(q: Record<string, string>, projectId: string): (f: FlavorRecord) => boolean {
  let isPublic: boolean | null = true;
  if (q.is_public !== undefined) {
    if (q.is_public.toLowerCase() === 'none') isPublic = null;
    else {
      const b = parseBool(q.is_public);
      if (b === undefined) throw badRequest(`Invalid is_public filter [${q.is_public}]`);
      isPublic = b;
    }
  }
  const min = (name: 'minRam' | 'minDisk') => {
    const raw = q[name];
    if (raw === undefined) return 0;
    if (!/^-?\d+$/.test(raw.trim())) throw badRequest(`Invalid ${name} filter [${raw}]`);
    return Number(raw);
  };
  const [minRam, minDisk] = [min('minRam'), min('minDisk')];
  return (f) =>
    (isPublic === null || f.isPublic === isPublic || f.projects.includes(projectId)) &&
    f.memoryMb >= minRam &&
    f.rootGb >= minDisk;
}

async function listFlavors(ctx: ComputeContext, req: FastifyRequest) {
  const v = mv(req);
  const q = checkQuery(req, v.atLeast(75) ? INDEX_QUERY_2_75 : INDEX_QUERY);
  const sortKey = q.sort_key || 'flavorid';
  const sortDir = (q.sort_dir || 'asc').toLowerCase();
  if (!FLAVOR_SORT_KEYS.includes(sortKey))
    throw badRequest(`Sort key supplied is invalid: ${sortKey}. Valid keys: ${FLAVOR_SORT_KEYS.join(', ')}`);
  if (sortDir !== 'asc' && sortDir !== 'desc')
    throw badRequest("Unknown sort direction, must be 'desc' or 'asc'");
  const limit = Math.min(q.limit === undefined ? ctx.maxLimit : Number(q.limit), ctx.maxLimit);
  const page = await ctx.store.flavors.list({
    sortKey,
    sortDir,
    limit,
    keep: listFilter(q, identity(req).projectId),
    ...(q.marker === undefined ? {} : { marker: q.marker }),
  });
  return { page, limit };
}

export async function flavorRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const base = (req: FastifyRequest) => baseUrl(req, ctx.publicUrl);

  routes(app, '/flavors', {
    GET: async (req, reply) => {
      const { page, limit } = await listFlavors(ctx, req);
      const out: Record<string, unknown> = { flavors: page.map((f) => flavorBrief(f, mv(req), base(req))) };
      const links = nextLinks(req, base(req), 'flavors', page, limit);
      if (links) out.flavors_links = links;
      return sendJson(reply, 200, out);
    },
    POST: async (req, reply) => {
      const v = mv(req);
      const body = jsonBody<CreateBody>(req, v.atLeast(55) ? CREATE_2_55 : CREATE);
      const f = await ctx.store.flavors.create(newFlavor(body.flavor, v.atLeast(55), ctx.newUuid));
      return sendJson(reply, 200, { flavor: flavorDetail(f, v, base(req)) });
    },
  });

  routes(app, '/flavors/detail', {
    GET: async (req, reply) => {
      const { page, limit } = await listFlavors(ctx, req);
      const out: Record<string, unknown> = { flavors: page.map((f) => flavorDetail(f, mv(req), base(req))) };
      const links = nextLinks(req, base(req), 'flavors/detail', page, limit);
      if (links) out.flavors_links = links;
      return sendJson(reply, 200, out);
    },
  });

  routes(app, '/flavors/:id', {
    GET: async (req, reply) => {
      const f = await ctx.store.flavors.require(pathParam(req, 'id'));
      return sendJson(reply, 200, { flavor: flavorDetail(f, mv(req), base(req)) });
    },
    PUT: async (req, reply) => {
      const v = mv(req);
      requireVersion(v, 55);
      const body = jsonBody<{ flavor: { description: string | null } }>(req, UPDATE_2_55);
      const f = await ctx.store.flavors.update(pathParam(req, 'id'), (cur) => ({
        ...cur,
        description: body.flavor.description,
      }));
      return sendJson(reply, 200, { flavor: flavorDetail(f, v, base(req)) });
    },
    DELETE: async (req, reply) => {
      await ctx.store.flavors.delete(pathParam(req, 'id'));
      return sendEmpty(reply, 202);
    },
  });
}
