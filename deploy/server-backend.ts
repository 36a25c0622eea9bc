/**
 * The compute API's ServerBackend over the cells: the CellDirectory (watched cell records), the
 * instance mappings (instance → cell, in the API layer's store: cells/instance-mappings.ts), each
 * cell's store and bus (`portsOf`: the same memory ports for every cell when embedded, the cell's
 * own Redis and NATS otherwise), the cell router fed by the shards' capacity reports, and the
 * cross-cell lister.
 *
 * Isolation: which cells answer is tracked by a CellHealth (cells/cell-health.ts) whose probe
 * reads the cell's store and flushes its bus, under `cellTimeoutMs`. A new instance goes to a cell
 * that answers; only when no accepting cell answers is it routed as before (its durable job waits
 * for the cell). A list does not ask a cell known to be down (its instances show as UNKNOWN at
 * once) and every list's outcome per cell feeds the verdicts. Quota usage is not read here: it is
 * kept at the API layer (api/compute/quota-ledger.ts), and `cells()` + `instances()` are what its
 * reconcile pass reads.
 */
import { capacityReport, capacitySubject } from '../actors/scheduler-shard-messages.ts';
import { apiStatus } from '../api/compute/routes/server-view.ts';
import {
  ALWAYS_UP,
  type HostLiveness,
  type PlacementHint,
  type ServerBackend,
  type ShownServer,
} from '../api/compute/servers-backend.ts';
import {
  CellHealth,
  DEFAULT_CELL_REPROBE_DOWN_MS,
  DEFAULT_CELL_UP_FOR_MS,
  withDeadline,
} from '../cells/cell-health.ts';
import { DEFAULT_JOB_ACK_WAIT_MS } from '../cells/conductor/limits.ts';
import { type ConductorJob, conductorJob, jobMsgId, opsQueueName } from '../cells/conductor-jobs.ts';
import {
  type CellInstanceSource,
  type CrossCellListConfig,
  CrossCellLister,
  DEFAULT_CELL_TIMEOUT_MS,
} from '../cells/cross-cell-list.ts';
import { selectRows } from '../cells/cross-cell-sort.ts';
import type { InstanceSummary } from '../cells/cross-cell-types.ts';
import type { CellDirectory } from '../cells/directory.ts';
import { type InstanceRecord, InstanceStore } from '../cells/instances.ts';
import type { CellRecord } from '../cells/mapping.ts';
import type { CellMemberships } from '../cells/memberships.ts';
import { CellRouter, demandOf } from '../cells/router.ts';
import { decode, encode } from '../core/codec/envelope.ts';
import { type CellplaneError, toCellplaneError } from '../core/errors.ts';
import type { Bus, Subscription, WorkQueue } from '../core/ports/bus.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Store } from '../core/ports/store.ts';
import type { AggregateCells } from './aggregate-cells.ts';

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
  /**
   * How long one cell may take to answer a list, a read or a health probe before it counts as
   * down for that request (DEFAULT_CELL_TIMEOUT_MS unless configured: `cell_timeout_ms`).
   */
  readonly cellTimeoutMs?: number;
  readonly list?: Partial<Omit<CrossCellListConfig, 'cellTimeoutMs'>>;
  /** Told when a cell stops or starts answering (must not throw): for the log. */
  readonly onCellHealth?: (cell: CellRecord, up: boolean, error?: CellplaneError) => void;
  /** Ack-wait of the cells' operations queues (must match the conductors'). */
  readonly ackWaitMs?: number;
  /** Whether a host is up (evacuate is refused for a host that is up). Default: every host up. */
  readonly liveness?: HostLiveness;
  /**
   * The cells with hosts a boot's zone and aggregate specs allow (deploy/aggregate-cells.ts): such
   * a boot goes only to one of them. Without it, the capacity reports alone steer zoned boots.
   */
  readonly aggregateCells?: Pick<AggregateCells, 'cellsFor'>;
  /**
   * The cells with a tree carrying every required trait of a boot (deploy/fleet-placement.ts,
   * current as soon as an operator's trait write returned); undefined: not known (yet).
   */
  readonly traitCells?: { cellsWithTraits(traits: readonly string[]): ReadonlySet<string> | undefined };
}

/** How long a job's enqueue is retried while NATS times out or is unreachable. */
export const ENQUEUE_RETRY_MS = 15_000;
/** The key a health probe reads in a cell's store (it need not exist). */
const PROBE_KEY = 'health-probe';

