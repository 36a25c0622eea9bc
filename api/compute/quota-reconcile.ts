/**
 * Reconciles the quota ledger (quota-ledger.ts) with the cells, as Nova's counting quotas count
 * from the cells' databases (nova/quota.py) — but off the boot path: one pass on
 * start and then every `intervalMs`, each recounting every instance of every cell that answers
 * and correcting the claims that drifted (a crash between a reserve and the build's record, a
 * delete whose release never ran, instances from before the ledger existed, a resize settled).
 *
 * A cell that does not answer (any round trip of its scan slower than `cellTimeoutMs`, the same
 * per-cell timeout as the cross-cell list's) is SKIPPED and named in the pass's report: its
 * instances are neither adopted nor dropped, and a claim whose instance is mapped to it (or whose
 * mapping cannot be read) is left alone — a down cell never "corrects" usage downwards.
 *
 * The truth for one instance (`countedOf`): its flavor's VCPUs and RAM, or the larger of the old
 * and new flavor while a resize or migration is in its record; while a task runs (`busy`: task
 * state set or a move recorded) a claim is only ever raised, never lowered.
 *
 * The pass's rules (`planReconcile`, pure), with `grace` the age below which a claim or tombstone
 * may belong to a request still in flight:
 *   instance, no claim            → adopt (create: conflicts, and is skipped, if one appeared)
 *   instance, tombstone > grace   → revive (the record exists again after its release)
 *   instance, claim ≠ truth       → adjust (raise; lower only when idle)
 *   live claim > grace, no instance in an answering cell, not mapped to a skipped cell → drop
 *   tombstone > grace, same conditions → forget
 * Every change is one generation-checked commit (a claim that changed since the scan is skipped
 * until the next pass), so passes of several API replicas may overlap safely. A pass that ran
 * longer than half the grace stops changing anything: its snapshot is too old to trust.
 */

import { withDeadline } from '../../cells/cell-health.ts';
import { DEFAULT_CELL_TIMEOUT_MS } from '../../cells/cross-cell-list.ts';
import type { InstanceRecord, InstanceStore } from '../../cells/instances.ts';
import type { CellRecord } from '../../cells/mapping.ts';
import { toCellplaneError } from '../../core/errors.ts';
import type { Clock, TimerHandle } from '../../core/ports/clock.ts';
import type { Versioned } from '../../core/stores/records.ts';
import type { QuotaClaim, QuotaLedger } from './quota-ledger.ts';

/** How often a pass runs unless configured (`quota_reconcile_ms`). */
export const DEFAULT_QUOTA_RECONCILE_INTERVAL_MS = 300_000;
/** A claim or tombstone younger than this may belong to a request in flight: left alone. */
export const DEFAULT_QUOTA_CLAIM_GRACE_MS = 600_000;

/** One instance as it counts for quota. */
export interface CountedInstance {
  readonly projectId: string;
  readonly cores: number;
  readonly ram: number;
  /** A task runs or a move is recorded: the claim may be raised, not lowered. */
  readonly busy: boolean;
}

export function countedOf(r: InstanceRecord): CountedInstance {
  const m = r.migration;
  const flavors = m ? [r.flavor, m.oldFlavor, m.newFlavor] : [r.flavor];
  return {
    projectId: r.projectId,
    cores: Math.max(...flavors.map((f) => f.vcpus)),
    ram: Math.max(...flavors.map((f) => f.ram)),
    busy: r.taskState !== null || !!m,
  };
}

export type ReconcileAction =
  | { readonly kind: 'adopt'; readonly uuid: string; readonly next: QuotaClaim }
  | {
      readonly kind: 'revive' | 'adjust';
      readonly uuid: string;
      readonly current: Versioned<QuotaClaim>;
      readonly next: QuotaClaim;
    }
  | { readonly kind: 'drop' | 'forget'; readonly uuid: string; readonly current: Versioned<QuotaClaim> };

