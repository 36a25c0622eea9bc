/**
 * One host's agent: its driver, its registration, its heartbeat and its instance operations
 * with their events. Deliberately small (a few fields over the driver): the simulator keeps
 * tens of thousands in one process. Everything shared — bus, clock, subjects, the heartbeat
 * scheduler and outbox — lives once in `AgentEnv` (see agents.ts, which also serves the asks).
 *
 * Events: each operation publishes `<op>ing` when it starts and `<op>ed` (with the power state)
 * or `spawnFailed` / `operationFailed` (with the error) when it ends, on `subjects.events`, with
 * the Clock's time and a per-host sequence number.
 */
import { encode } from '../core/codec/envelope.ts';
import { CellplaneError, toCellplaneError } from '../core/errors.ts';
import type { Bus } from '../core/ports/bus.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { HostStatus } from './asks.ts';
import type { HostDescription, HypervisorDriver, InstanceInfo, InstanceSpec, RebootKind } from './driver.ts';
import type { HeartbeatScheduler } from './heartbeat.ts';
import {
  type AgentRoute,
  type Beat,
  type InstanceEvent,
  type InstanceEventKind,
  instanceEvent,
  type RegisterHost,
  registerHost,
} from './messages.ts';

/** Subjects an agent publishes on and listens to (defaults: `agentSubjects(cell)`). */
export interface AgentSubjects {
  readonly register: string;
  readonly heartbeat: string;
  readonly events: string;
  readonly resync: string;
  /** Where a HeartbeatMonitor publishes up/down transitions. */
  readonly service: string;
  /** Where a scheduler shard that took over asks the service monitor to tell it again. */
  readonly serviceReplay: string;
}

export function agentSubjects(cell: string): AgentSubjects {
  const base = `cp.${cell}.hosts`;
  return {
    register: `${base}.register`,
    heartbeat: `${base}.heartbeat`,
    events: `${base}.events`,
    resync: `${base}.resync`,
    service: `${base}.service`,
    serviceReplay: `${base}.service_replay`,
  };
}

/** What every agent of a process shares. */
export interface AgentEnv {
  readonly bus: Bus;
  readonly clock: Clock;
  readonly cell: string;
  readonly subjects: AgentSubjects;
  readonly route: AgentRoute;
  readonly incarnation: number;
  readonly heartbeatIntervalMs: number;
  readonly scheduler: HeartbeatScheduler;
  /** Queues a beat; beats of one sweep leave together (see agents.ts). */
  sendBeat(beat: Beat): void;
}

type Op = 'destroy' | 'reboot' | 'stop' | 'start';
const OP_EVENTS: Record<Op, readonly [InstanceEventKind, InstanceEventKind]> = {
  destroy: ['destroying', 'destroyed'],
  reboot: ['rebooting', 'rebooted'],
  stop: ['stopping', 'stopped'],
  start: ['starting', 'started'],
};

export class HostAgent {
  readonly host: string;
  private heartbeatSeq = 0;
  private eventSeq = 0;
  /** Heartbeats still to skip; -1 = until told otherwise. */
  private missing = 0;

  constructor(
    readonly driver: HypervisorDriver,
    private readonly env: AgentEnv,
  ) {
    this.host = driver.describe().hostname;
  }

  get description(): HostDescription {
    return this.driver.describe();
  }

  registration(): RegisterHost {
    const d = this.driver.describe();
    const { cell, route, incarnation } = this.env;
    const atMs = this.env.clock.now();
    return {
      host: d.hostname,
      cell,
      hypervisorType: d.hypervisorType,
      route,
      providers: d.providers,
      capabilities: d.capabilities,
      incarnation,
      atMs,
    };
  }

  /** Publishes the registration (fire and forget: a registry that missed it sends a resync). */
  register(): void {
    this.env.bus.publish(this.env.subjects.register, encode(registerHost, this.registration()));
  }

  /** Joins the process's heartbeat schedule. */
  startHeartbeat(): void {
    this.env.scheduler.add(this.host, this.env.heartbeatIntervalMs, (now) => this.beat(now));
  }

  stopHeartbeat(): void {
    this.env.scheduler.remove(this.host);
  }

  /** Fault injection: skip the next `count` heartbeats; -1 until called with 0 (which resumes). */
  missHeartbeats(count: number): void {
    if (!Number.isInteger(count) || count < -1)
      throw new CellplaneError('invalid', `missHeartbeats count must be an integer >= -1, got ${count}`);
    this.missing = count;
  }

  status(): HostStatus {
    return {
      host: this.host,
      cell: this.env.cell,
      incarnation: this.env.incarnation,
      heartbeatSeq: this.heartbeatSeq,
      missingHeartbeats: this.missing,
      instances: this.driver.listInstances(),
    };
  }

  async spawn(spec: InstanceSpec): Promise<InstanceInfo> {
    this.emit(spec.uuid, 'spawning');
    try {
      const info = await this.driver.spawn(spec);
      this.emit(spec.uuid, 'spawned', info);
      return info;
    } catch (err) {
      throw this.failed(spec.uuid, 'spawnFailed', err);
    }
  }

  async destroy(uuid: string): Promise<boolean> {
    return this.operate(uuid, 'destroy', () => this.driver.destroy(uuid));
  }

  reboot(uuid: string, kind: RebootKind): Promise<InstanceInfo> {
    return this.operate(uuid, 'reboot', () => this.driver.reboot(uuid, kind));
  }

  stop(uuid: string): Promise<InstanceInfo> {
    return this.operate(uuid, 'stop', () => this.driver.powerOff(uuid));
  }

  start(uuid: string): Promise<InstanceInfo> {
    return this.operate(uuid, 'start', () => this.driver.powerOn(uuid));
  }

  private beat(now: number): void {
    if (this.missing !== 0) {
      if (this.missing > 0) this.missing--;
      return;
    }
    const instances = this.driver.listInstances().length;
    this.env.sendBeat({
      host: this.host,
      seq: ++this.heartbeatSeq,
      atMs: now,
      incarnation: this.env.incarnation,
      instances,
    });
  }

  private async operate<R extends InstanceInfo | boolean>(
    uuid: string,
    op: Op,
    run: () => Promise<R>,
  ): Promise<R> {
    const [begin, end] = OP_EVENTS[op];
    this.emit(uuid, begin);
    try {
      const result = await run();
      this.emit(uuid, end, typeof result === 'boolean' ? undefined : result);
      return result;
    } catch (err) {
      throw this.failed(uuid, 'operationFailed', err);
    }
  }

  private failed(uuid: string, kind: InstanceEventKind, err: unknown): unknown {
    const e = toCellplaneError(err);
    this.emit(uuid, kind, undefined, e);
    // A coded error is the answer (no actor restart); anything else stays a crash.
    return err instanceof CellplaneError ? err : e.code === 'internal' ? err : e;
  }

  private emit(
    instance: string,
    event: InstanceEventKind,
    info?: InstanceInfo,
    error?: CellplaneError,
  ): void {
    const ev: InstanceEvent = {
      host: this.host,
      cell: this.env.cell,
      instance,
      event,
      seq: ++this.eventSeq,
      atMs: this.env.clock.now(),
      ...(info ? { powerState: info.powerState } : {}),
      ...(error ? { error: error.toWire() } : {}),
    };
    try {
      this.env.bus.publish(this.env.subjects.events, encode(instanceEvent, ev));
    } catch {
      // Bus closing: events are best effort (at most once); `status` is the source of truth.
    }
  }
}