export class CellsServerBackend implements ServerBackend {
  readonly router: CellRouter;
  readonly liveness: HostLiveness;
  readonly health: CellHealth;
  private readonly lister: CrossCellLister;
  private readonly stores = new Map<string, InstanceStore>();
  private readonly queues = new Map<string, Promise<WorkQueue>>();
  private readonly subs = new Map<string, Promise<Subscription>>();
  private readonly cellTimeoutMs: number;

  constructor(private readonly o: ServerBackendOptions) {
    this.router = new CellRouter({ now: () => o.clock.now(), random: o.random ?? Math.random });
    this.liveness = o.liveness ?? ALWAYS_UP;
    const cellTimeoutMs = o.cellTimeoutMs ?? DEFAULT_CELL_TIMEOUT_MS;
    this.cellTimeoutMs = cellTimeoutMs;
    this.health = new CellHealth(
      {
        clock: o.clock,
        probe: async (cell) => {
          const { store, bus } = await o.portsOf(cell);
          await store.get(PROBE_KEY);
          await bus.flush();
        },
        onChange: (cell, up, error) => {
          if (up) this.follow(cell); // a cell down when the API started has no subscription yet
          o.onCellHealth?.(cell, up, error);
        },
      },
      {
        probeTimeoutMs: cellTimeoutMs,
        upForMs: DEFAULT_CELL_UP_FOR_MS,
        reprobeDownMs: DEFAULT_CELL_REPROBE_DOWN_MS,
      },
    );
    const source: CellInstanceSource = {
      list: (cell, query, signal) =>
        this.asked(cell, signal, async () => {
          const rows: InstanceSummary[] = [];
          for await (const r of (await this.instances(cell)).all()) rows.push(summaryOf(r.value));
          return selectRows(rows, query);
        }),
      get: (cell, uuid, signal) =>
        this.asked(cell, signal, async () => {
          const r = await (await this.instances(cell)).get(uuid);
          return r ? summaryOf(r.value) : undefined;
        }),
    };
    this.lister = new CrossCellLister(
      { cells: o.directory, mappings: o.memberships, source, clock: o.clock },
      { ...(o.list ?? {}), cellTimeoutMs },
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

  /**
   * One query of a cell for the lister: refused at once when the cell is known to be down; its
   * outcome (or the lister's deadline aborting it) becomes the cell's verdict.
   */
  private async asked<T>(cell: CellRecord, signal: AbortSignal, run: () => Promise<T>): Promise<T> {
    const down = this.health.knownDown(cell);
    if (down) throw down;
    const late = () => this.health.report(cell, false, signal.reason);
    signal.addEventListener('abort', late, { once: true });
    try {
      const out = await run();
      if (!signal.aborted) this.health.report(cell, true);
      return out;
    } catch (err) {
      if (!signal.aborted) this.health.report(cell, false, err);
      throw err;
    } finally {
      signal.removeEventListener('abort', late);
    }
  }

  /** Among the accepting cells that answer (see the header); every accepting cell if none does. */
  async chooseCell(hint: PlacementHint, exclude?: ReadonlySet<string>): Promise<CellRecord> {
    let accepting = this.o.directory.accepting().filter((c) => !exclude?.has(c.uuid));
    const traits = demandOf(hint).traits;
    for (const allowed of [
      await this.o.aggregateCells?.cellsFor(hint),
      traits.length > 0 ? this.o.traitCells?.cellsWithTraits(traits) : undefined,
    ]) {
      // No accepting cell has such hosts: leave the choice open, its scheduler says why not.
      if (allowed && accepting.some((c) => allowed.has(c.uuid)))
        accepting = accepting.filter((c) => allowed.has(c.uuid));
    }
    const { up } = await this.health.answering(accepting);
    return this.router.choose(up.length > 0 ? up : accepting, hint);
  }

  async show(uuid: string): Promise<ShownServer | undefined> {
    const m = await this.o.memberships.instanceMapping(uuid);
    const cell = m && this.o.directory.get(m.cellUuid);
    if (!m || !cell) return undefined;
    const down = { down: { uuid, projectId: m.projectId, createdAt: m.mappedAt } };
    if (this.health.knownDown(cell)) return down;
    try {
      const rec = await withDeadline(this.o.clock, this.cellTimeoutMs, `cell ${cell.name}`, (signal) =>
        this.asked(cell, signal, async () => (await this.instances(cell)).get(uuid)),
      );
      return rec ? { record: rec.value } : undefined;
    } catch (err) {
      const e = toCellplaneError(err);
      if (e.code === 'timeout' || e.code === 'unavailable') return down;
      throw err;
    }
  }

  /** Every cell, disabled ones too (the quota reconcile pass counts their instances). */
  cells(): readonly CellRecord[] {
    return this.o.directory.list();
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
