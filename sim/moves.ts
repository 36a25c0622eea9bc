/**
 * The workload's resize and cold-migration operations (`workload.operations`), issued the way the
 * compute API issues them (api/compute/routes/servers.ts): the instance must be idle and ACTIVE;
 * its record goes to RESIZE/resize_prep by compare-and-set, then the cell's conductor gets the
 * durable `resize` / `migrate` job (the task is undone if the job cannot be queued). When the
 * conductor reports the instance moved (VERIFY_RESIZE), the operator's confirmResize follows the
 * same way (migration → confirming, then the job). A rate picks a random ACTIVE server at Poisson
 * times; a fraction gives each server the operation once, at a random time of its life.
 *
 * `live_migrate` is not issued: the conductor implements resize and cold migration only.
 */

import type { ConductorEvent } from '../cells/conductor/ports.ts';
import type { ConductorJob } from '../cells/conductor-jobs.ts';
import type { InstanceFlavor, InstanceRecord } from '../cells/instances.ts';
import type { CellRecord } from '../cells/mapping.ts';
import { toCellplaneError } from '../core/errors.ts';
import type { Clock } from '../core/ports/clock.ts';
import { makeRng } from '../core/rng.ts';
import type { CellsServerBackend } from '../deploy/server-backend.ts';
import type { RunBook } from './book.ts';
import { faultTimes } from './faults.ts';
import type { OperationRate, Scenario } from './scenario-types.ts';
import { WeightedPick } from './workload.ts';

type MoveOp = 'resize' | 'migrate';
/** Tries (a second apart) at confirming a finished move before giving up on it. */
const CONFIRM_ATTEMPTS = 60;

export interface MoveCounts {
  issued: number;
  moved: number;
  confirmed: number;
  /** The conductor found no host (the server stays where it was, with a fault). */
  failed: number;
  /** Not issued: the server was busy, not ACTIVE, gone, or already of the target flavor. */
  skipped: number;
}

export class MoveDriver {
  readonly counts: MoveCounts = { issued: 0, moved: 0, confirmed: 0, failed: 0, skipped: 0 };
  /** Servers with a move or its confirmation under way. */
  readonly inFlight = new Set<string>();
  private readonly rng;
  /** ACTIVE servers in a fixed order (random picks), with their cells. */
  private readonly live: string[] = [];
  private readonly at = new Map<string, number>();
  private readonly cellOf = new Map<string, string>();
  private readonly moved = new Set<string>();
  private seq = 0;
  private stopped = false;
  private readonly timers = new Set<ReturnType<Clock['setTimeout']>>();
  /** Each resize rate's target flavors, weighed once. */
  private readonly targets = new Map<OperationRate, WeightedPick>();

  constructor(
    private readonly s: Scenario,
    private readonly o: {
      readonly backend: CellsServerBackend;
      readonly book: RunBook;
      readonly clock: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>;
      readonly cells: (name: string) => CellRecord;
      readonly rel: () => number;
      readonly log: (line: string) => void;
    },
  ) {
    this.rng = makeRng(`moves:${s.run.seed}`);
  }

  /** Starts the rate-driven operations (fraction-driven ones follow `onEvent`'s ACTIVE events). */
  start(startMs: number): void {
    const ops = this.s.workload.operations;
    if (ops.liveMigrate)
      this.o.log('live_migrate: not issued (the conductor implements resize and cold migration only)');
    for (const [op, rate] of [
      ['resize', ops.resize],
      ['migrate', ops.coldMigrate],
    ] as const) {
      if (rate?.kind !== 'rate') continue;
      const times = faultTimes(
        { kind: 'poisson', ratePerSecond: rate.ratePerSecond, startMs: 0, endMs: this.s.run.durationMs },
        this.s.run.durationMs,
        this.rng,
      );
      for (const t of times)
        this.later(startMs + t - this.o.clock.now(), () => {
          if (this.live.length === 0) return;
          this.tryIssue(op, this.live[this.rng.int(this.live.length)]!, rate);
        });
    }
  }

  stop(): void {
    this.stopped = true;
    for (const h of this.timers) this.o.clock.clearTimeout(h);
    this.timers.clear();
  }

