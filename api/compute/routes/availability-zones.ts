/**
 * /os-availability-zone[/detail] (nova/api/openstack/compute/availability_zone.py): zones come
 * from the services of the host directory, a compute host's zone from the `availability_zone`
 * metadata of its aggregates (else the default zone), other services' from the internal zone.
 * A zone is available when one of its services is enabled; the brief list hides the internal zone.
 */
import type { FastifyInstance } from 'fastify';
import type { ComputeContext, RouteOptions } from '../context.ts';
import { COMPUTE_BINARY, type ServiceState } from '../hosts.ts';
import { routes, sendJson } from '../http.ts';
import { AZ_KEY } from '../store/aggregates.ts';
import { novaTime } from './aggregates.ts';

interface PlacedService extends ServiceState {
  readonly host: string;
  readonly zone: string;
}

/** Every service of the directory with its zone. Zones of several aggregates join with ',' (Nova). */
async function placedServices(ctx: ComputeContext): Promise<PlacedService[]> {
  const zonesOf = new Map<string, Set<string>>();
  for (const a of await ctx.store.aggregates.all()) {
    const zone = a.metadata[AZ_KEY];
    if (zone === undefined) continue;
    for (const h of a.hosts) zonesOf.set(h, (zonesOf.get(h) ?? new Set()).add(zone));
  }
  const out: PlacedService[] = [];
  for (const h of await ctx.hosts.hosts()) {
    for (const s of h.services) {
      const zones = zonesOf.get(h.name);
      const zone =
        s.binary !== COMPUTE_BINARY
          ? ctx.internalZone
          : zones
            ? [...zones].sort().join(',')
            : ctx.defaultZone;
      out.push({ ...s, host: h.name, zone });
    }
  }
  return out;
}

function zoneSets(services: readonly PlacedService[]) {
  const available = [...new Set(services.filter((s) => s.enabled).map((s) => s.zone))].sort();
  const unavailable = [
    ...new Set(services.filter((s) => !s.enabled && !available.includes(s.zone)).map((s) => s.zone)),
  ].sort();
  return { available, unavailable };
}

export async function availabilityZoneRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  routes(app, '/os-availability-zone', {
    GET: async (_req, reply) => {
      const { available, unavailable } = zoneSets(await placedServices(ctx));
      const info = [
        ...available.map((z) => [z, true] as const),
        ...unavailable.map((z) => [z, false] as const),
      ]
        .filter(([z]) => z !== ctx.internalZone)
        .map(([zoneName, ok]) => ({ zoneName, zoneState: { available: ok }, hosts: null }));
      return sendJson(reply, 200, { availabilityZoneInfo: info });
    },
  });

  routes(app, '/os-availability-zone/detail', {
    GET: async (_req, reply) => {
      const services = await placedServices(ctx);
      const { available, unavailable } = zoneSets(services);
      const info: unknown[] = available.map((zoneName) => {
        const hosts: Record<string, Record<string, unknown>> = {};
        for (const s of services.filter((x) => x.enabled && x.zone === zoneName)) {
          hosts[s.host] ??= {};
          hosts[s.host]![s.binary] = {
            available: s.up,
            active: s.enabled,
            updated_at: novaTime(s.updatedAt),
          };
        }
        return { zoneName, zoneState: { available: true }, hosts };
      });
      for (const zoneName of unavailable)
        info.push({ zoneName, zoneState: { available: false }, hosts: null });
      return sendJson(reply, 200, { availabilityZoneInfo: info });
    },
  });
}
