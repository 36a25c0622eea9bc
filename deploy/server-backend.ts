/**
 * The compute API's ServerBackend over the cells: the CellDirectory (watched cell records), the
 * memberships in the coordinator (instance → cell), each cell's store and bus (`portsOf`: the
 * same memory ports for every cell when embedded, the cell's own Redis and NATS otherwise), the
 * cell router fed by the shards' capacity reports, and the cross-cell lister.
 */
import { capacityReport, capacitySubject } from '../actors/scheduler-shard-messages.ts';
import { apiStatus } from '../api/compute/routes/server-view.ts';
import {
  ALWAYS_UP,
  type HostLiveness,
  type PlacementHint,
  type ServerBackend,
} from '../api/compute/servers-backend.ts';
import { DEFAULT_JOB_ACK_WAIT_MS } from '../cells/conductor.ts';
import { type ConductorJob, conductorJob, jobMsgId, opsQueueName } from '../cells/conductor-jobs.ts';
import {
  type CellInstanceSource,
  type CrossCellListConfig,
  CrossCellLister,
} from '../cells/cross-cell-list.ts';
import { selectRows } from '../cells/cross-cell-sort.ts';
import type { InstanceSummary } from '../cells/cross-cell-types.ts';
import type { CellDirectory } from '../cells/directory.ts';
import { type InstanceRecord, InstanceStore } from '../cells/instances.ts';
import type { CellRecord } from '../cells/mapping.ts';
import type { CellMemberships } from '../cells/memberships.ts';
import { CellRouter } from '../cells/router.ts';
import { decode, encode } from '../core/codec/envelope.ts';
import { toCellplaneError } from '../core/errors.ts';
import type { Bus, Subscription, WorkQueue } from '../core/ports/bus.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Store } from '../core/ports/store.ts';

export interface CellPorts {
  readonly store: Store;
  readonly bus: Bus;
}

export interface ServerBackendOptions {
  readonly directory: CellDirectory;
  readonly memberships: CellMemberships;
  /** The store and bus of a cell (opened lazily and cached by the caller's implementation). */
  portsOf(cell: CellRecord): CellPorts | Promise<CellPorts>;
  readonly clock: Clock;
  readonly random?: () => number;
  readonly list?: Partial<CrossCellListConfig>;
  /** Ack-wait of the cells' operations queues (must match the conductors'). */
  readonly ackWaitMs?: number;
  /** Whether a host is up (evacuate is refused for a host that is up). Default: every host up. */
  readonly liveness?: HostLiveness;
}

/** How long a job's enqueue is retried while NATS times out or is unreachable. */
export const ENQUEUE_RETRY_MS = 15_000;

export class CellsServerBackend implements ServerBackend {
  readonly router: CellRouter;
  readonly liveness: HostLiveness;
  private readonly lister: CrossCellLister;
  private readonly stores = new Map<string, InstanceStore>();
  private readonly queues = new Map<string, Promise<WorkQueue>>();
  private readonly subs = new Map<string, Promise<Subscription>>();

  constructor(private readonly o: ServerBackendOptions) {
    this.router = new CellRouter({ now: () => o.clock.now(), random: o.random ?? Math.random });
    this.liveness = o.liveness ?? ALWAYS_UP;
    const source: CellInstanceSource = {
      list: async (cell, query) => {
        const rows: InstanceSummary[] = [];
        for await (const r of (await this.instances(cell)).all()) rows.push(summaryOf(r.value));
        return selectRows(rows, query);
      },
      get: async (cell, uuid) => {
        const r = await (await this.instances(cell)).get(uuid);
        return r ? summaryOf(r.value) : undefined;
      },
    };
    this.lister = new CrossCellLister(
      { cells: o.directory, mappings: o.memberships, source, clock: o.clock },
      o.list ?? {},
    );
    for (const c of o.directory.list()) this.follow(c);
    o.directory.onChange(() => {
      for (const c of o.directory.list()) this.follow(c);
    });
  }

