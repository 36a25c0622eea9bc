/**
 * The actors of one kind in one scope, in one process: a single wildcard subscription
 * (`cp.<scope>.<kind>.*`), a record per actor id with its mailbox, and the path of each
 * message — decode, activate if needed, run the handler, reply, supervise.
 *
 * Lifecycle of a record: created by its first message → loaded by `activate` inside the
 * mailbox (so messages queue behind the load) → passivated by a sweep (a `passivate` task
 * through the same mailbox, so it never overlaps a message) → removed. A crash drops the
 * instance (re-activated by the next message); a spent restart budget leaves a stopped record
 * that refuses messages until `resume`.
 */
import { decodeAny, type MessageType } from '../../core/codec/envelope.ts';
import { CellplaneError, toCellplaneError } from '../../core/errors.ts';
import type { Bus, BusMessage, Subscription } from '../../core/ports/bus.ts';
import type { Clock } from '../../core/ports/clock.ts';
import type { ActorContext, ActorDefinition, HandlerEntry } from './actor.ts';
import { type ActorAddress, formatAddress, kindWildcard, parseSubject } from './address.ts';
import type { ActorEvent, FailurePhase, HostStats } from './events.ts';
import { Mailbox } from './mailbox.ts';
import { encodeFailure, encodeResult } from './protocol.ts';
import { isCrash, RestartBudget, type RestartPolicy } from './supervisor.ts';

/** What a runner needs from its host. */
export interface RunnerEnv {
  readonly bus: Bus;
  readonly clock: Clock;
  readonly scope: string;
  readonly mailboxLimit: number;
  readonly restart: RestartPolicy;
  readonly stats: HostStats;
  emit(ev: ActorEvent): void;
  /** Called when a record is created, so the host arms its sweep timer. */
  activity(): void;
}

type Task =
  | { type: 'message'; entry: HandlerEntry<unknown>; body: unknown; msg: BusMessage }
  | { type: 'passivate' };

interface Activation<S> {
  readonly address: ActorAddress;
  readonly mailbox: Mailbox<Task>;
  readonly budget: RestartBudget;
  /** Loaded state and the context handlers see; undefined until activated (or after a crash). */
  instance: { ctx: ActorContext<S> } | undefined;
  lastUsedMs: number;
  stopped: CellplaneError | undefined;
}

export class KindRunner<S> {
  private readonly actors = new Map<string, Activation<S>>();
  private readonly types: readonly MessageType<unknown>[];
  private subscription: Subscription | undefined;
  private accepting = true;

  constructor(
    private readonly def: ActorDefinition<S>,
    private readonly env: RunnerEnv,
  ) {
    this.types = def.requestTypes;
  }

  get kind(): string {
    return this.def.kind;
  }

  async start(): Promise<void> {
    const subject = kindWildcard(this.env.scope, this.kind);
    this.subscription = await this.env.bus.subscribe(subject, (msg) => this.receive(msg));
  }

  /** Unsubscribes; anything delivered afterwards is refused with `closed`. */
  async stopTaking(): Promise<void> {
    await this.subscription?.unsubscribe();
    this.accepting = false;
  }

  /** Resolves once every mailbox is empty and idle. */
  async drain(): Promise<void> {
    await Promise.all([...this.actors.values()].map((a) => a.mailbox.idle()));
  }

  /** Persists every loaded actor, `concurrency` at a time (shutdown, after drain). */
  async deactivateAll(concurrency: number): Promise<void> {
    const loaded = [...this.actors.values()].filter((a) => a.instance && !a.stopped);
    for (let i = 0; i < loaded.length; i += concurrency) {
      await Promise.all(loaded.slice(i, i + concurrency).map((a) => this.passivate(a)));
    }
  }

  /** Counts for the host's gauges. */
  counts(): { actors: number; active: number } {
    let active = 0;
    for (const a of this.actors.values()) if (a.instance) active++;
    return { actors: this.actors.size, active };
  }

  /** Queues passivation of actors idle for `idleAfterMs`; forgets unloaded idle records. */
  sweep(nowMs: number, idleAfterMs: number): void {
    for (const [id, a] of this.actors) {
      if (a.stopped || a.mailbox.busy) continue;
      if (!a.instance) this.actors.delete(id);
      else if (nowMs - a.lastUsedMs >= idleAfterMs) a.mailbox.force({ type: 'passivate' });
    }
  }

  /** Forgets a stopped actor so its next message activates it afresh. */
  resume(id: string): boolean {
    const a = this.actors.get(id);
    if (!a?.stopped) return false;
    this.actors.delete(id);
    return true;
  }

  /** Persists and drops a loaded, idle instance (run through its mailbox by a sweep). */
  private async passivate(a: Activation<S>): Promise<void> {
    const inst = a.instance;
    if (!inst || a.stopped || a.mailbox.waiting > 0) return; // a message came in: still in use
    try {
      await this.def.behaviour.deactivate?.(a.address.id, inst.ctx.state);
    } catch (err) {
      this.report(a, 'deactivate', err);
      return;
    }
    a.instance = undefined;
    this.env.stats.passivations++;
    this.env.emit({ type: 'passivated', address: a.address });
    if (a.mailbox.waiting === 0 && this.actors.get(a.address.id) === a) this.actors.delete(a.address.id);
  }

  private receive(msg: BusMessage): void {
    const refusal = this.admit(msg);
    if (refusal) this.refuse(msg, refusal);
  }

