/**
 * Run a role on exactly one replica at a time: campaign in a Coordinator election, `lead()` while
 * elected, `stepDown()` when leadership ends, campaign again. Used by every leader-elected role
 * (scheduler shards, cell conductors).
 *
 * Contracts:
 * - `lead(l)` does the takeover and returns once the role serves (true) or could not take over
 *   (false: the loop resigns so a standby may try, waits CAMPAIGN_RETRY_MS, campaigns again).
 *   It must watch `l.lost` itself to stop serving at once; the loop calls `stepDown()` after.
 * - A failed campaign (coordinator unreachable) is reported and retried after CAMPAIGN_RETRY_MS.
 * - `stop()` aborts a campaign in progress, steps down, resigns (a standby takes over at once).
 */
import { CellplaneError, toCellplaneError } from '../../core/errors.ts';
import type { Coordinator, Leadership } from '../../core/ports/coordinator.ts';

/** Pause before campaigning again after a campaign or a takeover failed. */
export const CAMPAIGN_RETRY_MS = 1_000;
/**
 * Default lease TTL of every leader (scheduler shards, cell conductors; config `lease_ttl_ms`): a
 * dead leader is replaced after about this long. Keep it several etcd election timeouts long.
 */
export const DEFAULT_LEADER_LEASE_TTL_MS = 5_000;

export type LeaderEvent =
  | { readonly type: 'campaigning' | 'elected' | 'lost' | 'stopped' }
  | { readonly type: 'problem'; readonly what: string; readonly details: Record<string, unknown> };

export interface LeaderLoopOptions {
  readonly coordinator: Coordinator;
  /** Election names hold no '/' (etcd): `sched.<cell>.<shard>`, `conductor.<cell>`. */
  readonly election: string;
  readonly candidateId: string;
  readonly ttlMs: number;
  /** Takeover; true once serving, false when it failed (see the module comment). */
  readonly lead: (l: Leadership) => Promise<boolean>;
  /** Stops serving and drops the term's state. Must not throw; called when leadership ends. */
  readonly stepDown: () => Promise<void>;
  /** Must not throw. */
  readonly onEvent?: (e: LeaderEvent) => void;
  /** Waits between failed attempts (defaults to real time). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export class LeaderLoop {
  private readonly abort = new AbortController();
  private leadership: Leadership | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: LeaderLoopOptions) {}

  /** True while this replica holds the leadership (it may still be taking over). */
  get leading(): boolean {
    return this.leadership !== undefined && !this.leadership.lost;
  }

  /** Starts campaigning (returns at once). */
  start(): void {
    if (this.loop || this.stopped) return;
    this.loop = this.run();
  }

  /** Steps down and resigns if leading, stops campaigning. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort(new CellplaneError('closed', `${this.opts.election}: stopped`));
    await this.opts.stepDown();
    await this.leadership?.resign().catch(() => {});
    await this.loop?.catch(() => {});
    this.emit({ type: 'stopped' });
  }

  /** Reports a problem of the role through the same listener. */
  problem(what: string, err: unknown): void {
    this.emit({ type: 'problem', what, details: { error: toCellplaneError(err).message } });
  }

  private async run(): Promise<void> {
    const { coordinator, candidateId, ttlMs } = this.opts;
    const election = coordinator.election(this.opts.election);
    const sleep = this.opts.sleep ?? realSleep;
    while (!this.stopped) {
      let l: Leadership;
      this.emit({ type: 'campaigning' });
      try {
        l = await election.campaign(candidateId, { ttlMs, signal: this.abort.signal });
      } catch (err) {
        if (this.stopped) return;
        this.problem('campaignFailed', err);
        await sleep(CAMPAIGN_RETRY_MS);
        continue;
      }
      this.leadership = l;
      // onLost is not called after resign(): stop() ends the wait through the abort signal.
      const ended = new Promise<void>((resolve) => {
        l.onLost(resolve);
        this.abort.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      this.emit({ type: 'elected' });
      let led = false;
      try {
        led = await this.opts.lead(l);
      } catch (err) {
        this.problem('takeoverFailed', err);
      }
      if (this.stopped) return;
      if (!led) {
        // Takeover failed (store or bus down): give the leadership to a standby, then retry.
        await this.opts.stepDown();
        await l.resign().catch(() => {});
        this.emit({ type: 'lost' });
        await sleep(CAMPAIGN_RETRY_MS);
        continue;
      }
      await ended;
      await this.opts.stepDown();
      if (!this.stopped) this.emit({ type: 'lost' });
    }
  }

  private emit(e: LeaderEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      // Contract: listeners must not throw.
    }
  }
}

function realSleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
