/**
 * The simulator's region as the server use cases (cells/servers/) see it: the same boot, delete
 * and move functions the compute API calls, over the same ServerBackend (deploy/server-backend.ts:
 * cell router, instance mappings, each cell's records and durable queue) and a real quota ledger
 * (api/compute/quota-ledger.ts: claims reserved by each boot; released by the conductors' deletes
 * in virtual time, by the region on the conductors' `deleted` events in real time).
 *
 * What the simulator has instead of the API's store: scenarios set no quota (every project is
 * unlimited: NO_QUOTA_LIMITS), flavors are the scenario's (the book's), server groups are kept
 * here (SimGroups), compute hosts are the fleet's, and the workload issues no evacuation (every
 * host counts as up).
 */
import type { QuotaLedger } from '../api/compute/quota-ledger.ts';
import type { ServerBackend } from '../api/compute/servers-backend.ts';
import type { InstanceFlavor } from '../cells/instances.ts';
import type { BootPorts } from '../cells/servers/boot.ts';
import { type DeletePorts, deleteServer } from '../cells/servers/delete.ts';
import type { MovePorts } from '../cells/servers/move.ts';
import { ALWAYS_UP, type GroupMembers } from '../cells/servers/ports.ts';
import { toCellplaneError } from '../core/errors.ts';
import type { Clock } from '../core/ports/clock.ts';

/** The use cases' ports the simulator uses: boot (workload), delete (lifetimes), move (operations). */
export type SimServerPorts = BootPorts & DeletePorts & MovePorts;

/** Scenarios set no quota: every resource of every project unlimited (absent = -1). */
export const NO_QUOTA_LIMITS: Readonly<Record<string, number>> = Object.freeze({});

/** Who the simulator's deletes and moves come from (the instance actions' user and project). */
export const SIM_OPERATOR = Object.freeze({ userId: 'sim', projectId: 'sim' });

export interface SimServerOptions {
  readonly backend: Pick<
    ServerBackend,
    'chooseCell' | 'mapInstance' | 'unmapInstance' | 'cellOf' | 'instances' | 'enqueue'
  >;
  readonly quota: Pick<QuotaLedger, 'reserve' | 'release' | 'resize'>;
  /** ms since the epoch (the virtual clock in virtual mode). */
  readonly now: () => number;
  /** The scenario's flavors by name (resize targets). */
  readonly flavor: (name: string) => InstanceFlavor | undefined;
  /** Whether a host is one of the fleet's. */
  readonly isHost: (name: string) => boolean;
}

export function simServerPorts(o: SimServerOptions): SimServerPorts {
  return {
    cells: o.backend,
    mappings: o.backend,
    jobs: o.backend,
    records: o.backend,
    quota: o.quota,
    limits: { limitsOf: async () => NO_QUOTA_LIMITS },
    groups: new SimGroups(),
    flavors: { flavor: async (name) => o.flavor(name) },
    hosts: { exists: async (name) => o.isHost(name) },
    liveness: ALWAYS_UP,
    now: o.now,
  };
}

/** Server groups' members, in memory (the API keeps them in its store). */
export class SimGroups implements GroupMembers {
  private readonly byGroup = new Map<string, string[]>();

  async members(group: string): Promise<readonly string[]> {
    return this.byGroup.get(group) ?? [];
  }

  async addMembers(group: string, uuids: readonly string[]): Promise<void> {
    const m = this.byGroup.get(group) ?? [];
    for (const u of uuids) if (!m.includes(u)) m.push(u);
    this.byGroup.set(group, m);
  }

  async removeMembers(group: string, uuids: readonly string[]): Promise<void> {
    const m = this.byGroup.get(group)?.filter((u) => !uuids.includes(u));
    if (m?.length) this.byGroup.set(group, m);
    else this.byGroup.delete(group);
  }
}

/** Tries at a planned delete whose record changed between its read and its write (409 "try again"). */
export const DELETE_ATTEMPTS = 3;
/** How long a planned delete is asked again while a store or the bus does not answer (a 503). */
export const DELETE_RETRY_MS = 15_000;
/** The pause between those tries. */
export const DELETE_PAUSE_MS = 500;

/**
 * A planned delete (the end of a server's lifetime) through the API's delete use case, asked again
 * as a client would: at once after a 409 "changed meanwhile", after a pause while something does
 * not answer (a Redis or NATS restart). Asking again is safe: a delete under way is just queued
 * again, and its job's message id (one request id per server) makes the queue keep one.
 */
export async function deletePlanned(
  ports: DeletePorts,
  uuid: string,
  clock: Pick<Clock, 'now' | 'sleep'>,
): Promise<void> {
  const who = { ...SIM_OPERATOR, requestId: `sim-del-${uuid}` };
  const giveUpAt = clock.now() + DELETE_RETRY_MS;
  for (let conflicts = 0; ; ) {
    try {
      return await deleteServer(ports, uuid, who);
    } catch (err) {
      const e = toCellplaneError(err);
      if (e.code === 'conflict' && ++conflicts < DELETE_ATTEMPTS) continue;
      if (e.code === 'conflict' || !e.retryable || clock.now() >= giveUpAt) throw err;
      await clock.sleep(DELETE_PAUSE_MS);
    }
  }
}
