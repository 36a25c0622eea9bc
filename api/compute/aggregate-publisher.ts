/**
 * Keeps the schedulers' aggregate catalogue (cells/aggregate-catalogue.ts, in the coordinator)
 * level with the aggregates in the API's store: `sync()` after every aggregate change (the
 * route awaits it, so the next boot is scheduled with the change), and a repair pass every
 * `intervalMs` (a change whose publish failed — coordinator down, or this replica died between
 * the commit and the publish — is published by the next pass of any replica). A pass that finds
 * the store's version already published reads one counter and nothing else.
 */
import { type AggregateCatalogueDoc, publishAggregates } from '../../cells/aggregate-catalogue.ts';
import { toCellplaneError } from '../../core/errors.ts';
import type { Clock, TimerHandle } from '../../core/ports/clock.ts';
import type { Coordinator } from '../../core/ports/coordinator.ts';

/** Period of the repair pass. */
export const DEFAULT_AGGREGATE_REPUBLISH_MS = 10_000;

export interface AggregatePublisherOptions {
  /** The store's current document (AggregateStore.catalogue). */
  readonly read: () => Promise<AggregateCatalogueDoc>;
  readonly coordinator: Coordinator;
  readonly clock: Clock;
  readonly intervalMs?: number;
  /** A publish that failed (it is retried by the next pass). Must not throw. */
  readonly onError?: (message: string) => void;
}

export class AggregatePublisher {
  /** The newest version known to be in the coordinator (ours or another replica's). */
  private published = -1;
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly o: AggregatePublisherOptions) {}

  /** Publishes the store's aggregates if they are newer than what was published; never throws. */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true; // a change landed while a pass read: one more pass after it
      return this.running;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  start(): void {
    if (this.timer) return;
    const every = this.o.intervalMs ?? DEFAULT_AGGREGATE_REPUBLISH_MS;
    const tick = () => {
      void this.sync().finally(() => {
        if (this.timer) this.timer = this.o.clock.setTimeout(tick, every);
      });
    };
    this.timer = this.o.clock.setTimeout(tick, 0);
  }

  stop(): void {
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async pass(): Promise<void> {
    do {
      this.again = false;
      try {
        const doc = await this.o.read();
        if (doc.version <= this.published) continue;
        if (await publishAggregates(this.o.coordinator, doc)) this.published = doc.version;
      } catch (err) {
        this.o.onError?.(
          `aggregates not published to the schedulers yet (${toCellplaneError(err).message}); retried every ${this.o.intervalMs ?? DEFAULT_AGGREGATE_REPUBLISH_MS} ms`,
        );
      }
    } while (this.again);
  }
}