  /** Decodes `msg` and queues it for its actor; returns the error to answer with if it is refused. */
  private admit(msg: BusMessage): CellplaneError | undefined {
    if (!this.accepting) return new CellplaneError('closed', `actor host of ${this.kind} is shutting down`);
    let address: ActorAddress;
    let task: Task;
    try {
      address = parseSubject(msg.subject).address;
      const d = decodeAny(this.types, msg.data);
      const entry = this.def.handler(d.kind) as HandlerEntry<unknown>;
      task = { type: 'message', entry, body: d.body, msg };
    } catch (err) {
      const error = toCellplaneError(err);
      this.env.emit({ type: 'rejected', subject: msg.subject, error });
      return error;
    }
    const a = this.actors.get(address.id) ?? this.create(address);
    if (a.stopped) return a.stopped;
    if (a.mailbox.offer(task)) {
      this.env.stats.accepted++;
      return undefined;
    }
    this.env.stats.overloaded++;
    this.env.emit({ type: 'overloaded', address, messageType: task.entry.request.type });
    const name = formatAddress(address);
    const limit = a.mailbox.limit;
    return new CellplaneError('overloaded', `mailbox of ${name} is full (${limit})`, {
      details: { address: name, limit },
    });
  }

  private create(address: ActorAddress): Activation<S> {
    const a: Activation<S> = {
      address,
      mailbox: new Mailbox<Task>((t) => this.run(a, t), this.env.mailboxLimit),
      budget: new RestartBudget(this.env.restart),
      instance: undefined,
      lastUsedMs: this.env.clock.now(),
      stopped: undefined,
    };
    this.actors.set(address.id, a);
    this.env.activity();
    return a;
  }

  private async run(a: Activation<S>, task: Task): Promise<void> {
    if (task.type === 'passivate') return this.passivate(a);
    const { entry, msg } = task;
    if (a.stopped) return this.refuse(msg, a.stopped);
    a.lastUsedMs = this.env.clock.now();
    const inst = a.instance ?? (await this.activate(a, msg));
    if (!inst) return;
    let result: unknown;
    try {
      result = await entry.fn(inst.ctx as ActorContext<unknown>, task.body);
    } catch (err) {
      if (isCrash(err)) return this.crash(a, err, msg, entry.request.type);
      this.env.stats.processed++;
      return respond(msg, encodeFailure(toCellplaneError(err)));
    } finally {
      a.lastUsedMs = this.env.clock.now();
    }
    this.env.stats.processed++;
    if (!msg.expectsReply) return;
    let reply: Uint8Array;
    try {
      reply = encodeResult(entry.reply, result);
    } catch (err) {
      reply = encodeFailure(
        new CellplaneError('internal', `${entry.request.type} result does not encode`, { cause: err }),
      );
    }
    respond(msg, reply);
  }

  private async activate(a: Activation<S>, msg: BusMessage): Promise<{ ctx: ActorContext<S> } | undefined> {
    let state: S;
    try {
      state = await this.def.behaviour.activate(a.address.id);
    } catch (err) {
      const error = this.report(a, 'activate', err);
      respond(msg, encodeFailure(error));
      this.supervise(a);
      return undefined;
    }
    const clock = this.env.clock;
    const ctx: ActorContext<S> = { address: a.address, scope: this.env.scope, state, now: () => clock.now() };
    a.instance = { ctx };
    this.env.stats.activations++;
    this.env.emit({ type: 'activated', address: a.address });
    return a.instance;
  }

  /** A handler crashed: drop the instance unpersisted, answer `internal`, restart or stop. */
  private crash(a: Activation<S>, err: unknown, msg: BusMessage, messageType: string): void {
    a.instance = undefined;
    const error = this.report(a, 'handle', err, messageType);
    const where = `${formatAddress(a.address)} failed handling ${messageType}`;
    respond(
      msg,
      encodeFailure(new CellplaneError('internal', `${where}: ${error.message}`, { cause: error })),
    );
    this.supervise(a);
  }

  private supervise(a: Activation<S>): void {
    if (a.budget.recordFailure(this.env.clock.now())) {
      this.env.stats.restarts++;
      this.env.emit({ type: 'restarted', address: a.address, recentFailures: a.budget.recent });
      return;
    }
    const { maxRestarts, windowMs } = this.env.restart;
    const name = formatAddress(a.address);
    a.stopped = new CellplaneError(
      'closed',
      `actor ${name} is stopped: ${a.budget.recent} failures within ${windowMs} ms spent its restart budget (${maxRestarts})`,
      { details: { address: name, maxRestarts, windowMs } },
    );
    this.env.stats.stops++;
    this.env.emit({ type: 'stopped', address: a.address, error: a.stopped });
    for (const t of a.mailbox.takeWaiting()) if (t.type === 'message') this.refuse(t.msg, a.stopped);
  }

  private report(a: Activation<S>, phase: FailurePhase, err: unknown, messageType?: string): CellplaneError {
    const error = toCellplaneError(err);
    this.env.stats.failures++;
    const ev = { type: 'failed' as const, address: a.address, phase, error };
    this.env.emit(messageType ? { ...ev, messageType } : ev);
    return error;
  }

  private refuse(msg: BusMessage, error: CellplaneError): void {
    this.env.stats.refused++;
    respond(msg, encodeFailure(error));
  }
}

/** Replies to an ask (a tell needs none); a reply that cannot be sent is the caller's timeout. */
function respond(msg: BusMessage, data: Uint8Array): void {
  if (!msg.expectsReply) return;
  try {
    msg.respond(data);
  } catch {
    // The connection closed under us: the asker sees `timeout` or `closed` on its side.
  }
}
