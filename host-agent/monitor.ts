/**
 * Service status from heartbeats (Nova's servicegroup with `service_down_time`): a host is up
 * while its last heartbeat is at most `graceMs` old, down after that, up again on its next
 * heartbeat. Transitions go to `onTransition` and, when a bus and subject are given, are
 * published as `cp.host.service` v1.
 *
 * One-sweep model: ONE timer on the Clock checks every tracked host each `sweepIntervalMs`
 * (a host is declared down between graceMs and graceMs + sweepIntervalMs after its last beat);
 * a heartbeat only updates a Map entry. The timer is armed only while some host is not down.
 * Times are the monitor's own clock at receipt, never the sender's (clocks drift).
 */
import { decode, encode } from '../core/codec/envelope.ts';
import { CellplaneError } from '../core/errors.ts';
import type { Bus, Subscription } from '../core/ports/bus.ts';
import type { Clock, TimerHandle } from '../core/ports/clock.ts';
import { heartbeat, type ServiceTransition, serviceTransition } from './messages.ts';

/** Nova's service_down_time default. */
export const DEFAULT_GRACE_MS = 60_000;
/** Sweeps per grace period by default: detection lags by at most graceMs / this. */
export const DEFAULT_SWEEPS_PER_GRACE = 4;
/** Hosts one monitor tracks at most. */
export const MAX_MONITORED_HOSTS = 1_000_000;

export interface HeartbeatMonitorOptions {
  readonly clock: Clock;
  readonly graceMs?: number;
  readonly sweepIntervalMs?: number;
  /** Must not throw. */
  readonly onTransition?: (t: ServiceTransition) => void;
  /** Publishes each transition as `cp.host.service` on `subject`. */
  readonly publish?: { readonly bus: Bus; readonly subject: string };
}

export type ServiceState = 'unknown' | 'up' | 'down';

interface Tracked {
  lastSeenMs: number;
  /** Start of the grace period of a host expected but never heard. */
  sinceMs: number;
  state: ServiceState;
}

export class HeartbeatMonitor {
  readonly graceMs: number;
  readonly sweepIntervalMs: number;
  private readonly hosts = new Map<string, Tracked>();
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly opts: HeartbeatMonitorOptions) {
    this.graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    this.sweepIntervalMs =
      opts.sweepIntervalMs ?? Math.max(1, Math.floor(this.graceMs / DEFAULT_SWEEPS_PER_GRACE));
    for (const [k, v] of [
      ['graceMs', this.graceMs],
      ['sweepIntervalMs', this.sweepIntervalMs],
    ] as const)
      if (!Number.isInteger(v) || v < 1)
        throw new CellplaneError('invalid', `${k} must be an integer >= 1, got ${v}`);
  }

  /** Tracks a host before it is heard: down if no heartbeat comes within graceMs from now. */
  expect(host: string): void {
    if (this.hosts.has(host)) return;
    const now = this.opts.clock.now();
    this.track(host, { lastSeenMs: 0, sinceMs: now, state: 'unknown' });
  }

  /** A heartbeat from `host` arrived now. */
  observe(host: string): void {
    const now = this.opts.clock.now();
    const t = this.hosts.get(host);
    if (!t) {
      this.track(host, { lastSeenMs: now, sinceMs: now, state: 'up' });
      this.emit(host, true, now, now);
      return;
    }
    t.lastSeenMs = now;
    if (t.state !== 'up') {
      t.state = 'up';
      this.emit(host, true, now, now);
      this.arm();
    }
  }

  forget(host: string): boolean {
    return this.hosts.delete(host);
  }

  state(host: string): ServiceState | undefined {
    return this.hosts.get(host)?.state;
  }

  lastSeen(host: string): number | undefined {
    return this.hosts.get(host)?.lastSeenMs;
  }

  counts(): Record<ServiceState, number> {
    const c = { unknown: 0, up: 0, down: 0 };
    for (const t of this.hosts.values()) c[t.state]++;
    return c;
  }

  /** 1 while the sweep timer is armed, else 0. */
  get armedTimers(): number {
    return this.timer ? 1 : 0;
  }

  /** Marks down every host silent for longer than graceMs (the timer calls this). */
  sweep(): void {
    const now = this.opts.clock.now();
    for (const [host, t] of this.hosts) {
      if (t.state === 'down') continue;
      const since = t.state === 'up' ? t.lastSeenMs : t.sinceMs;
      if (now - since <= this.graceMs) continue;
      t.state = 'down';
      this.emit(host, false, now, t.lastSeenMs);
    }
  }

  /** Feeds the monitor from heartbeat batches on `subject`; undecodable messages are ignored. */
  async listen(bus: Bus, subject: string): Promise<Subscription> {
    return bus.subscribe(subject, (msg) => {
      let batch: ReturnType<typeof heartbeat.parse>;
      try {
        batch = decode(heartbeat, msg.data);
      } catch {
        return; // a peer speaking another major: nothing this monitor can use
      }
      for (const b of batch.beats) this.observe(b.host);
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private track(host: string, t: Tracked): void {
    if (this.hosts.size >= MAX_MONITORED_HOSTS)
      throw new CellplaneError('overloaded', `heartbeat monitor is full (${MAX_MONITORED_HOSTS} hosts)`);
    this.hosts.set(host, t);
    this.arm();
  }

  private arm(): void {
    if (this.timer || this.closed) return;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      this.sweep();
      for (const t of this.hosts.values()) {
        if (t.state !== 'down') return this.arm();
      }
    }, this.sweepIntervalMs);
  }

  private emit(host: string, up: boolean, atMs: number, lastSeenMs: number): void {
    const t: ServiceTransition = { host, up, atMs, lastSeenMs };
    try {
      this.opts.onTransition?.(t);
    } catch {
      // Contract: listeners must not throw; the monitor keeps going either way.
    }
    const p = this.opts.publish;
    if (!p) return;
    try {
      p.bus.publish(p.subject, encode(serviceTransition, t));
    } catch {
      // The bus is closing: the listener above still saw the transition.
    }
  }
}
