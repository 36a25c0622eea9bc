/**
 * The boot path through the REAL roles, shared by the memory test (boot-path.test.ts) and the
 * real-server one (test/integration/boot-path-real.test.ts): one cell's tree actors, registrar,
 * scheduler shards and conductor as deploy/cell-roles.ts wires them, on whatever ports the test
 * hands in, and boots handed to the conductor's durable queue as the compute API hands them over
 * (record, then job). Nothing of the conductor's loop is re-implemented here: what is tested is
 * what runs. Plus the books, read straight from the cell store and the fake hypervisors.
 */
import { loadTree } from '../../../actors/provider-tree.ts';
import type { ConductorEvent } from '../../../cells/conductor/ports.ts';
import { buildJob, conductorJob, jobMsgId, opsQueueName } from '../../../cells/conductor-jobs.ts';
import { type InstanceFlavor, type InstanceRecord, newInstanceRecord } from '../../../cells/instances.ts';
import { encode } from '../../../core/codec/envelope.ts';
import type { Uuid } from '../../../core/model/ids.ts';
import { capacity } from '../../../core/model/inventory.ts';
import { providerUsages } from '../../../core/placement/usages.ts';
import type { Bus, WorkQueue } from '../../../core/ports/bus.ts';
import type { Store } from '../../../core/ports/store.ts';
import { type CellRoles, type CellRolesOptions, startCellRoles } from '../../../deploy/cell-roles.ts';

/** Instance uuid number n. */
export function instanceUuid(n: number): Uuid {
  return `b0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as Uuid;
}

export function flavorOf(f: { vcpus: number; ram: number; disk: number }): InstanceFlavor {
  return { id: 'f', name: 'f', ...f, ephemeral: 0, swap: 0, extraSpecs: {} };
}

export interface BootCell {
  readonly roles: CellRoles;
  /** Every conductor event so far (placed, conflict, reschedule, active, error, …). */
  readonly events: ConductorEvent[];
  /** Hands instance n's build to the conductor, as POST /servers does. */
  boot(n: number, flavor: InstanceFlavor): Promise<void>;
  record(n: number): Promise<InstanceRecord | undefined>;
  stop(): Promise<void>;
}

/** The cell's roles (trees, registrar, shards, conductor) in one process on the given ports. */
export async function startBootCell(
  o: Pick<
    CellRolesOptions,
    'cell' | 'cellUuid' | 'bus' | 'coordinator' | 'store' | 'clock' | 'shardCount' | 'memberships'
  > &
    Partial<Pick<CellRolesOptions, 'leaseTtlMs' | 'ackWaitMs' | 'serviceDownMs' | 'askTimeoutMs'>> & {
      /** The API's connection (jobs are enqueued through it). */
      readonly apiBus: Bus;
    },
): Promise<BootCell> {
  const events: ConductorEvent[] = [];
  const { apiBus, ...ports } = o;
  const roles = await startCellRoles({
    ...ports,
    replicaId: 'r1',
    roles: { trees: true, shards: Array.from({ length: o.shardCount }, (_, k) => k), conductor: true },
    onConductorEvent: (e) => events.push(e),
  });
  let queue: WorkQueue | undefined;
  return {
    roles,
    events,
    async boot(n, flavor) {
      const rec = newInstanceRecord(
        {
          uuid: instanceUuid(n),
          name: `vm-${n}`,
          projectId: 'p1',
          userId: 'u1',
          flavor,
          imageRef: 'cirros',
          requestId: `req-${n}`,
        },
        new Date(o.clock.now()).toISOString(),
      );
      queue ??= await apiBus.workQueue(opsQueueName(o.cell), { ackWaitMs: o.ackWaitMs ?? 30_000 });
      const job = buildJob(rec);
      await queue.enqueue(encode(conductorJob, job), { msgId: jobMsgId(job) });
      await roles.instances.create(rec);
    },
    record: async (n) => (await roles.instances.get(instanceUuid(n)))?.value,
    stop: () => roles.stop(),
  };
}

/** Per provider uuid, per class: the amounts of every ACTIVE instance's claim. */
export function claimedUsage(records: readonly InstanceRecord[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const r of records) {
    if (r.status !== 'ACTIVE' || !r.placement) continue;
    for (const [rp, amounts] of Object.entries(r.placement.allocations)) {
      const sum = out.get(rp) ?? {};
      for (const [rc, n] of Object.entries(amounts)) sum[rc] = (sum[rc] ?? 0) + n;
      out.set(rp, sum);
    }
  }
  return out;
}

export interface StoredProvider {
  readonly uuid: string;
  readonly usages: Readonly<Record<string, number>>;
  readonly capacity: Readonly<Record<string, number>>;
  readonly consumers: number;
}

/** Every provider of the given trees as the cell store holds it (read without the actors). */
export async function storedProviders(store: Store, roots: readonly Uuid[]): Promise<StoredProvider[]> {
  const out: StoredProvider[] = [];
  for (const root of roots) {
    const t = await loadTree(store, root);
    for (const u of t.placement.subtree(root)) {
      const rp = t.placement.provider(u)!;
      const cap = Object.fromEntries([...rp.inventories].map(([rc, inv]) => [rc, capacity(inv)]));
      out.push({ uuid: u, usages: providerUsages(rp), capacity: cap, consumers: rp.consumers.size });
    }
  }
  return out;
}