  /** Every conductor event of `cell` (after the book has seen it). */
  onEvent(cell: string, e: ConductorEvent): void {
    switch (e.type) {
      case 'active': {
        if (!this.o.book.requests.has(e.uuid) || this.at.has(e.uuid)) return;
        this.at.set(e.uuid, this.live.length);
        this.live.push(e.uuid);
        this.cellOf.set(e.uuid, cell);
        this.planFractions(e.uuid);
        break;
      }
      case 'deleted': {
        const i = this.at.get(e.uuid);
        if (i === undefined) return;
        const last = this.live.pop()!;
        if (last !== e.uuid) {
          this.live[i] = last;
          this.at.set(last, i);
        }
        this.at.delete(e.uuid);
        this.inFlight.delete(e.uuid);
        break;
      }
      case 'moved':
        if (!this.inFlight.has(e.uuid)) return;
        this.counts.moved++;
        this.moved.add(e.uuid);
        this.o.book.decide(`${this.o.rel()} moved ${e.uuid} ${e.from} ${e.to}`);
        this.tryConfirm(e.uuid);
        break;
      case 'done':
        if (!this.inFlight.has(e.uuid)) return;
        if (e.op === 'confirmResize') {
          this.counts.confirmed++;
          this.inFlight.delete(e.uuid);
        } else if ((e.op === 'resize' || e.op === 'migrate') && !this.moved.has(e.uuid)) {
          this.counts.failed++; // no host: back where it was, with a fault
          this.o.book.decide(`${this.o.rel()} move-failed ${e.uuid}`);
          this.inFlight.delete(e.uuid);
        }
        break;
      default:
        break;
    }
  }

  private planFractions(uuid: string): void {
    const ops = this.s.workload.operations;
    const life = this.o.book.requests.get(uuid)?.lifetimeMs ?? null;
    for (const [op, rate] of [
      ['resize', ops.resize],
      ['migrate', ops.coldMigrate],
    ] as const) {
      if (rate?.kind !== 'fraction' || this.rng.next() >= rate.fraction) continue;
      const left = this.s.run.durationMs - this.o.rel();
      const span = Math.max(1, Math.min(life ?? left, left));
      this.later(Math.floor(this.rng.next() * span), () => this.tryIssue(op, uuid, rate));
    }
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const h = this.o.clock.setTimeout(
      () => {
        this.timers.delete(h);
        if (!this.stopped) fn();
      },
      Math.max(0, Math.round(ms)),
    );
    this.timers.add(h);
  }

  /** As an operator's request: one that fails (the store unreachable) is reported and not retried. */
  private tryIssue(op: MoveOp, uuid: string, rate: OperationRate): void {
    this.issue(op, uuid, rate).catch((err) => {
      this.counts.skipped++;
      if (!this.moved.has(uuid)) this.inFlight.delete(uuid);
      this.o.log(`${op} of ${uuid} refused: ${toCellplaneError(err).message}`);
    });
  }

  private async issue(op: MoveOp, uuid: string, rate: OperationRate): Promise<void> {
    const cellName = this.cellOf.get(uuid);
    if (!cellName || this.inFlight.has(uuid) || !this.at.has(uuid)) {
      this.counts.skipped++;
      return;
    }
    const cell = this.o.cells(cellName);
    const store = await this.o.backend.instances(cell);
    const rec = await store.get(uuid);
    const r = rec?.value;
    if (!rec || !r || r.status !== 'ACTIVE' || r.taskState !== null || !r.placement) {
      this.counts.skipped++;
      return;
    }
    let flavor: InstanceFlavor | undefined;
    if (op === 'resize') {
      let targets = this.targets.get(rate);
      if (!targets) {
        targets = new WeightedPick(rate.toMix ?? this.s.workload.mix);
        this.targets.set(rate, targets);
      }
      const name = targets.pick(this.rng);
      flavor = this.o.book.flavors.get(name);
      if (!flavor || flavor.id === r.flavor.id) {
        this.counts.skipped++; // Nova: "When resizing, instances must change flavor!"
        return;
      }
    }
    const requestId = `sim-${op}-${this.seq++}`;
    const at = new Date(this.o.clock.now()).toISOString();
    const out = await store.update(rec, {
      ...r,
      requestId,
      updatedAt: at,
      status: 'RESIZE',
      taskState: 'resize_prep',
    });
    if (!out.ok) {
      this.counts.skipped++;
      return;
    }
    this.inFlight.add(uuid);
    this.moved.delete(uuid);
    const job: ConductorJob = {
      op,
      uuid,
      requestId,
      userId: r.userId,
      projectId: r.projectId,
      acceptedAt: at,
      ...(flavor ? { flavor } : {}),
    };
    try {
      await this.o.backend.enqueue(cell, job);
      this.counts.issued++;
      this.o.book.decide(`${this.o.rel()} ${op} ${uuid}${flavor ? ` ${flavor.name}` : ''}`);
    } catch (err) {
      this.inFlight.delete(uuid);
      this.counts.skipped++;
      await store
        .update(out.record, { ...out.record.value, status: r.status, taskState: r.taskState })
        .catch(() => {});
      this.o.log(`${op} of ${uuid} not queued: ${toCellplaneError(err).message}`);
    }
  }

