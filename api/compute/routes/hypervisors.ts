/**
 * /os-hypervisors (nova/api/openstack/compute/hypervisors.py): list, detail, show, the
 * deprecated statistics, and before 2.53 the `/{pattern}/search` and `/{pattern}/servers`
 * routes (replaced by `hypervisor_hostname_pattern` and `with_servers` query parameters from
 * 2.53). A hypervisor is a compute host of the directory that has a compute node (a stored
 * provider tree). Ids are integers before 2.53 and the node's uuid from 2.53; lists are ordered
 * by the integer id and paged with limit/marker from 2.33. Every field Nova dropped in 2.88 is
 * still served (we stop at 2.79).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { tryParseUuid } from '../../../core/model/ids.ts';
import type { ComputeContext, RouteOptions } from '../context.ts';
import { badRequest, ComputeHttpError, notFound } from '../errors.ts';
import { COMPUTE_BINARY, type ComputeNode, type HostEntry, type ServiceState } from '../hosts.ts';
import { API_PREFIX, baseUrl, checkQuery, mv, pathParam, routes, sendJson } from '../http.ts';
import type { ApiVersion } from '../microversion.ts';
import type { Schema } from '../validate.ts';
import { BOOLEAN_QUERY } from './flavor-schemas.ts';
import { parseBool } from './flavors.ts';

/** Nova's hypervisor_version of the fake driver (convert_version_to_int('1.0')). */
export const FAKE_HYPERVISOR_VERSION = 1000;

const PATTERN: Schema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' };
const LIMIT: Schema = { type: 'string', pattern: '^[0-9]+$' };
const LIST_QUERY_2_33: Schema = {
  type: 'object',
  properties: { limit: LIMIT, marker: { type: 'string' } },
  additionalProperties: true,
};
const LIST_QUERY_2_53: Schema = {
  type: 'object',
  properties: {
    limit: LIMIT,
    marker: { type: 'string' },
    hypervisor_hostname_pattern: PATTERN,
    with_servers: BOOLEAN_QUERY,
  },
  additionalProperties: false,
};
const SHOW_QUERY_2_53: Schema = {
  type: 'object',
  properties: { with_servers: BOOLEAN_QUERY },
  additionalProperties: false,
};

/** A compute host with its compute service and node. */
export interface Hypervisor {
  readonly host: HostEntry;
  readonly service: ServiceState;
  readonly node: ComputeNode;
}

/** Every hypervisor, ordered by integer id (Nova orders compute nodes by id). */
export async function hypervisors(ctx: ComputeContext): Promise<Hypervisor[]> {
  const hosts = (await ctx.hosts.hosts()).filter((h) => h.services.some((s) => s.binary === COMPUTE_BINARY));
  const nodes = await ctx.hosts.nodes(hosts.map((h) => h.name));
  const out: Hypervisor[] = [];
  for (const host of hosts) {
    const node = nodes.get(host.name);
    const service = host.services.find((s) => s.binary === COMPUTE_BINARY)!;
    if (node) out.push({ host, service, node });
  }
  return out.sort((a, b) => a.host.id - b.host.id);
}

/** libvirt-style instance name, as server-view.ts shows OS-EXT-SRV-ATTR:instance_name. */
const instanceName = (uuid: string) => `instance-${uuid.slice(0, 8)}`;

interface ViewOptions {
  readonly detail: boolean;
  /** Show the instances; `always` adds an empty list too (Nova from 2.75 when asked). */
  readonly servers?: 'nonEmpty' | 'always';
}

export function hypervisorView(h: Hypervisor, v: ApiVersion, o: ViewOptions): Record<string, unknown> {
  const uuids = v.atLeast(53);
  const { host, service, node } = h;
  const out: Record<string, unknown> = {
    id: uuids ? node.uuid : host.id,
    hypervisor_hostname: host.name,
    state: service.up ? 'up' : 'down',
    status: service.enabled ? 'enabled' : 'disabled',
  };
  if (o.detail) {
    const freeDisk = node.diskGb - node.diskGbUsed;
    Object.assign(out, {
      vcpus: node.vcpus,
      memory_mb: node.memoryMb,
      local_gb: node.diskGb,
      vcpus_used: node.vcpusUsed,
      memory_mb_used: node.memoryMbUsed,
      local_gb_used: node.diskGbUsed,
      hypervisor_type: node.hypervisorType,
      hypervisor_version: FAKE_HYPERVISOR_VERSION,
      free_ram_mb: node.memoryMb - node.memoryMbUsed,
      free_disk_gb: freeDisk,
      current_workload: 0,
      running_vms: node.instances.length,
      disk_available_least: freeDisk,
      host_ip: host.hostIp,
      service: {
        id: uuids ? service.uuid : service.id,
        host: host.name,
        disabled_reason: service.disabledReason,
      },
      // Nova decodes the driver's JSON from 2.28; the fake driver reports no CPU details.
      cpu_info: v.atLeast(28) ? {} : '{}',
    });
  }
  if (o.servers && (node.instances.length > 0 || (o.servers === 'always' && v.atLeast(75))))
    out.servers = node.instances.map((uuid) => ({ name: instanceName(uuid), uuid }));
  return out;
}

/** Hypervisors whose name contains `pattern` (Nova: SQL LIKE %pattern%); 404 when none. */
function matching(all: readonly Hypervisor[], pattern: string): Hypervisor[] {
  const found = all.filter((h) => h.host.name.includes(pattern));
  if (found.length === 0) throw notFound(`No hypervisor matching '${pattern}' could be found.`);
  return found;
}

