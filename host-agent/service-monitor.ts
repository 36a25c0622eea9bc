/**
 * The service monitor of one cell: it tells the scheduler shards which hosts may take new
 * instances — Nova's ComputeFilter: up (heartbeats within the grace period, HeartbeatMonitor in
 * monitor.ts), enabled and not forced down (the service records, services.ts, watched in the
 * coordinator). It publishes `{host, up}` on `agentSubjects(cell).service` when that changes; the
 * shards read it (actors/scheduler-shard-feed.ts). A shard leader that took over (its view starts
 * with every host up) asks on `serviceReplay` once it has loaded its trees, and the monitor tells
 * it the unschedulable hosts at once; besides, they are re-announced every `refreshMs`, so a lost
 * message (core NATS is at-most-once) or a replay asked before any monitor ran converges within
 * one period.
 *
 * One runs per cell, in the conductor leader's process while it leads (deploy/cell-roles.ts
 * starts it in the conductor's `onLead`).
 */
import { decode, encode } from '../core/codec/envelope.ts';
import type { Bus, Subscription } from '../core/ports/bus.ts';
import type { Clock, TimerHandle } from '../core/ports/clock.ts';
import type { Coordinator, Watch } from '../core/ports/coordinator.ts';
import { agentSubjects } from './agent.ts';
import { serviceReplay, serviceTransition } from './messages.ts';
import { HeartbeatMonitor } from './monitor.ts';
import { blocksHost, SERVICES_PREFIX, serviceRecordMessage } from './services.ts';

/** Hosts re-announced as unschedulable per refresh, at most. */
export const MAX_REFRESH_PER_TICK = 10_000;

export interface ServiceMonitorOptions {
  readonly bus: Bus;
  readonly coordinator: Coordinator;
  readonly clock: Clock;
  /** Cell name (the agents' subjects). */
  readonly cell: string;
  /**
   * Hosts expected to beat, read once at the start: down if silent for a grace period from then.
   * Include every host of the cell that is durably known (its host mappings), not only those
   * that registered with this process: a host that died before this monitor started never
   * registers or beats again, and would otherwise stay schedulable for good.
   */
  readonly expected?: () => readonly string[] | Promise<readonly string[]>;
  /** Whether `host` is of this cell (the registrar knows it): its record changes are told even before it beats. */
  readonly owns?: (host: string) => boolean;
  readonly graceMs?: number;
  readonly sweepIntervalMs?: number;
  /** Period of the re-announcement of unschedulable hosts; default the grace period. */
  readonly refreshMs?: number;
}

export interface ServiceMonitorHandle {
  /** Whether the shards are told `host` may be scheduled (undefined: not tracked). */
  schedulable(host: string): boolean | undefined;
  /**
   * A host of the cell just registered: expect its beats from now on (down if none comes within
   * the grace period). Its first beat may have come before this monitor listened.
   */
  expect(host: string): void;
  stop(): Promise<void>;
}

/**
 * Publishes, per host of the cell, whether it may take new instances: heartbeats within the
 * grace period (HeartbeatMonitor) and a service record neither disabled nor forced down.
 * Transitions are published when that changes; unschedulable hosts again every `refreshMs`.
 */
export async function startServiceMonitor(o: ServiceMonitorOptions): Promise<ServiceMonitorHandle> {
  const subject = agentSubjects(o.cell).service;
  const records = new Map<string, { rev: number; blocked: boolean }>();
  const told = new Map<string, boolean>();
  let stopped = false;
  const monitor = new HeartbeatMonitor({
    clock: o.clock,
    ...(o.graceMs ? { graceMs: o.graceMs } : {}),
    ...(o.sweepIntervalMs ? { sweepIntervalMs: o.sweepIntervalMs } : {}),
    onTransition: (t) => tell(t.host),
  });
  const schedulable = (host: string) => {
    const state = monitor.state(host);
    return state === undefined ? undefined : state !== 'down' && !records.get(host)?.blocked;
  };
  const publish = (host: string, up: boolean) => {
    const t = { host, up, atMs: o.clock.now(), lastSeenMs: monitor.lastSeen(host) ?? 0 };
    try {
      o.bus.publish(subject, encode(serviceTransition, t));
    } catch {
      // The bus is closing: the next refresh (or leader) says it again.
    }
  };
  function tell(host: string): void {
    if (stopped) return;
    if (monitor.state(host) === undefined && o.owns?.(host)) monitor.expect(host);
    const up = schedulable(host);
    if (up === undefined || told.get(host) === up) return;
    told.set(host, up);
    publish(host, up);
  }
  const applyRecord = (key: string, rev: number, value: Uint8Array | undefined) => {
    const host = key.slice(SERVICES_PREFIX.length);
    if ((records.get(host)?.rev ?? 0) > rev) return; // older than what the list read
    let blocked = false;
    try {
      blocked = value !== undefined && blocksHost(decode(serviceRecordMessage, value));
    } catch {
      // A record this build cannot read: the host stays schedulable.
    }
    records.set(host, { rev, blocked });
    tell(host);
  };
  // Watch first, then list: nothing written in between is missed, and revisions order the two.
  const watch: Watch = await o.coordinator.watch(SERVICES_PREFIX, (ev) =>
    applyRecord(ev.key, ev.revision, ev.type === 'put' ? ev.value : undefined),
  );
  /** Every host told unschedulable, again (at most MAX_REFRESH_PER_TICK). */
  const announceBlocked = () => {
    let n = 0;
    for (const [host, up] of told) {
      if (up || n++ >= MAX_REFRESH_PER_TICK) continue;
      publish(host, false);
    }
  };
  const subs: Subscription[] = [];
  let timer: TimerHandle | undefined;
  try {
    for (const e of await o.coordinator.list(SERVICES_PREFIX)) applyRecord(e.key, e.modRevision, e.value);
    for (const h of (await o.expected?.()) ?? []) monitor.expect(h);
    for (const h of records.keys()) tell(h);
    subs.push(await monitor.listen(o.bus, agentSubjects(o.cell).heartbeat));
    subs.push(
      await o.bus.subscribe(agentSubjects(o.cell).serviceReplay, (m) => {
        try {
          decode(serviceReplay, m.data);
        } catch {
          return; // a peer speaking another major
        }
        if (!stopped) announceBlocked();
      }),
    );
  } catch (err) {
    monitor.close();
    await Promise.all(subs.map((s) => s.unsubscribe().catch(() => {})));
    await watch.cancel();
    throw err;
  }
  const refreshMs = o.refreshMs ?? monitor.graceMs;
  const refresh = () => {
    timer = undefined;
    if (stopped) return;
    announceBlocked();
    timer = o.clock.setTimeout(refresh, refreshMs);
  };
  timer = o.clock.setTimeout(refresh, refreshMs);
  return {
    schedulable,
    expect: (host) => {
      if (!stopped) monitor.expect(host);
    },
    async stop() {
      stopped = true;
      if (timer) o.clock.clearTimeout(timer);
      monitor.close();
      await Promise.all(subs.map((s) => s.unsubscribe().catch(() => {})));
      await watch.cancel().catch(() => {});
    },
  };
}
