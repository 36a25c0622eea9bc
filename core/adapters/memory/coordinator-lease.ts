/**
 * A client's handle on a lease held by the in-memory coordination server: keep-alives on
 * the clock every third of the TTL (as etcd's clients do), and loss reported when the
 * server ends the lease for any reason.
 */
import type { TimerHandle } from '../../ports/clock.ts';
import type { Lease } from '../../ports/coordinator.ts';
import type { MemoryCoordinationStore } from './coordinator-server.ts';

/** Keep-alives per TTL, as etcd's clients do (TTL / 3). */
export const KEEP_ALIVES_PER_TTL = 3;

export class MemoryLease implements Lease {
  private ended = false;
  /** Set by freeze(): the "process" no longer talks to the server about this lease. */
  private frozen = false;
  private timer: TimerHandle | undefined;
  private readonly callbacks: Array<() => void> = [];

  constructor(
    private readonly server: MemoryCoordinationStore,
    readonly id: string,
    readonly ttlMs: number,
    keepAlive: boolean,
  ) {
    server.onLeaseEnd(id, () => this.markLost());
    if (keepAlive) this.schedule();
  }

  get lost(): boolean {
    return this.ended;
  }

  onLost(cb: () => void): void {
    if (this.ended) queueMicrotask(cb);
    else this.callbacks.push(cb);
  }

  async revoke(): Promise<void> {
    if (this.frozen) return this.markLost();
    this.stopKeepAlive();
    this.server.revoke(this.id);
  }

  /**
   * Stops keep-alives without revoking, as if the process had hung: the server expires the
   * lease after its TTL (and this object then reports the loss); revoke() no longer reaches it.
   */
  freeze(): void {
    this.frozen = true;
    this.stopKeepAlive();
  }

  private stopKeepAlive(): void {
    if (this.timer) this.server.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Marks the lease lost locally (its client closed) and stops keep-alives. */
  markLost(): void {
    this.stopKeepAlive();
    if (this.ended) return;
    this.ended = true;
    for (const cb of this.callbacks.splice(0)) cb();
  }

  private schedule(): void {
    this.timer = this.server.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.ended) return;
      if (this.server.keepAlive(this.id)) this.schedule();
      else this.markLost();
    }, this.ttlMs / KEEP_ALIVES_PER_TTL);
  }
}
