/**
 * A memory world for the scheduler shard's tests: one broker and one coordination server on a
 * VirtualClock, a MemoryStore for the cell, the provider-tree actors (hostTrees), and shard
 * replicas — each on its own bus connection and coordinator client, so a replica can "crash"
 * (its coordinator stops keep-alives, its bus closes) without touching the others.
 */
import type { ProviderTreeClient } from '../../../actors/provider-tree-client.ts';
import { ActorClient } from '../../../actors/runtime/client.ts';
import {
  SchedulerShard,
  type SchedulerShardOptions,
  type ShardEvent,
  shardAddress,
} from '../../../actors/scheduler-shard.ts';
import {
  type SelectReply,
  type SelectRequest,
  selectHosts,
} from '../../../actors/scheduler-shard-messages.ts';
import { MemoryBroker, type MemoryBus } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import {
  MemoryCoordinationServer,
  type MemoryCoordinator,
} from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { decode, encode } from '../../../core/codec/envelope.ts';
import type { Uuid } from '../../../core/model/ids.ts';
import { agentSubjects } from '../../../host-agent/agent.ts';
import { serviceTransition } from '../../../host-agent/messages.ts';
import { hostTrees } from './provider-tree-fixture.ts';

export const CELL = 'cell1';
export const TTL_MS = 3_000;
export const ASK_MS = 1_000;

/** Root provider uuid number n (deterministic, valid). */
export function rootUuid(n: number): Uuid {
  return `a0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as Uuid;
}

/** A request for `vcpus` VCPU and `ram` MB (no disk), `num` instances. */
export function request(
  id: string,
  vcpus: number,
  ram = 512,
  more: Partial<SelectRequest> = {},
): SelectRequest {
  return { id, flavor: { vcpus, ram, disk: 0 }, numInstances: 1, ...more };
}

export interface Replica {
  readonly shard: SchedulerShard;
  readonly bus: MemoryBus;
  readonly coordinator: MemoryCoordinator;
  readonly events: ShardEvent[];
}

export interface ShardWorld {
  readonly clock: VirtualClock;
  readonly broker: MemoryBroker;
  readonly store: MemoryStore;
  readonly trees: ProviderTreeClient;
  readonly client: ActorClient;
  readonly clientBus: MemoryBus;
  replica(id: string, opts?: Partial<SchedulerShardOptions>): Replica;
  select(req: SelectRequest, shard?: number): Promise<SelectReply>;
  /** Publishes a service transition for host `name` (what the heartbeat monitor does). */
  setUp(name: string, up: boolean): void;
  /** Advances virtual time in steps until `check` holds (at most `maxMs`). */
  until(what: string, check: () => boolean, maxMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function shardWorld(): Promise<ShardWorld> {
  const clock = new VirtualClock(0);
  const broker = new MemoryBroker({ clock });
  const coordination = new MemoryCoordinationServer(clock);
  const store = new MemoryStore();
  const [treeBus, clientBus] = [broker.connect(), broker.connect()];
  const hosted = await hostTrees({ bus: treeBus, clientBus, store, clock, scope: CELL });
  const client = new ActorClient(clientBus, { scope: CELL, askTimeoutMs: ASK_MS });
  const replicas: Replica[] = [];
  const service = agentSubjects(CELL).service;
  const world: ShardWorld = {
    clock,
    broker,
    store,
    trees: hosted.trees,
    client,
    clientBus,
    replica(id, opts = {}) {
      const bus = broker.connect();
      const coordinator = coordination.client();
      const events: ShardEvent[] = [];
      const shard = new SchedulerShard({
        bus,
        coordinator,
        store,
        cell: CELL,
        shard: 0,
        shardCount: 1,
        candidateId: id,
        leaseTtlMs: TTL_MS,
        serviceEvents: { subject: service, parse: (d) => decode(serviceTransition, d) },
        onEvent: (e) => events.push(e),
        sleep: (ms) => clock.sleep(ms),
        ...opts,
      });
      const r: Replica = { shard, bus, coordinator, events };
      replicas.push(r);
      shard.start();
      return r;
    },
    select: (req, shard = 0) => client.ask(shardAddress(shard), selectHosts, req, { timeoutMs: ASK_MS }),
    setUp(name, up) {
      const t = { host: name, up, atMs: clock.now(), lastSeenMs: 0 };
      clientBus.publish(service, encodeTransition(t));
    },
    async until(what, check, maxMs = 4 * TTL_MS) {
      const end = clock.now() + maxMs;
      await clock.advance(0);
      while (!check()) {
        if (clock.now() >= end) throw new Error(`not within ${maxMs} virtual ms: ${what}`);
        await clock.advance(10);
      }
    },
    async close() {
      for (const r of replicas) {
        await r.shard.stop();
        await r.coordinator.close();
        await r.bus.close().catch(() => {});
      }
      await hosted.host.shutdown();
      await Promise.all([treeBus.close(), clientBus.close()]);
    },
  };
  return world;
}

function encodeTransition(t: { host: string; up: boolean; atMs: number; lastSeenMs: number }): Uint8Array {
  return encode(serviceTransition, t);
}
