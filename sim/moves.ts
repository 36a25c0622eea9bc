/**
 * The workload's resize and cold-migration operations (`workload.operations`), issued through the
 * compute API's move use case (cells/servers/move.ts, as POST /servers/{id}/action calls it): the
 * instance must be idle (a refusal counts the operation as skipped); its record goes to
 * RESIZE/resize_prep by compare-and-set, then the cell's conductor gets the durable `resize` /
 * `migrate` job (the task is undone if the job cannot be queued). When the conductor reports the
 * instance moved (VERIFY_RESIZE), the operator's confirmResize follows the same way (migration →
 * confirming, then the job), asked again while the move has not finished. A rate picks a random
 * ACTIVE server at Poisson times; a fraction gives each server the operation once, at a random
 * time of its life.
 *
 * `live_migrate` is not issued: the conductor implements resize and cold migration only.
 */
import type { ConductorEvent } from '../cells/conductor/ports.ts';
import type { InstanceRecord } from '../cells/instances.ts';
import { type MovePorts, type MoveRequest, moveServer } from '../cells/servers/move.ts';
import { type CellplaneError, toCellplaneError } from '../core/errors.ts';
import type { Clock } from '../core/ports/clock.ts';
import { makeRng } from '../core/rng.ts';
import type { RunBook } from './book.ts';
import { faultTimes } from './faults.ts';
import type { OperationRate, Scenario } from './scenario-types.ts';
import { SIM_OPERATOR } from './servers.ts';
import { WeightedPick } from './workload.ts';

type MoveOp = 'resize' | 'migrate';
/** Tries (CONFIRM_PAUSE_MS apart) at confirming a finished move before giving up on it. */
const CONFIRM_ATTEMPTS = 60;
const CONFIRM_PAUSE_MS = 1_000;

/** Refusals that mean "not now" for this server (busy, not in a state to move, gone, same flavor). */
const expectedRefusal = (e: CellplaneError) =>
  e.code === 'conflict' || e.code === 'invalid' || e.code === 'notFound';

export interface MoveCounts {
  issued: number;
  moved: number;
  confirmed: number;
  /** The conductor found no host (the server stays where it was, with a fault). */
  failed: number;
  /** Not issued: the server was busy, not idle and ACTIVE, gone, or already of the target flavor. */
  skipped: number;
}

export class MoveDriver {
  readonly counts: MoveCounts = { issued: 0, moved: 0, confirmed: 0, failed: 0, skipped: 0 };
  /** Servers with a move or its confirmation under way. */
  readonly inFlight = new Set<string>();
  private readonly rng;
  /** ACTIVE servers in a fixed order (random picks). */
  private readonly live: string[] = [];
  private readonly at = new Map<string, number>();
  private readonly moved = new Set<string>();
  private seq = 0;
  private stopped = false;
  private readonly timers = new Set<ReturnType<Clock['setTimeout']>>();
  /** Each resize rate's target flavors, weighed once. */
  private readonly targets = new Map<OperationRate, WeightedPick>();

  constructor(
    private readonly s: Scenario,
    private readonly o: {
      readonly ports: MovePorts;
      readonly book: RunBook;
      readonly clock: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>;
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
  onEvent(_cell: string, e: ConductorEvent): void {
    switch (e.type) {
      case 'active': {
        if (!this.o.book.requests.has(e.uuid) || this.at.has(e.uuid)) return;
        this.at.set(e.uuid, this.live.length);
        this.live.push(e.uuid);
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

  /** As an operator's request: one refused or failed is counted skipped and not retried. */
  private tryIssue(op: MoveOp, uuid: string, rate: OperationRate): void {
    if (this.inFlight.has(uuid) || !this.at.has(uuid)) {
      this.counts.skipped++;
      return;
    }
    let req: MoveRequest = { ...SIM_OPERATOR, requestId: `sim-${op}-${this.seq++}`, action: 'migrate' };
    if (op === 'resize') {
      let targets = this.targets.get(rate);
      if (!targets) {
        targets = new WeightedPick(rate.toMix ?? this.s.workload.mix);
        this.targets.set(rate, targets);
      }
      req = { ...req, action: 'resize', flavorRef: targets.pick(this.rng) };
    }
    this.inFlight.add(uuid); // before the job is queued: its events may come at once
    this.moved.delete(uuid);
    moveServer(this.o.ports, uuid, req).then(
      () => {
        this.counts.issued++;
        this.o.book.decide(
          `${this.o.rel()} ${op} ${uuid}${req.action === 'resize' ? ` ${req.flavorRef}` : ''}`,
        );
      },
      (err: unknown) => {
        this.counts.skipped++;
        this.inFlight.delete(uuid);
        const e = toCellplaneError(err);
        if (!expectedRefusal(e)) this.o.log(`${op} of ${uuid} not queued: ${e.message}`);
      },
    );
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

  /**
   * The operator's confirmResize through the use case (migration → confirming, then the job);
   * asked again while the move has not finished (`conflict`) or the store does not answer.
   */
  private async confirm(uuid: string): Promise<void> {
    const req: MoveRequest = {
      ...SIM_OPERATOR,
      requestId: `sim-confirm-${this.seq++}`,
      action: 'confirmResize',
    };
    const pause = () => new Promise<void>((resolve) => this.o.clock.setTimeout(resolve, CONFIRM_PAUSE_MS));
    for (let attempt = 0; attempt < CONFIRM_ATTEMPTS; attempt++) {
      try {
        await moveServer(this.o.ports, uuid, req);
        this.o.book.decide(`${this.o.rel()} confirm ${uuid}`);
        return;
      } catch (err) {
        const e = toCellplaneError(err);
        if (e.code !== 'notFound' && e.code !== 'conflict' && !e.retryable)
          this.o.log(`confirmResize of ${uuid} not queued: ${e.message}`);
        if (e.code === 'notFound' || (e.code !== 'conflict' && !e.retryable)) {
          this.inFlight.delete(uuid); // gone, or refused for good
          return;
        }
      }
      await pause(); // the move has not finished yet, or the store did not answer
    }
    this.o.log(`confirmResize of ${uuid}: the instance never reached VERIFY_RESIZE`);
    this.inFlight.delete(uuid);
  }
}