  /** Subscribes to a cell's capacity reports (once per cell). */
  private follow(cell: CellRecord): void {
    if (this.subs.has(cell.uuid)) return;
    const sub = (async () => {
      const { bus } = await this.o.portsOf(cell);
      return bus.subscribe(capacitySubject(cell.name), (m) => {
        try {
          const r = decode(capacityReport, m.data);
          if (r.cell === cell.name) this.router.update(r);
        } catch {
          // Not a report this build reads: ignored.
        }
      });
    })();
    this.subs.set(cell.uuid, sub);
    sub.catch(() => this.subs.delete(cell.uuid)); // tried again on the next directory change
  }

  async chooseCell(hint: PlacementHint, exclude?: ReadonlySet<string>): Promise<CellRecord> {
    const accepting = this.o.directory.accepting().filter((c) => !exclude?.has(c.uuid));
    return this.router.choose(accepting, hint);
  }

  async mapInstance(uuid: string, cell: CellRecord, projectId: string) {
    return this.o.memberships.mapInstance(uuid, cell.uuid, projectId);
  }

  async unmapInstance(uuid: string, cell: CellRecord): Promise<void> {
    await this.o.memberships.unmapInstance(uuid, cell.uuid);
  }

  async cellOf(uuid: string): Promise<CellRecord | undefined> {
    const m = await this.o.memberships.instanceMapping(uuid);
    return m ? this.o.directory.get(m.cellUuid) : undefined;
  }

  async instances(cell: CellRecord): Promise<InstanceStore> {
    let s = this.stores.get(cell.uuid);
    if (!s) {
      s = new InstanceStore((await this.o.portsOf(cell)).store);
      this.stores.set(cell.uuid, s);
    }
    return s;
  }

  async enqueue(cell: CellRecord, job: ConductorJob): Promise<void> {
    let q = this.queues.get(cell.uuid);
    if (!q) {
      const ackWaitMs = this.o.ackWaitMs ?? DEFAULT_JOB_ACK_WAIT_MS;
      q = Promise.resolve(this.o.portsOf(cell)).then((p) =>
        p.bus.workQueue(opsQueueName(cell.name), { ackWaitMs }),
      );
      this.queues.set(cell.uuid, q);
      q.catch(() => this.queues.delete(cell.uuid));
    }
    const queue = await q;
    const data = encode(conductorJob, job);
    // The job's message id makes a retry idempotent (JetStream drops the duplicate), so a NATS
    // restart or reconnect of a few seconds delays the request instead of failing it.
    const giveUpAt = this.o.clock.now() + ENQUEUE_RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        await queue.enqueue(data, { msgId: jobMsgId(job) });
        return;
      } catch (err) {
        const code = toCellplaneError(err).code;
        if ((code !== 'timeout' && code !== 'unavailable') || this.o.clock.now() >= giveUpAt) throw err;
        await this.o.clock.sleep(Math.min(250 * attempt, 2_000));
      }
    }
  }

  list(req: Parameters<ServerBackend['list']>[0]) {
    return this.lister.list(req);
  }

  async usage(projectId: string) {
    const out = { instances: 0, cores: 0, ram: 0 };
    for (const cell of this.o.directory.list()) {
      const u = await (await this.instances(cell)).projectUsage(projectId);
      out.instances += u.instances;
      out.cores += u.cores;
      out.ram += u.ram;
    }
    return out;
  }

  async close(): Promise<void> {
    for (const s of this.subs.values()) await (await s.catch(() => undefined))?.unsubscribe();
    this.subs.clear();
  }
}

function summaryOf(r: InstanceRecord): InstanceSummary {
  return {
    uuid: r.uuid,
    name: r.name,
    status: apiStatus(r),
    host: r.placement?.host ?? null,
    projectId: r.projectId,
    createdAt: Date.parse(r.createdAt),
    updatedAt: Date.parse(r.updatedAt),
  };
}
