/**
 * A lease on etcd, wrapping etcd3's Lease (which keeps it alive every TTL/3, like the Go
 * client). etcd3 reports a loss only when etcd answers a keep-alive with "expired", or
 * after 2 × TTL without contact; a leader must know sooner. So this keeps its own
 * deadline: TTL after the *sending* of the last keep-alive etcd acknowledged — etcd
 * cannot expire the lease before then — and declares the lease lost when it passes.
 */
import type { Lease as Etcd3Lease } from 'etcd3';
import type { Clock, TimerHandle } from '../../ports/clock.ts';
import type { Lease } from '../../ports/coordinator.ts';
import { fromEtcdError } from './errors.ts';

export class EtcdLease implements Lease {
  private ended = false;
  /** Set by freeze(): the "process" no longer talks to etcd about this lease. */
  private frozen = false;
  private deadline: TimerHandle | undefined;
  private lastSentAt: number;
  private readonly callbacks: Array<() => void> = [];

  /** `grantSentAt`: clock time the grant request was sent (the first deadline's start). */
  constructor(
    private readonly inner: Etcd3Lease,
    readonly id: string,
    readonly ttlMs: number,
    private readonly clock: Clock,
    grantSentAt: number,
  ) {
    this.lastSentAt = grantSentAt;
    this.arm(grantSentAt);
    inner.on('keepaliveFired', () => {
      this.lastSentAt = clock.now();
    });
    inner.on('keepaliveSucceeded', () => this.arm(this.lastSentAt));
    inner.on('lost', () => this.markLost());
  }

  get lost(): boolean {
    return this.ended;
  }

  onLost(cb: () => void): void {
    if (this.ended) queueMicrotask(cb);
    else this.callbacks.push(cb);
  }

  async revoke(): Promise<void> {
    const frozen = this.frozen;
    this.markLost();
    if (frozen) return;
    try {
      await this.inner.revoke();
    } catch (err) {
      throw fromEtcdError(err, `revoke lease ${this.id}`);
    }
  }

  /**
   * Stops keep-alives without revoking, as if the process had hung: etcd expires the lease
   * after its TTL, this object reports the loss at its own deadline, and revoke() no longer
   * reaches etcd.
   */
  freeze(): void {
    this.frozen = true;
    this.inner.release();
  }

  /** Stops keep-alives and reports the lease lost (the client is closing, or it expired). */
  markLost(): void {
    if (this.deadline) this.clock.clearTimeout(this.deadline);
    this.deadline = undefined;
    this.inner.release();
    if (this.ended) return;
    this.ended = true;
    for (const cb of this.callbacks.splice(0)) cb();
  }

  private arm(from: number): void {
    if (this.ended) return;
    if (this.deadline) this.clock.clearTimeout(this.deadline);
    this.deadline = this.clock.setTimeout(() => this.markLost(), from + this.ttlMs - this.clock.now());
  }
}
