/**
 * What the /servers route files share: the server use cases' ports (cells/servers/) as the API
 * implements them — the cells through the ServerBackend, flavors, server groups and quota limits
 * from the compute store, claims in the quota ledger, hosts from the host directory — and the
 * availability zones, the links' base, a flavor reference's id.
 */
import type { FastifyRequest } from 'fastify';
import type { InstanceFlavor } from '../../../cells/instances.ts';
import type { BootPorts } from '../../../cells/servers/boot.ts';
import type { DeletePorts } from '../../../cells/servers/delete.ts';
import type { MovePorts } from '../../../cells/servers/move.ts';
import { ALWAYS_UP } from '../../../cells/servers/ports.ts';
import type { PowerPorts } from '../../../cells/servers/power.ts';
import { CellplaneError } from '../../../core/errors.ts';
import type { ComputeContext } from '../context.ts';
import { baseUrl } from '../http.ts';
import { effectiveLimits } from '../quota.ts';
import type { ServerBackend } from '../servers-backend.ts';
import type { FlavorRecord } from '../store/records.ts';
import { pyRepr } from '../validate.ts';

/** Every server use case's ports, as the API implements them. */
export type ServerPorts = BootPorts & DeletePorts & PowerPorts & MovePorts;

/** The availability zones: every zone that exists, and a host's zone ('' for no host). */
export interface Zones {
  readonly all: ReadonlySet<string>;
  of(host: string | null | undefined): string;
}

/** What each /servers route file gets. */
export interface ServerRouteDeps {
  readonly ctx: ComputeContext;
  readonly backend: ServerBackend;
  readonly ports: ServerPorts;
  /** Base of links in answers. */
  base(req: FastifyRequest): string;
  /** The zones, from ONE read of the aggregates per call. */
  zones(): Promise<Zones>;
}

export function serverRouteDeps(ctx: ComputeContext, backend: ServerBackend): ServerRouteDeps {
  return {
    ctx,
    backend,
    ports: serverPorts(ctx, backend),
    base: (req) => baseUrl(req, ctx.publicUrl),
    zones: () => zonesOf(ctx),
  };
}

function serverPorts(ctx: ComputeContext, backend: ServerBackend): ServerPorts {
  const { store } = ctx;
  return {
    cells: backend,
    mappings: backend,
    jobs: backend,
    records: backend,
    quota: ctx.quota,
    limits: {
      limitsOf: async (projectId) => effectiveLimits(ctx.quotaDefaults, await store.quotas.get(projectId)),
    },
    groups: {
      members: async (group) => (await store.serverGroups.get(group))?.members ?? [],
      addMembers: (group, uuids) => store.serverGroups.addMembers(group, uuids),
      removeMembers: (group, uuids) => store.serverGroups.removeMembers(group, uuids),
    },
    flavors: {
      flavor: async (ref) => {
        const f = await store.flavors.get(flavorIdOf(ref));
        return f && !f.disabled ? instanceFlavor(f) : undefined;
      },
    },
    hosts: { exists: async (host) => !!(await ctx.hosts.computeHost(host)) },
    liveness: backend.liveness ?? ALWAYS_UP,
    now: () => Date.now(),
  };
}

async function zonesOf(ctx: ComputeContext): Promise<Zones> {
  const byHost = new Map<string, string>();
  const all = new Set([ctx.defaultZone]);
  for (const a of await ctx.store.aggregates.all()) {
    const z = a.metadata.availability_zone;
    if (!z) continue;
    all.add(z);
    for (const h of a.hosts) if (!byHost.has(h)) byHost.set(h, z);
  }
  return { all, of: (host) => (host ? (byHost.get(host) ?? ctx.defaultZone) : '') };
}

/** The instance's copy of an API flavor. */
export function instanceFlavor(f: FlavorRecord): InstanceFlavor {
  return {
    id: f.flavorid,
    name: f.name,
    vcpus: f.vcpus,
    ram: f.memoryMb,
    disk: f.rootGb,
    ephemeral: f.ephemeralGb,
    swap: f.swap,
    extraSpecs: f.extraSpecs,
  };
}

/** flavorRef is an id or a link ending in /flavors/<id> (`invalid` when its id is not valid percent-encoding). */
export function flavorIdOf(ref: string | number): string {
  const s = String(ref);
  const m = /\/flavors\/([^/]+)\/?$/.exec(s);
  if (!m) return s;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    throw new CellplaneError('invalid', `Invalid flavorRef provided: ${pyRepr(s)} is not a valid URL.`);
  }
}