export interface ReconcileInput {
  readonly claims: ReadonlyMap<string, Versioned<QuotaClaim>>;
  /** Every instance of every cell that answered. */
  readonly instances: ReadonlyMap<string, CountedInstance>;
  /** Uuids of the cells that did not answer. */
  readonly skipped: ReadonlySet<string>;
  /** Cell uuid of an instance's mapping (null: not mapped); absent: unknown. Read only when cells were skipped. */
  readonly mapped: ReadonlyMap<string, string | null>;
  readonly now: number;
  readonly graceMs: number;
}

/** What a pass changes (see the header); pure. */
export function planReconcile(x: ReconcileInput): ReconcileAction[] {
  const out: ReconcileAction[] = [];
  const old = (c: QuotaClaim) => x.now - (c.releasedAt ?? c.at) > x.graceMs;
  for (const [uuid, inst] of x.instances) {
    const current = x.claims.get(uuid);
    const truth = { projectId: inst.projectId, cores: inst.cores, ram: inst.ram };
    if (!current) {
      out.push({ kind: 'adopt', uuid, next: { ...truth, at: x.now, releasedAt: null } });
    } else if (current.value.releasedAt !== null) {
      if (old(current.value))
        out.push({ kind: 'revive', uuid, current, next: { ...truth, at: x.now, releasedAt: null } });
    } else {
      const c = current.value;
      const want = inst.busy
        ? { ...truth, cores: Math.max(c.cores, inst.cores), ram: Math.max(c.ram, inst.ram) }
        : truth;
      if (want.cores !== c.cores || want.ram !== c.ram || want.projectId !== c.projectId)
        out.push({ kind: 'adjust', uuid, current, next: { ...c, ...want } });
    }
  }
  for (const [uuid, current] of x.claims) {
    if (x.instances.has(uuid) || !old(current.value)) continue;
    if (x.skipped.size > 0) {
      const cell = x.mapped.get(uuid);
      if (cell === undefined || (cell !== null && x.skipped.has(cell))) continue;
    }
    out.push({ kind: current.value.releasedAt === null ? 'drop' : 'forget', uuid, current });
  }
  return out;
}

/** Where the reconciler reads the cells (CellsServerBackend fits). */
export interface ReconcileSource {
  /** Every cell, disabled ones too (their instances count). */
  cells(): readonly CellRecord[];
  instances(cell: CellRecord): Promise<InstanceStore>;
  cellOf(uuid: string): Promise<CellRecord | undefined>;
}

export interface ReconcileReport {
  readonly startedAt: number;
  readonly tookMs: number;
  readonly skipped: ReadonlyArray<{ readonly cell: string; readonly error: string }>;
  /** Changes made, by kind; `stale`: skipped because the claim changed since the scan. */
  readonly changes: Readonly<Record<ReconcileAction['kind'] | 'stale', number>>;
  /** Why the pass stopped early, if it did (the API store failed, the snapshot grew too old). */
  readonly error?: string;
}

export interface QuotaReconcilerOptions {
  readonly ledger: QuotaLedger;
  readonly source: ReconcileSource;
  readonly clock: Clock;
  readonly intervalMs?: number;
  readonly graceMs?: number;
  /** Deadline of each round trip of a cell's scan (DEFAULT_CELL_TIMEOUT_MS). */
  readonly cellTimeoutMs?: number;
  /** Every pass's report (must not throw): the API logs skipped cells and changes. */
  readonly onPass?: (r: ReconcileReport) => void;
}

