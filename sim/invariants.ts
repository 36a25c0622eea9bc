/**
 * The simulator's invariant checker. During the run, on every provider-tree change event (what
 * the tree actors publish after each committed claim, release or register): no provider is over
 * capacity. At the end, from the cell stores at quiescence:
 * - every provider's usage equals the claims of the live instances placed on it (no leak, no
 *   double allocation);
 * - every request ended ACTIVE (or deleted as planned) or ERROR with a fault message;
 * - no instance was mapped to a cell after that cell was disabled;
 * - server-group policies held: anti-affinity at most max_server_per_host members per host,
 *   affinity all members on one host.
 * The first violation is kept with the simulated time and the event that showed it; the run
 * fails with it.
 */
import { loadTree } from '../actors/provider-tree.ts';
import { type TreeChanged, treeChanged } from '../actors/provider-tree-messages.ts';
import { TREE_INDEX } from '../actors/provider-tree-store.ts';
import { InstanceStore } from '../cells/instances.ts';
import type { CellRecord } from '../cells/mapping.ts';
import type { CellMemberships } from '../cells/memberships.ts';
import { decode } from '../core/codec/envelope.ts';
import type { Uuid } from '../core/model/ids.ts';
import { capacity, makeInventory } from '../core/model/inventory.ts';
import type { PlacementState } from '../core/placement/state.ts';
import { providerUsages } from '../core/placement/usages.ts';
import type { Bus, Subscription } from '../core/ports/bus.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Store } from '../core/ports/store.ts';
import { indexPages } from '../core/stores/records.ts';
import type { FleetHost } from './capacity.ts';

export interface Violation {
  readonly atMs: number;
  readonly invariant: string;
  readonly message: string;
}

/** What the checker reads: a virtual World (sim/world.ts) or a real-time run's cells on Redis. */
export interface CheckedWorld {
  readonly clock: Pick<Clock, 'now'>;
  readonly cells: ReadonlyMap<string, { readonly store: Store; readonly record: CellRecord }>;
  readonly hosts: ReadonlyMap<string, { readonly az: string }>;
  readonly registry: { readonly memberships: Pick<CellMemberships, 'instanceMappings'> };
}

export class InvariantChecker {
  checks = 0;
  readonly violations: Violation[] = [];
  private subs: Subscription[] = [];
  /** cell name → when it was disabled (ms since the epoch, on the world's clock). */
  readonly disabledAt = new Map<string, number>();

  constructor(
    private readonly world: CheckedWorld,
    private readonly startMs: number,
  ) {}

  /** Follows every cell's tree events (over-capacity checks as they happen). */
  async start(bus: Bus): Promise<void> {
    for (const name of this.world.cells.keys()) {
      this.subs.push(
        await bus.subscribe(`cp.${name}.events.rp.*`, (m) => {
          try {
            this.onTreeChanged(name, decode(treeChanged, m.data));
          } catch {
            // Not an event this build reads.
          }
        }),
      );
    }
  }

