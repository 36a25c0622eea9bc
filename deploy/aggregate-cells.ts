/**
 * Which cells can hold a boot that asks for aggregates — an availability zone, or flavor
 * `aggregate_instance_extra_specs:<key>` — for its cell choice: the hosts that satisfy them
 * (the aggregate catalogue, the same document the scheduler shards read, with the shards' rules:
 * core/scheduler/stages availability-zone and aggregate-extra-specs), then each host's cell from
 * its host mapping in the coordinator. Kept per request shape until the catalogue's version moves
 * or `ttlMs` passes (a host mapped to another cell meanwhile is seen then), so a burst of such
 * boots reads the mappings once. The router's capacity reports lag an aggregate change by a
 * report interval; this answer does not.
 */
import type { AggregateCatalogueView, CatalogueAggregate } from '../cells/aggregate-catalogue.ts';
import { HostMappingMessage, hostMappingKey } from '../cells/mapping.ts';
import { decode } from '../core/codec/envelope.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Coordinator } from '../core/ports/coordinator.ts';
import { matchesRequirement } from '../core/scheduler/stages/extra-specs-ops.ts';

export const DEFAULT_AGGREGATE_CELLS_TTL_MS = 30_000;
/** Host mappings read at once. */
export const HOST_LOOKUPS_IN_FLIGHT = 32;
/** Request shapes remembered (zone + aggregate specs); the oldest is dropped past it. */
export const MAX_REMEMBERED_SHAPES = 256;
const SPEC_PREFIX = 'aggregate_instance_extra_specs:';

export interface AggregateAsk {
  readonly availabilityZone: string | null;
  /** The flavor's extra specs (only `aggregate_instance_extra_specs:*` are read). */
  readonly extraSpecs?: Readonly<Record<string, string>>;
}

export class AggregateCells {
  private readonly cache = new Map<string, { version: number; atMs: number; cells: ReadonlySet<string> }>();

  constructor(
    private readonly o: {
      readonly catalogue: AggregateCatalogueView;
      readonly coordinator: Coordinator;
      readonly clock: Clock;
      readonly ttlMs?: number;
    },
  ) {}

  /**
   * Uuids of the cells with a host that satisfies `ask`; undefined when any cell may (the
   * default zone and no aggregate specs: hosts need no aggregate).
   */
  async cellsFor(ask: AggregateAsk): Promise<ReadonlySet<string> | undefined> {
    const zone = ask.availabilityZone === this.o.catalogue.defaultZone ? null : ask.availabilityZone;
    const specs = Object.entries(ask.extraSpecs ?? {})
      .filter(([k]) => k.startsWith(SPEC_PREFIX))
      .map(([k, requirement]) => ({ key: k.slice(SPEC_PREFIX.length), requirement }))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    if (zone === null && specs.length === 0) return undefined;
    const shape = JSON.stringify([zone, specs]);
    const version = this.o.catalogue.version;
    const now = this.o.clock.now();
    const held = this.cache.get(shape);
    if (
      held &&
      held.version === version &&
      now - held.atMs < (this.o.ttlMs ?? DEFAULT_AGGREGATE_CELLS_TTL_MS)
    )
      return held.cells;
    const cells = await this.cellsOf(this.hostsSatisfying(zone, specs));
    this.cache.delete(shape);
    this.cache.set(shape, { version, atMs: now, cells });
    if (this.cache.size > MAX_REMEMBERED_SHAPES) this.cache.delete(this.cache.keys().next().value!);
    return cells;
  }

  /** Hosts in some aggregate whose aggregates put them in `zone` and match every spec. */
  private hostsSatisfying(
    zone: string | null,
    specs: readonly { key: string; requirement: string }[],
  ): string[] {
    const inZone = zone === null ? undefined : this.o.catalogue.hostsInZone(zone);
    const byHost = new Map<string, CatalogueAggregate[]>();
    for (const a of this.o.catalogue.aggregates())
      for (const h of a.hosts) {
        const held = byHost.get(h);
        if (held) held.push(a);
        else byHost.set(h, [a]);
      }
    const out: string[] = [];
    for (const [host, aggs] of byHost) {
      if (inZone && !inZone.has(host)) continue;
      const ok = specs.every(({ key, requirement }) =>
        aggs.some((a) =>
          (a.metadata[key] ?? '')
            .split(',')
            .map((s) => s.trim())
            .some((v) => v.length > 0 && matchesRequirement(v, requirement)),
        ),
      );
      if (ok) out.push(host);
    }
    return out;
  }

  private async cellsOf(hosts: readonly string[]): Promise<Set<string>> {
    const cells = new Set<string>();
    for (let i = 0; i < hosts.length; i += HOST_LOOKUPS_IN_FLIGHT) {
      const got = await Promise.all(
        hosts.slice(i, i + HOST_LOOKUPS_IN_FLIGHT).map((h) => this.o.coordinator.get(hostMappingKey(h))),
      );
      for (const e of got) if (e) cells.add(decode(HostMappingMessage, e.value).cellUuid);
    }
    return cells;
  }
}
