/**
 * Asking host agents, for the conductor and tests: typed wrappers over ActorClient that
 * address the right actor (`host-agent/<host>` or `host-instance/<host>/<uuid>`) in the scope
 * the host registered with (`RegisterHost.route.scope`). Errors keep their codes across the bus:
 * `shouldReschedule(err)` (driver.ts) tells a spawn failure worth an alternate host.
 */
import { ActorClient } from '../actors/runtime/client.ts';
import type { Bus } from '../core/ports/bus.ts';
import { instanceActorId } from './agents.ts';
import * as asks from './asks.ts';
import type { InstanceInfo, InstanceSpec, RebootKind } from './driver.ts';
import type { AgentRoute } from './messages.ts';

/**
 * Default wait for an instance operation on a host agent, which answers when the operation is
 * done (a spawn on a real hypervisor takes seconds to tens of seconds). The conductor uses it
 * unless configured (deploy/cell-roles.ts `operationTimeoutMs`; the simulator passes 120 s).
 */
export const DEFAULT_OPERATION_TIMEOUT_MS = 60_000;

/** Where a host is served: its name and the route from its registration. */
export interface AgentTarget {
  readonly host: string;
  readonly route: Pick<AgentRoute, 'scope' | 'hostKind' | 'instanceKind'>;
}

export class HostAgentClient {
  private readonly actors: ActorClient;

  constructor(
    bus: Bus,
    private readonly opts: { readonly scope: string; readonly operationTimeoutMs?: number },
  ) {
    this.actors = new ActorClient(bus, { scope: opts.scope });
  }

  spawn(t: AgentTarget, spec: InstanceSpec): Promise<InstanceInfo> {
    return this.actors.ask(this.instance(t, spec.uuid), asks.spawn, { spec }, this.op(t));
  }

  async destroy(t: AgentTarget, uuid: string): Promise<boolean> {
    return (await this.actors.ask(this.instance(t, uuid), asks.destroy, {}, this.op(t))).existed;
  }

  reboot(t: AgentTarget, uuid: string, kind: RebootKind): Promise<InstanceInfo> {
    return this.actors.ask(this.instance(t, uuid), asks.reboot, { kind }, this.op(t));
  }

  stop(t: AgentTarget, uuid: string): Promise<InstanceInfo> {
    return this.actors.ask(this.instance(t, uuid), asks.stop, {}, this.op(t));
  }

  start(t: AgentTarget, uuid: string): Promise<InstanceInfo> {
    return this.actors.ask(this.instance(t, uuid), asks.start, {}, this.op(t));
  }

  status(t: AgentTarget, timeoutMs?: number): Promise<asks.HostStatus> {
    const opts = timeoutMs === undefined ? { scope: t.route.scope } : { scope: t.route.scope, timeoutMs };
    return this.actors.ask({ kind: t.route.hostKind, id: t.host }, asks.status, {}, opts);
  }

  reregister(t: AgentTarget): Promise<void> {
    return this.actors.ask(
      { kind: t.route.hostKind, id: t.host },
      asks.reregister,
      {},
      { scope: t.route.scope },
    );
  }

  /** Fault injection: skip `count` heartbeats (-1 until resumed with 0). */
  missHeartbeats(t: AgentTarget, count: number): Promise<void> {
    const to = { kind: t.route.hostKind, id: t.host };
    return this.actors.ask(to, asks.missHeartbeats, { count }, { scope: t.route.scope });
  }

  private instance(t: AgentTarget, uuid: string) {
    return { kind: t.route.instanceKind, id: instanceActorId(t.host, uuid) };
  }

  private op(t: AgentTarget) {
    return { scope: t.route.scope, timeoutMs: this.opts.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS };
  }
}