  async stop(): Promise<void> {
    for (const s of this.subs.splice(0)) await s.unsubscribe().catch(() => {});
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  private violate(invariant: string, message: string): void {
    if (this.violations.length < 100)
      this.violations.push({ atMs: this.world.clock.now() - this.startMs, invariant, message });
  }

  private onTreeChanged(cell: string, ev: TreeChanged): void {
    this.checks++;
    for (const p of ev.providers) {
      for (const [rc, inv] of Object.entries(p.inventories)) {
        const cap = capacity(makeInventory(inv));
        const used = p.usages[rc] ?? 0;
        if (used > cap)
          this.violate(
            'capacity',
            `${cell}: provider ${p.name} (${p.uuid}) has ${used} ${rc} used of ${cap} after a ${ev.cause} (tree version ${ev.version})`,
          );
      }
    }
  }

  /**
   * The end-of-run checks over the cell stores. `requests`: every submitted request's uuid with
   * what the run expects of it (`deleted`: a planned delete completed, so the record is gone).
   */
  async final(
    requests: ReadonlyMap<
      string,
      { readonly deleted: boolean; readonly ended?: string; readonly stage?: string }
    >,
  ): Promise<FleetHost[]> {
    const seen = new Set<string>();
    /** Each host's free capacity and traits, read on the way (the capacity table's input). */
    const fleet: FleetHost[] = [];
    for (const [name, cell] of this.world.cells) {
      const instances = new InstanceStore(cell.store);
      const want = new Map<string, Record<string, number>>();
      /** Each record's status and task, to name the consumers behind a mismatch. */
      const records = new Map<string, string>();
      const groups = new Map<string, { policy: string; max: number; hosts: Map<string, number> }>();
      for await (const r of instances.all()) {
        this.checks++;
        const v = r.value;
        seen.add(v.uuid);
        records.set(
          v.uuid,
          `${v.status}${v.taskState ? `/${v.taskState}` : ''}${v.placement ? ` on ${v.placement.host}` : ''}`,
        );
        if (v.status === 'BUILD')
          this.violate(
            'ended',
            `${name}: instance ${v.uuid} is still BUILD at the end (task ${v.taskState}${v.placement ? `, placed on ${v.placement.host}` : ''})`,
          );
        if (v.status === 'ERROR' && !v.fault?.message)
          this.violate('ended', `${name}: instance ${v.uuid} is ERROR without a fault`);
        if (v.placement && v.status !== 'ERROR') {
          for (const [rp, amounts] of Object.entries(v.placement.allocations)) {
            const sum = want.get(rp) ?? {};
            for (const [rc, n] of Object.entries(amounts)) sum[rc] = (sum[rc] ?? 0) + n;
            want.set(rp, sum);
          }
          if (v.group && v.status === 'ACTIVE') {
            const g = groups.get(v.group.uuid) ?? {
              policy: v.group.policy,
              max: v.group.maxServerPerHost ?? 1,
              hosts: new Map(),
            };
            g.hosts.set(v.placement.host, (g.hosts.get(v.placement.host) ?? 0) + 1);
            groups.set(v.group.uuid, g);
          }
        }
      }
      const roots = await allMembers(cell.store, TREE_INDEX);
      for (const root of roots) {
        const t = await loadTree(cell.store, root as Uuid);
        const top = t.placement.provider(root as Uuid);
        if (top) {
          // The whole tree: devices (VGPU, SRIOV_NET_VF, FPGA…) sit on nested providers, and so
          // do the traits a flavor requires of them. Free amounts of a class are summed over its
          // providers (exact for requests of one unit, the device flavors' usual ask).
          const free: Record<string, number> = {};
          const traits = new Set<string>();
          for (const u of t.placement.subtree(root as Uuid)) {
            const rp = t.placement.provider(u)!;
            const used = providerUsages(rp);
            for (const [rc, inv] of rp.inventories)
              free[rc] = (free[rc] ?? 0) + capacity(inv) - (used[rc] ?? 0);
            for (const tr of rp.traits) traits.add(tr);
          }
          const az = this.world.hosts.get(top.name)?.az ?? 'nova';
          fleet.push({ name: top.name, cell: name, az, free, traits: [...traits].sort() });
        }
        for (const u of t.placement.subtree(root as Uuid)) {
          this.checks++;
          const rp = t.placement.provider(u)!;
          const used = providerUsages(rp);
          for (const [rc, inv] of rp.inventories) {
            const expected = want.get(u)?.[rc] ?? 0;
            const have = used[rc] ?? 0;
            if (have !== expected)
              this.violate(
                'allocations',
                `${name}: provider ${rp.name} holds ${have} ${rc} but its live instances claim ${expected} (${holders(t.placement, u, rc, records)})`,
              );
            if (have > capacity(inv))
              this.violate(
                'capacity',
                `${name}: provider ${rp.name} over capacity: ${have} ${rc} of ${capacity(inv)}`,
              );
          }
        }
      }
      for (const [g, v] of groups) {
        if (v.policy === 'anti-affinity')
          for (const [host, n] of v.hosts)
            if (n > v.max)
              this.violate(
                'affinity',
                `${name}: anti-affinity group ${g} has ${n} members on ${host} (max ${v.max})`,
              );
        if (v.policy === 'affinity' && v.hosts.size > 1)
          this.violate('affinity', `${name}: affinity group ${g} spans ${v.hosts.size} hosts`);
      }
      const disabledAt = this.disabledAt.get(name);
      if (disabledAt !== undefined) {
        for (const m of await this.world.registry.memberships.instanceMappings(cell.record.uuid)) {
          if (m.mappedAt > disabledAt)
            this.violate(
              'disabled',
              `${name}: instance ${m.instanceUuid} mapped at ${m.mappedAt} after the cell was disabled at ${disabledAt}`,
            );
        }
      }
    }
    for (const [uuid, r] of requests) {
      this.checks++;
      // A refused request was answered with an error: nothing was accepted, nothing can be lost.
      if (!r.deleted && !seen.has(uuid) && r.ended !== 'refused')
        this.violate(
          'lost',
          `request ${uuid} was accepted but has no instance record${r.stage ? ` (submit: ${r.stage})` : ''}`,
        );
      if (r.deleted && seen.has(uuid))
        this.violate('ended', `instance ${uuid} was deleted but its record remains`);
    }
    return fleet;
  }
}

async function allMembers(store: Store, index: string): Promise<string[]> {
  const out: string[] = [];
  for await (const members of indexPages(store, index, 10_000)) out.push(...members);
  return out;
}

/** Who holds `rc` on provider `rp`: each consumer with its amount and its record's status. */
function holders(state: PlacementState, rp: Uuid, rc: string, records: ReadonlyMap<string, string>): string {
  const out: string[] = [];
  for (const c of state.consumers()) {
    const n = c.allocations.get(rp)?.get(rc);
    if (n) out.push(`${c.uuid}=${n} [${records.get(c.uuid) ?? 'no record'}]`);
  }
  return out.length > 0 ? `held by ${out.join(', ')}` : 'held by nobody';
}
