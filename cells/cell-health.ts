/**
 * Which cells answer right now, so that one cell whose store or bus is down or hung never turns
 * another cell's request into an error or a long wait. The API's cell choice asks `answering`
 * before routing a boot; the cross-cell list asks `knownDown` before querying a cell and reports
 * what each query showed (`report`).
 *
 * A verdict per cell, from a probe (the caller's: e.g. one store read and, for a cell on its own
 * NATS, a flush) run under `probeTimeoutMs`, or from a real operation's outcome:
 * - no verdict yet, or "answers" older than `upForMs`: the caller probes and WAITS (bounded);
 * - "answers", fresh: used as is;
 * - "down": used as is, nobody waits; a probe runs in the background at most every
 *   `reprobeDownMs`, and the first that succeeds brings the cell back.
 * So a cell that stops answering costs a request at most one `probeTimeoutMs` per cell, and one
 * that recovers is used again within about `reprobeDownMs` of the next request that asks.
 * Concurrent callers share one probe per cell.
 */
import { CellplaneError, toCellplaneError } from '../core/errors.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { CellRecord } from './mapping.ts';

export interface CellHealthConfig {
  /** Longest a probe may take before the cell counts as down. */
  readonly probeTimeoutMs: number;
  /** How long an "answers" verdict holds before the next caller probes (and waits) again. */
  readonly upForMs: number;
  /** How soon a down cell is probed again (in the background). */
  readonly reprobeDownMs: number;
}

export const DEFAULT_CELL_UP_FOR_MS = 2_000;
export const DEFAULT_CELL_REPROBE_DOWN_MS = 1_000;

export interface CellHealthDeps {
  readonly clock: Clock;
  /** Resolves when the cell's store (and own bus) answer; must stop work when `signal` aborts. */
  probe(cell: CellRecord, signal: AbortSignal): Promise<void>;
  /** Told when a cell's verdict flips, or is first "down" (must not throw): for the log. */
  onChange?(cell: CellRecord, up: boolean, error?: CellplaneError): void;
}

interface Verdict {
  readonly up: boolean;
  readonly at: number;
  readonly error?: CellplaneError;
}

export interface CellAnswers {
  readonly up: readonly CellRecord[];
  readonly down: ReadonlyArray<{ readonly cell: CellRecord; readonly error: CellplaneError }>;
}

export class CellHealth {
  private readonly verdicts = new Map<string, Verdict>();
  private readonly probes = new Map<string, Promise<Verdict>>();

  constructor(
    private readonly deps: CellHealthDeps,
    private readonly config: CellHealthConfig,
  ) {}

  /** `cells` split by whether they answer; waits at most `probeTimeoutMs` (see the header). */
  async answering(cells: readonly CellRecord[]): Promise<CellAnswers> {
    const now = this.deps.clock.now();
    const verdicts = await Promise.all(
      cells.map(async (cell): Promise<Verdict> => {
        const v = this.verdicts.get(cell.uuid);
        if (v && !v.up) {
          this.reprobeIfDue(cell, v, now);
          return v;
        }
        if (v && now - v.at < this.config.upForMs) return v;
        return this.probe(cell);
      }),
    );
    const up: CellRecord[] = [];
    const down: Array<{ cell: CellRecord; error: CellplaneError }> = [];
    cells.forEach((cell, i) => {
      const v = verdicts[i]!;
      if (v.up) up.push(cell);
      else down.push({ cell, error: v.error ?? downError(cell) });
    });
    return { up, down };
  }

  /** Why `cell` counts as down (a re-probe starts when due), or undefined when it may answer. */
  knownDown(cell: CellRecord): CellplaneError | undefined {
    const v = this.verdicts.get(cell.uuid);
    if (!v || v.up) return undefined;
    this.reprobeIfDue(cell, v, this.deps.clock.now());
    return v.error ?? downError(cell);
  }

  /** What a real operation on the cell just showed. */
  report(cell: CellRecord, ok: boolean, err?: unknown): void {
    this.set(cell, ok ? { up: true, at: this.deps.clock.now() } : this.failed(cell, err));
  }

  private reprobeIfDue(cell: CellRecord, v: Verdict, now: number): void {
    if (now - v.at >= this.config.reprobeDownMs) void this.probe(cell);
  }

  /** One probe per cell at a time; the verdict is recorded whoever asked. */
  private probe(cell: CellRecord): Promise<Verdict> {
    let p = this.probes.get(cell.uuid);
    if (p) return p;
    const { clock } = this.deps;
    p = withDeadline(clock, this.config.probeTimeoutMs, `cell "${cell.name}"`, (signal) =>
      this.deps.probe(cell, signal),
    ).then(
      (): Verdict => ({ up: true, at: clock.now() }),
      (err: unknown) => this.failed(cell, err),
    );
    const done = p.then((v) => {
      this.probes.delete(cell.uuid);
      this.set(cell, v);
      return v;
    });
    this.probes.set(cell.uuid, done);
    return done;
  }

  private failed(cell: CellRecord, err: unknown): Verdict {
    const e = err === undefined ? downError(cell) : toCellplaneError(err);
    return { up: false, at: this.deps.clock.now(), error: e };
  }

  private set(cell: CellRecord, v: Verdict): void {
    const before = this.verdicts.get(cell.uuid);
    this.verdicts.set(cell.uuid, v);
    if (before ? before.up !== v.up : !v.up) {
      try {
        this.deps.onChange?.(cell, v.up, v.error);
      } catch {
        // onChange must not throw; a logger that does loses one line, not the verdict.
      }
    }
  }
}

function downError(cell: CellRecord): CellplaneError {
  return new CellplaneError('unavailable', `cell "${cell.name}" does not answer`);
}

/**
 * `run` under a deadline on `clock`: rejects `timeout` ("<what> did not answer within N ms") and
 * aborts the signal handed to `run` when it is late.
 */
export function withDeadline<T>(
  clock: Clock,
  ms: number,
  what: string,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      const err = new CellplaneError('timeout', `${what} did not answer within ${ms} ms`);
      ac.abort(err);
      reject(err);
    }, ms);
    Promise.resolve()
      .then(() => run(ac.signal))
      .then(
        (v) => {
          clock.clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clock.clearTimeout(timer);
          reject(e);
        },
      );
  });
}
