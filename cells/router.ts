/**
 * The cell router: picks the cell a new instance goes to from the capacity reports its scheduler
 * shards publish (actors/scheduler-shard-messages.ts `capacityReport`), so a boot asks the shards
 * of ONE cell instead of fanning out to every host of every cell.
 *
 * Choice: among the cells that accept instances (enabled), those whose reports say the flavor
 * can fit — some shard has, for every resource class the flavor asks (VCPU, MEMORY_MB, DISK_GB,
 * and any `resources[N]:<CLASS>` of its extra specs: VGPU, SRIOV_NET_VF, CUSTOM_*…, nested
 * providers included), a host with that much free, and some host with each required trait
 * (in the requested zone, if any) — weighted by their free MEMORY_MB, drawn with the injected
 * random source (a burst of boots spreads over the cells instead of piling onto the emptiest one
 * until the next report). Reports older than `staleAfterMs` are ignored. When no accepting cell
 * has a usable report (start-up, or every report stale) the choice is uniform over the accepting
 * cells: the cell's conductor then decides (ERROR "No valid host" if nothing fits).
 */
import type { CapacityReport } from '../actors/scheduler-shard-messages.ts';
import { CellplaneError } from '../core/errors.ts';
import { groupKeyOf } from '../core/model/extra-specs.ts';
import type { CellRecord } from './mapping.ts';

export interface RouteHint {
  readonly vcpus: number;
  readonly ramMb: number;
  readonly diskGb: number;
  readonly availabilityZone: string | null;
  /** The flavor's extra specs: `resources:<CLASS>` amounts and `trait:<T>=required` count too. */
  readonly extraSpecs?: Readonly<Record<string, string>>;
}

export interface Demand {
  /** Class → amount one instance needs (0 dropped: `resources:DISK_GB=0`, boot from volume). */
  readonly amounts: ReadonlyArray<readonly [string, number]>;
  readonly traits: readonly string[];
}

/**
 * What one instance of `hint` needs of a single host, as the scheduler will ask it: per class the
 * most one provider must give (the unnumbered group's amount, or a granular group's), and every
 * required trait (`trait:` or `trait<N>:`). Necessary conditions, enough to rule a cell out.
 */
export function demandOf(hint: RouteHint): Demand {
  const amounts = new Map<string, number>([
    ['VCPU', hint.vcpus],
    ['MEMORY_MB', hint.ramMb],
    ['DISK_GB', hint.diskGb],
  ]);
  const granular: Array<[string, number]> = [];
  const traits: string[] = [];
  for (const [k, v] of Object.entries(hint.extraSpecs ?? {})) {
    const g = groupKeyOf(k);
    if (!g) continue;
    const { scope, suffix, name } = g;
    const n = Number(v);
    if (scope === 'resources' && Number.isInteger(n) && n >= 0) {
      if (suffix === '') amounts.set(name, n);
      else granular.push([name, n]);
    } else if (scope === 'trait' && v === 'required') traits.push(name);
  }
  for (const [rc, n] of granular) amounts.set(rc, Math.max(amounts.get(rc) ?? 0, n));
  return { amounts: [...amounts].filter(([, n]) => n > 0), traits };
}

export const DEFAULT_REPORT_STALE_AFTER_MS = 15_000;

export class CellRouter {
  /** cell name → shard → latest report. */
  private readonly reports = new Map<string, Map<number, CapacityReport>>();

  constructor(
    private readonly opts: {
      readonly now: () => number;
      /** Uniform in [0, 1). */
      readonly random: () => number;
      readonly staleAfterMs?: number;
    },
  ) {}

  /** Takes a shard's report (an older one than held is ignored). */
  update(r: CapacityReport): void {
    let shards = this.reports.get(r.cell);
    if (!shards) {
      shards = new Map();
      this.reports.set(r.cell, shards);
    }
    const held = shards.get(r.shard);
    if (!held || held.atMs <= r.atMs) shards.set(r.shard, r);
  }

  /**
   * Free MEMORY_MB a cell reports for `hint` (0: cannot fit), undefined when it has no fresh
   * report. `demand` is `demandOf(hint)`, passed by a caller asking about several cells.
   */
  headroom(cell: string, hint: RouteHint, demand: Demand = demandOf(hint)): number | undefined {
    const shards = this.reports.get(cell);
    if (!shards) return undefined;
    const oldest = this.opts.now() - (this.opts.staleAfterMs ?? DEFAULT_REPORT_STALE_AFTER_MS);
    let fresh = false;
    let free = 0;
    for (const r of shards.values()) {
      if (r.atMs < oldest) continue;
      fresh = true;
      const z = hint.availabilityZone === null ? r : r.zones[hint.availabilityZone];
      if (!z) continue;
      const fits =
        demand.amounts.every(([rc, n]) => (z.largest[rc] ?? 0) >= n) &&
        (z.traits === undefined || demand.traits.every((t) => z.traits!.includes(t)));
      if (fits) free += z.free.MEMORY_MB ?? 0;
    }
    return fresh ? free : undefined;
  }

  /** One of `accepting` (enabled cells) for an instance like `hint`. */
  choose(accepting: readonly CellRecord[], hint: RouteHint): CellRecord {
    if (accepting.length === 0)
      throw new CellplaneError(
        'notFound',
        'No cell accepts new instances (every cell is disabled or none exists)',
      );
    const demand = demandOf(hint); // once per choice, not once per cell
    const weighted: Array<{ cell: CellRecord; w: number }> = [];
    let reported = 0;
    for (const cell of accepting) {
      const h = this.headroom(cell.name, hint, demand);
      if (h === undefined) continue;
      reported++;
      if (h > 0) weighted.push({ cell, w: h });
    }
    if (reported === 0) return accepting[Math.floor(this.opts.random() * accepting.length)]!;
    if (weighted.length === 0) {
      // Reports say nothing fits anywhere: let the emptiest reporting cell's scheduler say why.
      return accepting.find((c) => this.headroom(c.name, hint, demand) !== undefined)!;
    }
    const total = weighted.reduce((s, x) => s + x.w, 0);
    let r = this.opts.random() * total;
    for (const x of weighted) {
      r -= x.w;
      if (r < 0) return x.cell;
    }
    return weighted[weighted.length - 1]!.cell;
  }
}
