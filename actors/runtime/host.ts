/**
 * An actor host: the actors of one scope in one process. `register` subscribes once per
 * kind (`cp.<scope>.<kind>.*`) and actors are activated on their first message; ONE sweep
 * timer on the injected Clock passivates the idle ones (no timer per actor); `shutdown`
 * stops taking messages, drains every mailbox, persists every actor, then resolves.
 *
 * Ownership: exactly one host may serve a (scope, kind) at a time — two would both receive
 * every message. Deciding who that is (leader election in etcd) is the caller's job.
 */
import { CellplaneError } from '../../core/errors.ts';
import type { Bus } from '../../core/ports/bus.ts';
import type { Clock, TimerHandle } from '../../core/ports/clock.ts';
import type { ActorDefinition } from './actor.ts';
import { type ActorAddress, checkScope } from './address.ts';
import type { ActorEvent, ActorEventListener, HostStats } from './events.ts';
import { KindRunner, type RunnerEnv } from './kind-runner.ts';
import { DEFAULT_MAILBOX_LIMIT } from './mailbox.ts';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from './supervisor.ts';

/** An actor untouched this long is passivated (persisted and dropped from memory). */
export const DEFAULT_IDLE_AFTER_MS = 5 * 60_000;
/** How often the one sweep timer looks for idle actors. */
export const DEFAULT_SWEEP_INTERVAL_MS = 30_000;
/** Actors persisted at once during shutdown. */
export const SHUTDOWN_DEACTIVATE_CONCURRENCY = 64;

export interface ActorHostOptions {
  readonly bus: Bus;
  readonly clock: Clock;
  /** One subject token: a cell, a partition, a test prefix. */
  readonly scope: string;
  readonly mailboxLimit?: number;
  readonly idleAfterMs?: number;
  readonly sweepIntervalMs?: number;
  readonly restart?: Partial<RestartPolicy>;
  /** Activations, failures (with address and error), restarts, stops… Must not throw. */
  readonly onEvent?: ActorEventListener;
}

export class ActorHost {
  private readonly runners = new Map<string, KindRunner<unknown>>();
  private readonly env: RunnerEnv;
  private readonly counters: HostStats = {
    accepted: 0,
    processed: 0,
    overloaded: 0,
    refused: 0,
    activations: 0,
    passivations: 0,
    failures: 0,
    restarts: 0,
    stops: 0,
    actors: 0,
    active: 0,
  };
  private readonly idleAfterMs: number;
  private readonly sweepIntervalMs: number;
  private sweepTimer: TimerHandle | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: ActorHostOptions) {
    checkScope(opts.scope);
    this.idleAfterMs = positive(opts.idleAfterMs ?? DEFAULT_IDLE_AFTER_MS, 'idleAfterMs');
    this.sweepIntervalMs = positive(opts.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS, 'sweepIntervalMs');
    const restart = { ...DEFAULT_RESTART_POLICY, ...opts.restart };
    positive(restart.windowMs, 'restart.windowMs');
    if (!Number.isInteger(restart.maxRestarts) || restart.maxRestarts < 0)
      throw new CellplaneError('invalid', `restart.maxRestarts must be an integer >= 0`);
    const listener = opts.onEvent;
    this.env = {
      bus: opts.bus,
      clock: opts.clock,
      scope: opts.scope,
      mailboxLimit: positive(opts.mailboxLimit ?? DEFAULT_MAILBOX_LIMIT, 'mailboxLimit'),
      restart,
      stats: this.counters,
      emit: listener ? (ev: ActorEvent) => safely(listener, ev) : () => {},
      activity: () => this.armSweep(),
    };
  }

  get scope(): string {
    return this.opts.scope;
  }

  /** Starts serving a kind: resolves once its wildcard subscription is in place. */
  async register<S>(def: ActorDefinition<S>): Promise<void> {
    if (this.stopping) throw new CellplaneError('closed', 'the actor host is shut down');
    if (this.runners.has(def.kind))
      throw new CellplaneError('invalid', `kind ${def.kind} is already registered in scope ${this.scope}`);
    const runner = new KindRunner(def, this.env) as KindRunner<unknown>;
    this.runners.set(def.kind, runner);
    try {
      await runner.start();
    } catch (err) {
      this.runners.delete(def.kind);
      throw err;
    }
  }

  stats(): HostStats {
    let actors = 0;
    let active = 0;
    for (const r of this.runners.values()) {
      const c = r.counts();
      actors += c.actors;
      active += c.active;
    }
    return { ...this.counters, actors, active };
  }

  /** Lets a stopped actor (restart budget spent) be activated again. False if it was not stopped. */
  resume(address: ActorAddress): boolean {
    return this.runners.get(address.kind)?.resume(address.id) ?? false;
  }

  /** One passivation pass now (the sweep timer calls this). */
  sweep(): void {
    const now = this.opts.clock.now();
    for (const r of this.runners.values()) r.sweep(now, this.idleAfterMs);
  }

  /**
   * Graceful stop: unsubscribe every kind (later messages are not taken; asks that still
   * arrive get `closed`), run every message already in a mailbox, persist every loaded actor,
   * then resolve. Idempotent. The bus stays open: it is the caller's.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private async stop(): Promise<void> {
    const runners = [...this.runners.values()];
    await Promise.all(runners.map((r) => r.stopTaking()));
    await Promise.all(runners.map((r) => r.drain()));
    if (this.sweepTimer) this.opts.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const r of runners) await r.deactivateAll(SHUTDOWN_DEACTIVATE_CONCURRENCY);
  }

  /** Arms the single sweep timer while any actor record exists; it disarms itself when none is left. */
  private armSweep(): void {
    if (this.sweepTimer || this.stopping) return;
    this.sweepTimer = this.opts.clock.setTimeout(() => {
      this.sweepTimer = undefined;
      if (this.stopping) return;
      this.sweep();
      if (this.stats().actors > 0) this.armSweep();
    }, this.sweepIntervalMs);
  }
}

function positive(n: number, what: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new CellplaneError('invalid', `${what} must be > 0, got ${n}`);
  return n;
}

function safely(listener: ActorEventListener, ev: ActorEvent): void {
  try {
    listener(ev);
  } catch {
    // A listener must not throw (contract); it must not break the actor either.
  }
}