/** A method Nova removed at 2.`max` answers 404 from it (VersionNotFoundForAPIMethod). */
function onlyBefore(v: ApiVersion, max: number): void {
  if (v.atLeast(max)) throw new ComputeHttpError(404, 'The resource could not be found.');
}

async function list(ctx: ComputeContext, req: FastifyRequest, detail: boolean) {
  const v = mv(req);
  const q = v.atLeast(53)
    ? checkQuery(req, LIST_QUERY_2_53)
    : v.atLeast(33)
      ? checkQuery(req, LIST_QUERY_2_33)
      : {};
  const servers = parseBool(q.with_servers) === true ? ('always' as const) : undefined;
  const all = await hypervisors(ctx);
  const view = (h: Hypervisor) => hypervisorView(h, v, { detail, ...(servers ? { servers } : {}) });
  const pattern = q.hypervisor_hostname_pattern;
  if (pattern !== undefined) {
    if (q.limit !== undefined || q.marker !== undefined)
      throw badRequest(
        'Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.',
      );
    return { hypervisors: matching(all, pattern).map(view) };
  }
  if (!v.atLeast(33)) return { hypervisors: all.map(view) };
  let start = 0;
  if (q.marker !== undefined) {
    const at = all.findIndex((h) => String(v.atLeast(53) ? h.node.uuid : h.host.id) === q.marker);
    if (at < 0) throw badRequest(`marker [${q.marker}] not found`);
    start = at + 1;
  }
  const limit = Math.min(q.limit === undefined ? ctx.maxLimit : Number(q.limit), ctx.maxLimit);
  const page = all.slice(start, start + limit);
  const out: Record<string, unknown> = { hypervisors: page.map(view) };
  if (page.length > 0 && page.length === limit) {
    const params = new URLSearchParams(req.url.split('?')[1] ?? '');
    const last = page[page.length - 1]!;
    params.set('marker', String(v.atLeast(53) ? last.node.uuid : last.host.id));
    const path = detail ? 'os-hypervisors/detail' : 'os-hypervisors';
    out.hypervisors_links = [
      { href: `${baseUrl(req, ctx.publicUrl)}${API_PREFIX}/${path}?${params.toString()}`, rel: 'next' },
    ];
  }
  return out;
}

/** The hypervisor `/os-hypervisors/{id}` names: an integer before 2.53, a uuid from it. */
async function byId(ctx: ComputeContext, v: ApiVersion, id: string): Promise<Hypervisor> {
  const missing = () => notFound(`Hypervisor with ID '${id}' could not be found.`);
  const uuid = tryParseUuid(id);
  if (v.atLeast(53) && uuid === undefined) throw badRequest(`Invalid uuid ${id}`);
  if (!v.atLeast(53) && !/^-?\d+$/.test(id)) throw missing();
  const all = await hypervisors(ctx);
  const found = all.find((h) => (v.atLeast(53) ? h.node.uuid === uuid : h.host.id === Number(id)));
  if (!found) throw missing();
  return found;
}

function statistics(all: readonly Hypervisor[]) {
  const sum = (f: (n: ComputeNode) => number) => all.reduce((t, h) => t + f(h.node), 0);
  const freeDisk = sum((n) => n.diskGb - n.diskGbUsed);
  return {
    count: all.length,
    vcpus: sum((n) => n.vcpus),
    memory_mb: sum((n) => n.memoryMb),
    local_gb: sum((n) => n.diskGb),
    vcpus_used: sum((n) => n.vcpusUsed),
    memory_mb_used: sum((n) => n.memoryMbUsed),
    local_gb_used: sum((n) => n.diskGbUsed),
    free_ram_mb: sum((n) => n.memoryMb - n.memoryMbUsed),
    free_disk_gb: freeDisk,
    current_workload: 0,
    running_vms: sum((n) => n.instances.length),
    disk_available_least: freeDisk,
  };
}

export async function hypervisorRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  routes(app, '/os-hypervisors', {
    GET: async (req, reply) => sendJson(reply, 200, await list(ctx, req, false)),
  });
  routes(app, '/os-hypervisors/detail', {
    GET: async (req, reply) => sendJson(reply, 200, await list(ctx, req, true)),
  });
  routes(app, '/os-hypervisors/statistics', {
    GET: async (_req, reply) =>
      sendJson(reply, 200, { hypervisor_statistics: statistics(await hypervisors(ctx)) }),
  });
  routes(app, '/os-hypervisors/:id', {
    GET: async (req, reply) => {
      const v = mv(req);
      const q = v.atLeast(53) ? checkQuery(req, SHOW_QUERY_2_53) : {};
      const h = await byId(ctx, v, pathParam(req, 'id'));
      const servers = parseBool(q.with_servers) === true ? ('always' as const) : undefined;
      return sendJson(reply, 200, {
        hypervisor: hypervisorView(h, v, { detail: true, ...(servers ? { servers } : {}) }),
      });
    },
  });
  routes(app, '/os-hypervisors/:id/search', {
    GET: async (req, reply) => {
      const v = mv(req);
      onlyBefore(v, 53);
      const found = matching(await hypervisors(ctx), pathParam(req, 'id'));
      return sendJson(reply, 200, { hypervisors: found.map((h) => hypervisorView(h, v, { detail: false })) });
    },
  });
  routes(app, '/os-hypervisors/:id/servers', {
    GET: async (req, reply) => {
      const v = mv(req);
      onlyBefore(v, 53);
      const found = matching(await hypervisors(ctx), pathParam(req, 'id'));
      return sendJson(reply, 200, {
        hypervisors: found.map((h) => hypervisorView(h, v, { detail: false, servers: 'nonEmpty' })),
      });
    },
  });
}
