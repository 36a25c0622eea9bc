/**
 * A store's epoch: one small record, `meta/epoch`, written once by whoever first finds it
 * missing. It names the store's current life. While the store keeps its data (a Redis restart
 * with its append-only file, a reconnect) the epoch stays; when the data is lost (FLUSHALL, a
 * Redis without persistence restarted, a replica promoted empty) the record is gone, the next
 * reader writes a new one, and every role that knew the old epoch learns that what it holds in
 * memory (tree versions, snapshots, seeded records) no longer matches the store.
 *
 * `StoreWatch` is that reader, on the injected Clock: every `intervalMs` it reads the epoch
 * (creating it when missing) and reports
 * - `lost` when the epoch changed (then runs `repair`, again on every check until it succeeds);
 * - `unreachable` once when the store stops answering, `reachable` once when it answers again.
 * Creating the epoch is a CAS against "must not exist", so when several roles race after a loss
 * exactly one epoch wins and all of them see the same new value.
 */
import { decode, defineMessage, encode } from '../codec/envelope.ts';
import { asObject, int, string } from '../codec/fields.ts';
import { CellplaneError, toCellplaneError } from '../errors.ts';
import type { Clock, TimerHandle } from '../ports/clock.ts';
import type { Store } from '../ports/store.ts';

/** The key of the epoch record (no record kind uses the space `meta`). */
export const STORE_EPOCH_KEY = 'meta/epoch';
/** How often a watch reads the epoch: a loss is noticed within about this long. */
export const DEFAULT_STORE_CHECK_INTERVAL_MS = 2_000;
/** Reads + creates tried when the epoch keeps vanishing between the two (a store being emptied repeatedly). */
export const EPOCH_CREATE_ATTEMPTS = 3;

export interface EpochRecord {
  readonly epoch: string;
  /** When it was written (the writer's clock). */
  readonly createdAtMs: number;
}

export const epochMessage = defineMessage<EpochRecord>({
  type: 'cp.store.epoch',
  major: 1,
  minor: 0,
  parse(body) {
    const p = 'cp.store.epoch';
    const o = asObject(body, p);
    return { epoch: string(o, 'epoch', p), createdAtMs: int(o, 'createdAtMs', p) };
  },
});

/** The store's epoch, written now (as `fresh()`) when it has none; `created` says which. */
export async function ensureEpoch(
  store: Store,
  fresh: () => EpochRecord,
): Promise<{ readonly record: EpochRecord; readonly created: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const found = await store.get(STORE_EPOCH_KEY);
    if (found) return { record: decode(epochMessage, found.value), created: false };
    const record = fresh();
    const put = { op: 'put' as const, key: STORE_EPOCH_KEY, value: encode(epochMessage, record) };
    const out = await store.commit([{ ...put, expectedGeneration: 0 }]);
    if (out.ok) return { record, created: true };
    if (attempt >= EPOCH_CREATE_ATTEMPTS)
      throw new CellplaneError('unavailable', `the store's epoch vanished ${attempt} times while being read`);
  }
}

export interface StoreLoss {
  readonly previous: EpochRecord;
  readonly current: EpochRecord;
  /** This watch wrote the new epoch (another role may have noticed first). */
  readonly createdHere: boolean;
}

export type StoreWatchEvent =
  | ({ readonly type: 'lost' } & StoreLoss)
  | { readonly type: 'repaired'; readonly loss: StoreLoss }
  | { readonly type: 'repairFailed'; readonly loss: StoreLoss; readonly error: CellplaneError }
  | { readonly type: 'unreachable'; readonly error: CellplaneError }
  | { readonly type: 'reachable'; readonly downMs: number };

export interface StoreWatchOptions {
  readonly store: Store;
  readonly clock: Clock;
  /** A new, unique epoch id (a random uuid in deployments, a counter in tests). */
  readonly newEpoch: () => string;
  readonly intervalMs?: number;
  /** What to do after a loss; retried on every check until it resolves. Should be idempotent. */
  readonly repair?: (loss: StoreLoss) => Promise<void>;
  /** Must not throw. */
  readonly onEvent?: (e: StoreWatchEvent) => void;
}

export class StoreWatch {
  private known: EpochRecord | undefined;
  private pending: StoreLoss | undefined;
  private downSince: number | undefined;
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly intervalMs: number;

  constructor(private readonly o: StoreWatchOptions) {
    this.intervalMs = o.intervalMs ?? DEFAULT_STORE_CHECK_INTERVAL_MS;
    if (!Number.isFinite(this.intervalMs) || this.intervalMs <= 0)
      throw new CellplaneError('invalid', `StoreWatch: intervalMs must be > 0, got ${this.intervalMs}`);
  }

  /** The epoch now (reading or creating it: throws when the store does not answer), then checks periodically. */
  async start(): Promise<{ readonly record: EpochRecord; readonly created: boolean }> {
    const first = await ensureEpoch(this.o.store, () => this.fresh());
    this.known = first.record;
    this.arm();
    return first;
  }

  /** The epoch as last read. */
  get epoch(): EpochRecord | undefined {
    return this.known;
  }

  /** One check now (after the one running, if any); what the timer does. */
  check(): Promise<void> {
    const run = (this.running ?? Promise.resolve()).then(() => this.checkOnce());
    const tail = run.finally(() => {
      if (this.running === tail) this.running = undefined;
    });
    this.running = tail;
    return tail;
  }

  /** No check after this resolves (the one running finishes first). Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      void this.check().finally(() => this.arm());
    }, this.intervalMs);
  }

  private fresh(): EpochRecord {
    return { epoch: this.o.newEpoch(), createdAtMs: this.o.clock.now() };
  }

  private async checkOnce(): Promise<void> {
    if (this.stopped || !this.known) return;
    let now: Awaited<ReturnType<typeof ensureEpoch>>;
    try {
      now = await ensureEpoch(this.o.store, () => this.fresh());
    } catch (err) {
      if (this.downSince === undefined) {
        this.downSince = this.o.clock.now();
        this.emit({ type: 'unreachable', error: toCellplaneError(err) });
      }
      return;
    }
    if (this.downSince !== undefined) {
      this.emit({ type: 'reachable', downMs: this.o.clock.now() - this.downSince });
      this.downSince = undefined;
    }
    if (now.record.epoch !== this.known.epoch) {
      const loss: StoreLoss = { previous: this.known, current: now.record, createdHere: now.created };
      this.known = now.record;
      this.pending = loss;
      this.emit({ type: 'lost', ...loss });
    }
    await this.repairPending();
  }

  private async repairPending(): Promise<void> {
    const loss = this.pending;
    if (!loss || !this.o.repair || this.stopped) return;
    try {
      await this.o.repair(loss);
      if (this.pending === loss) this.pending = undefined;
      this.emit({ type: 'repaired', loss });
    } catch (err) {
      this.emit({ type: 'repairFailed', loss, error: toCellplaneError(err) });
    }
  }

  private emit(e: StoreWatchEvent): void {
    try {
      this.o.onEvent?.(e);
    } catch {
      // Contract: listeners must not throw.
    }
  }
}
