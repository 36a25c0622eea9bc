/**
 * The host agents of one process: any number of HostAgents behind ONE ActorHost (one wildcard
 * subscription per kind), ONE heartbeat scheduler timer, ONE resync subscription, and a
 * heartbeat outbox that sends the beats of one sweep as a few batch messages.
 *
 * Addressing: `cp.<scope>.host-agent.<host>` and `cp.<scope>.host-instance.<host>/<uuid>`.
 * Exactly one process may serve a scope (actors/README.md), so every agent process gets its
 * own scope (default `<cell>-agents`); the registration message carries the scope (`route`),
 * which is how a conductor knows where to ask a host.
 */
import { defineActor } from '../actors/runtime/actor.ts';
import { ActorHost, type ActorHostOptions } from '../actors/runtime/host.ts';
import { decode, encode } from '../core/codec/envelope.ts';
import { CellplaneError } from '../core/errors.ts';
import type { Bus, Subscription } from '../core/ports/bus.ts';
import type { Clock } from '../core/ports/clock.ts';
import { type AgentEnv, type AgentSubjects, agentSubjects, HostAgent } from './agent.ts';
import * as asks from './asks.ts';
import type { HypervisorDriver } from './driver.ts';
import { HeartbeatScheduler } from './heartbeat.ts';
import { type Beat, heartbeat, MAX_BEATS_PER_MESSAGE, resync } from './messages.ts';

export const HOST_KIND = 'host-agent';
export const INSTANCE_KIND = 'host-instance';
/** Nova's report_interval default. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;

export interface HostAgentsOptions {
  readonly bus: Bus;
  readonly clock: Clock;
  /** Cell name (one subject token). */
  readonly cell: string;
  /** Actor scope served by this process; default `<cell>-agents`. Unique per process. */
  readonly scope?: string;
  readonly heartbeatIntervalMs?: number;
  /** Share one scheduler between several groups in a process; default: a private one. */
  readonly scheduler?: HeartbeatScheduler;
  readonly subjects?: Partial<AgentSubjects>;
  /** Default: the clock's time at start (a restarted process is a new incarnation). */
  readonly incarnation?: number;
  /** Passed to the ActorHost (idle passivation, mailbox limits, events). */
  readonly actorHost?: Omit<ActorHostOptions, 'bus' | 'clock' | 'scope'>;
}

/** The actor scope of a cell's agents when none is given: `<cell>-agents`. */
export function defaultAgentScope(cell: string): string {
  return `${cell}-agents`;
}

/** `<host>/<instance uuid>`: the id of an instance's actor. */
export function instanceActorId(host: string, uuid: string): string {
  return `${host}/${uuid}`;
}

export class HostAgents {
  readonly env: AgentEnv;
  readonly actorHost: ActorHost;
  private readonly agents = new Map<string, HostAgent>();
  private readonly ownsScheduler: boolean;
  private outbox: Beat[] = [];
  private resyncSub: Subscription | undefined;
  private stopped = false;

  private constructor(opts: HostAgentsOptions) {
    const scope = opts.scope ?? defaultAgentScope(opts.cell);
    this.ownsScheduler = !opts.scheduler;
    const scheduler = opts.scheduler ?? new HeartbeatScheduler({ clock: opts.clock });
    this.env = {
      bus: opts.bus,
      clock: opts.clock,
      cell: opts.cell,
      subjects: { ...agentSubjects(opts.cell), ...opts.subjects },
      route: { scope, hostKind: HOST_KIND, instanceKind: INSTANCE_KIND },
      incarnation: opts.incarnation ?? opts.clock.now(),
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      scheduler,
      sendBeat: (b) => this.queueBeat(b),
    };
    this.actorHost = new ActorHost({ ...opts.actorHost, bus: opts.bus, clock: opts.clock, scope });
  }

  /** Serves the asks and listens for resync; add hosts with `add`. */
  static async start(opts: HostAgentsOptions): Promise<HostAgents> {
    const group = new HostAgents(opts);
    await group.actorHost.register(group.hostKind());
    await group.actorHost.register(group.instanceKind());
    group.resyncSub = await opts.bus.subscribe(group.env.subjects.resync, (msg) => {
      try {
        const { hosts } = decode(resync, msg.data);
        group.registerAll(hosts);
      } catch {
        // Not a resync this build understands: ignore (the sender's problem).
      }
    });
    return group;
  }

  get size(): number {
    return this.agents.size;
  }