export class QuotaReconciler {
  private timer: TimerHandle | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: QuotaReconcilerOptions) {}

  /** One pass now, then one every interval (a pass never overlaps the previous one). */
  start(): void {
    const tick = () => {
      this.running = this.pass()
        .then((r) => this.o.onPass?.(r))
        .finally(() => {
          if (!this.stopped)
            this.timer = this.o.clock.setTimeout(
              tick,
              this.o.intervalMs ?? DEFAULT_QUOTA_RECONCILE_INTERVAL_MS,
            );
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    await this.running.catch(() => {});
  }

  async pass(): Promise<ReconcileReport> {
    const { clock, ledger, source } = this.o;
    const graceMs = this.o.graceMs ?? DEFAULT_QUOTA_CLAIM_GRACE_MS;
    const startedAt = clock.now();
    const changes = { adopt: 0, revive: 0, adjust: 0, drop: 0, forget: 0, stale: 0 };
    const skipped: Array<{ cell: string; error: string }> = [];
    const report = (error?: string): ReconcileReport => ({
      startedAt,
      tookMs: clock.now() - startedAt,
      skipped,
      changes,
      ...(error ? { error } : {}),
    });
    try {
      const claims = await ledger.allClaims(); // before the cells: see planReconcile's races
      const instances = new Map<string, CountedInstance>();
      const skippedCells = new Set<string>();
      await Promise.all(
        source.cells().map((cell) =>
          this.scan(cell, instances).catch((err: unknown) => {
            skippedCells.add(cell.uuid);
            skipped.push({ cell: cell.name, error: toCellplaneError(err).message });
          }),
        ),
      );
      const now = clock.now();
      const mapped = await this.mappingsOf(claims, instances, skippedCells, now - graceMs);
      const plan = planReconcile({ claims, instances, skipped: skippedCells, mapped, now, graceMs });
      for (const a of plan) {
        if (clock.now() - startedAt > graceMs / 2)
          return report(`pass took over ${graceMs / 2} ms: its snapshot is too old, changes stopped`);
        const out = await apply(ledger, a);
        changes[out === 'ok' ? a.kind : 'stale']++;
      }
      return report();
    } catch (err) {
      return report(toCellplaneError(err).message);
    }
  }

  /**
   * The cell's instances into `into` (cells are scanned in parallel). Every round trip has the
   * per-cell deadline, so a big cell takes as long as its pages need, a hung one `cellTimeoutMs`.
   */
  private async scan(cell: CellRecord, into: Map<string, CountedInstance>): Promise<void> {
    const ms = this.o.cellTimeoutMs ?? DEFAULT_CELL_TIMEOUT_MS;
    const step = <T>(f: () => Promise<T>) => withDeadline(this.o.clock, ms, `cell "${cell.name}"`, f);
    const store = await step(() => this.o.source.instances(cell));
    const records = store.all()[Symbol.asyncIterator]();
    const found = new Map<string, CountedInstance>();
    for (let r = await step(() => records.next()); !r.done; r = await step(() => records.next()))
      found.set(r.value.id, countedOf(r.value.value));
    for (const [k, v] of found) into.set(k, v);
  }

  /** Mappings of the claims planReconcile might drop (older than `before`), only when some cell was skipped. */
  private async mappingsOf(
    claims: ReadonlyMap<string, Versioned<QuotaClaim>>,
    instances: ReadonlyMap<string, CountedInstance>,
    skipped: ReadonlySet<string>,
    before: number,
  ): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    if (skipped.size === 0) return out;
    for (const [uuid, c] of claims) {
      if (instances.has(uuid) || (c.value.releasedAt ?? c.value.at) >= before) continue;
      try {
        out.set(uuid, (await this.o.source.cellOf(uuid))?.uuid ?? null);
      } catch {
        // Unknown: planReconcile leaves the claim alone.
      }
    }
    return out;
  }
}

/** A reconcile pass worth a log line (undefined: nothing skipped, changed or failed). */
export function reportLine(r: ReconcileReport): string | undefined {
  const changed = Object.entries(r.changes).filter(([, n]) => n > 0);
  if (r.skipped.length === 0 && changed.length === 0 && !r.error) return undefined;
  const parts = [changed.length ? changed.map(([k, n]) => `${k} ${n}`).join(', ') : 'no change'];
  for (const s of r.skipped) parts.push(`cell ${s.cell} skipped, it did not answer: ${s.error}`);
  if (r.error) parts.push(`stopped: ${r.error}`);
  return `quota reconcile (${r.tookMs} ms): ${parts.join('; ')}`;
}

function apply(ledger: QuotaLedger, a: ReconcileAction) {
  switch (a.kind) {
    case 'adopt':
      return ledger.rewrite(a.uuid, undefined, a.next);
    case 'revive':
    case 'adjust':
      return ledger.rewrite(a.uuid, a.current, a.next);
    default:
      return ledger.rewrite(a.uuid, a.current, undefined);
  }
}