  /**
   * A server whose move events may have been lost (a killed conductor, a partition), checked
   * against its record: gone or settled (no migration, no task) ends the move; VERIFY_RESIZE
   * gets its confirmation. Returns whether it settled something.
   */
  reconcile(uuid: string, r: InstanceRecord | undefined): boolean {
    if (!this.inFlight.has(uuid)) return false;
    if (!r || (r.status === 'ACTIVE' && !r.migration && r.taskState === null)) {
      if (this.moved.has(uuid)) this.counts.confirmed++;
      else if (r) this.counts.failed++;
      this.inFlight.delete(uuid);
      return true;
    }
    if (r.status === 'VERIFY_RESIZE' && r.migration?.status === 'finished' && !this.moved.has(uuid)) {
      this.counts.moved++;
      this.moved.add(uuid);
      this.tryConfirm(uuid);
      return true;
    }
    return false;
  }

  private tryConfirm(uuid: string): void {
    this.confirm(uuid).catch((err) => {
      this.inFlight.delete(uuid);
      this.o.log(`confirmResize of ${uuid} failed: ${toCellplaneError(err).message}`);
    });
  }

  /** The operator's confirmResize, as the API takes it: migration → confirming, then the job. */
  private async confirm(uuid: string): Promise<void> {
    const cell = this.o.cells(this.cellOf.get(uuid)!);
    const store = await this.o.backend.instances(cell);
    const pause = () => new Promise<void>((resolve) => this.o.clock.setTimeout(resolve, 1_000));
    for (let attempt = 0; attempt < CONFIRM_ATTEMPTS; attempt++) {
      // An operator tries again while the store is unreachable (a Redis restart).
      const rec = await store.get(uuid).catch(() => null);
      if (rec === null) {
        await pause();
        continue;
      }
      const r = rec?.value;
      const m = r?.migration;
      if (
        !rec ||
        !r ||
        r.status !== 'VERIFY_RESIZE' ||
        !m ||
        m.status !== 'finished' ||
        r.taskState !== null
      ) {
        // Gone, or the conductor has not written VERIFY_RESIZE yet: look again shortly.
        if (!rec) {
          this.inFlight.delete(uuid);
          return;
        }
        await pause();
        continue;
      }
      const at = new Date(this.o.clock.now()).toISOString();
      const out = await store
        .update(rec, { ...r, migration: { ...m, status: 'confirming' }, updatedAt: at })
        .catch(() => null);
      if (!out?.ok) {
        await pause();
        continue;
      }
      const job: ConductorJob = {
        op: 'confirmResize',
        uuid,
        requestId: `sim-confirm-${this.seq++}`,
        userId: r.userId,
        projectId: r.projectId,
        acceptedAt: at,
      };
      try {
        await this.o.backend.enqueue(cell, job);
        this.o.book.decide(`${this.o.rel()} confirm ${uuid}`);
      } catch (err) {
        await store.update(out.record, { ...out.record.value, migration: m }).catch(() => {});
        this.o.log(`confirmResize of ${uuid} not queued: ${toCellplaneError(err).message}`);
        this.inFlight.delete(uuid);
      }
      return;
    }
    this.o.log(`confirmResize of ${uuid}: the instance never reached VERIFY_RESIZE`);
    this.inFlight.delete(uuid);
  }
}