  agent(host: string): HostAgent | undefined {
    return this.agents.get(host);
  }

  hosts(): IterableIterator<HostAgent> {
    return this.agents.values();
  }

  /** Adds a host: registers it (unless told not to) and starts its heartbeat. */
  add(driver: HypervisorDriver, opts: { register?: boolean } = {}): HostAgent {
    if (this.stopped) throw new CellplaneError('closed', 'host agents are stopped');
    const agent = new HostAgent(driver, this.env);
    if (this.agents.has(agent.host))
      throw new CellplaneError('conflict', `host ${agent.host} is already served here`);
    this.agents.set(agent.host, agent);
    if (opts.register ?? true) agent.register();
    agent.startHeartbeat();
    return agent;
  }

  /** Stops a host's heartbeat and asks (its driver and instances are the caller's). */
  remove(host: string): boolean {
    const agent = this.agents.get(host);
    if (!agent) return false;
    agent.stopHeartbeat();
    return this.agents.delete(host);
  }

  /** Re-publishes the registration of every host, or of the listed ones served here. */
  registerAll(hosts?: readonly string[]): number {
    let n = 0;
    const list = hosts ? hosts.map((h) => this.agents.get(h)) : this.agents.values();
    for (const a of list) {
      if (!a) continue;
      a.register();
      n++;
    }
    return n;
  }

  /** Stops heartbeats and resync, drains the asks in flight. The bus stays open (the caller's). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const a of this.agents.values()) a.stopHeartbeat();
    if (this.ownsScheduler) this.env.scheduler.close();
    await this.resyncSub?.unsubscribe();
    await this.actorHost.shutdown();
    this.flushBeats();
  }

  private queueBeat(beat: Beat): void {
    if (this.outbox.length === 0) queueMicrotask(() => this.flushBeats());
    this.outbox.push(beat);
  }

  /** Publishes queued beats, MAX_BEATS_PER_MESSAGE per message. */
  private flushBeats(): void {
    const beats = this.outbox;
    this.outbox = [];
    for (let i = 0; i < beats.length; i += MAX_BEATS_PER_MESSAGE) {
      const body = { cell: this.env.cell, beats: beats.slice(i, i + MAX_BEATS_PER_MESSAGE) };
      try {
        this.env.bus.publish(this.env.subjects.heartbeat, encode(heartbeat, body));
      } catch {
        // Bus closed: a missed heartbeat is exactly what the monitor is there to notice.
      }
    }
  }

  private lookup(host: string): HostAgent {
    const a = this.agents.get(host);
    if (!a)
      throw new CellplaneError('notFound', `host ${host} is not served in scope ${this.actorHost.scope}`, {
        details: { host },
      });
    return a;
  }

  private hostKind() {
    return defineActor<{ host: string }>({ kind: HOST_KIND, activate: async (host) => ({ host }) })
      .on(asks.status, (ctx) => this.lookup(ctx.state.host).status())
      .on(asks.reregister, (ctx) => void this.lookup(ctx.state.host).register())
      .on(asks.missHeartbeats, (ctx, { count }) => void this.lookup(ctx.state.host).missHeartbeats(count));
  }

  private instanceKind() {
    type S = { host: string; uuid: string };
    const activate = async (id: string): Promise<S> => {
      const slash = id.indexOf('/');
      if (slash <= 0 || slash === id.length - 1)
        throw new CellplaneError('invalid', `instance actor id "${id}" must be <host>/<uuid>`);
      return { host: id.slice(0, slash), uuid: id.slice(slash + 1) };
    };
    return defineActor<S>({ kind: INSTANCE_KIND, activate })
      .on(asks.spawn, (ctx, { spec }) => {
        if (spec.uuid !== ctx.state.uuid)
          throw new CellplaneError(
            'invalid',
            `spec.uuid ${spec.uuid} does not match the actor's ${ctx.state.uuid}`,
          );
        return this.lookup(ctx.state.host).spawn(spec);
      })
      .on(asks.destroy, async (ctx) => ({
        existed: await this.lookup(ctx.state.host).destroy(ctx.state.uuid),
      }))
      .on(asks.reboot, (ctx, { kind }) => this.lookup(ctx.state.host).reboot(ctx.state.uuid, kind))
      .on(asks.stop, (ctx) => this.lookup(ctx.state.host).stop(ctx.state.uuid))
      .on(asks.start, (ctx) => this.lookup(ctx.state.host).start(ctx.state.uuid));
  }
}
