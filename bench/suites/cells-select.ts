/**
 * Child process of the cells suite: select latency of ONE scheduler shard (1 shard, 1 cell).
 *
 *   node --import tsx bench/suites/cells-select.ts <embedded|nats> <hosts> <requests> <warmup>
 *
 * The cell's roles are wired by deploy/cell-roles.ts as in `cellplane up` / `cellplane
 * scheduler`: the provider-tree actors (+ registrar) on one bus connection, the shard replica on a
 * second, and the asking ActorClient on a third, all in this process. `embedded`: the memory
 * broker, coordinator and store. `nats`: nats-server, etcd and redis-server started for this run
 * in a temporary directory (deploy/services.ts, random free ports) and stopped on exit, error,
 * SIGTERM or SIGINT — each ask travels client → nats-server → shard → nats-server → client over
 * loopback TCP.
 *
 * Every host's tree is registered through the provider-tree client (the registrar's path) and
 * gets its usage by a claim (cells-fleet.ts); then the shard starts (election + resync from the
 * store), `warmup` asks run untimed and `requests` asks are timed one at a time. Every reply must
 * be `selected` and the shard must have loaded every tree, or the run fails. Prints one JSON line
 * (SelectResult).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorClient } from '../../actors/runtime/client.ts';
import { type ShardEvent, shardAddress } from '../../actors/scheduler-shard.ts';
import { type SelectReply, selectHosts } from '../../actors/scheduler-shard-messages.ts';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { MemoryBroker } from '../../core/adapters/memory/bus.ts';
import { MemoryCoordinationServer } from '../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../core/adapters/memory/store.ts';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import type { Bus } from '../../core/ports/bus.ts';
import type { Coordinator } from '../../core/ports/coordinator.ts';
import type { Store } from '../../core/ports/store.ts';
import { startCellRoles } from '../../deploy/cell-roles.ts';
import { servicesDown, servicesUp } from '../../deploy/services.ts';
import { feasibleCount, hostName, hostSpecs, selectRequest, treeFor, usageClaim } from './cells-fleet.ts';
import { LatencyRecorder, perSecond, type SelectResult } from './cells-latency.ts';
import { onceStopped, parseMode, parsePositive, pool } from './cells-process.ts';

const CELL = 'cell1';
const PREFIX = 'benchcells';
/** Trees registered (and claimed) at once while loading. */
const LOAD_IN_FLIGHT = 64;
const ASK_TIMEOUT_MS = 5_000;
const SERVING_TIMEOUT_MS = 120_000;

interface Ports {
  readonly buses: readonly [Bus, Bus, Bus];
  readonly coordinator: Coordinator;
  readonly store: Store;
  readonly where: string;
  close(): Promise<void>;
}

function memoryPorts(): Ports {
  const broker = new MemoryBroker({ clock: systemClock });
  const coordination = new MemoryCoordinationServer(systemClock);
  const buses = [broker.connect(), broker.connect(), broker.connect()] as const;
  const coordinator = coordination.client();
  return {
    buses,
    coordinator,
    store: new MemoryStore(),
    where: 'one process, memory bus/coordinator/store (3 bus connections: trees, shard, client)',
    async close() {
      await coordinator.close();
      for (const b of buses) await b.close().catch(() => {});
    },
  };
}

async function natsPorts(dir: string): Promise<Ports> {
  const state = await servicesUp({ dir, randomPorts: true, log: (l) => console.error(`services: ${l}`) });
  const { nats, etcd, redis } = state.urls;
  const connect = (name: string) => NatsBus.connect({ servers: nats, prefix: PREFIX, name });
  const buses = [
    await connect('bench-trees'),
    await connect('bench-shard'),
    await connect('bench-client'),
  ] as const;
  const coordinator = new EtcdCoordinator({ hosts: etcd, prefix: `/${PREFIX}` });
  const store = await RedisStore.open({ url: redis, prefix: `${PREFIX}.${CELL}` });
  return {
    buses,
    coordinator,
    store,
    where:
      'one process, 3 NATS connections (trees, shard, client) to nats-server on loopback; shard elected in etcd, trees in Redis',
    async close() {
      for (const b of buses) await b.close().catch(() => {});
      await coordinator.close().catch(() => {});
      await store.close().catch(() => {});
    },
  };
}

async function main(): Promise<SelectResult> {
  const [modeArg, hostsArg, requestsArg, warmupArg] = process.argv.slice(2);
  const mode = parseMode(modeArg);
  const hosts = parsePositive('hosts', hostsArg);
  const requests = parsePositive('requests', requestsArg);
  const warmup = parsePositive('warmup', warmupArg);
  const dir = mode === 'nats' ? mkdtempSync(join(tmpdir(), 'cellplane-bench-')) : undefined;
  const cleanups: Array<() => Promise<void>> = [];
  if (dir) cleanups.push(() => servicesDown(dir, { purge: true }));
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };
  onceStopped(cleanup);
  try {
    const ports = dir ? await natsPorts(dir) : memoryPorts();
    cleanups.push(() => ports.close());
    const common = {
      cell: CELL,
      coordinator: ports.coordinator,
      store: ports.store,
      clock: systemClock,
      shardCount: 1,
      askTimeoutMs: ASK_TIMEOUT_MS,
    };
    const treeRoles = await startCellRoles({
      ...common,
      bus: ports.buses[0],
      replicaId: 'bench-trees',
      roles: { trees: true },
    });
    cleanups.push(() => treeRoles.stop());

    const t0 = performance.now();
    const specs = hostSpecs(CELL, hosts);
    await pool(specs, LOAD_IN_FLIGHT, async (spec) => {
      const { root, providers } = treeFor(spec);
      await treeRoles.trees.register(root, providers);
      const r = await treeRoles.trees.claim(root, usageClaim(spec.hostname, root));
      if (!r.ok) throw new Error(`usage claim on ${spec.hostname} refused: ${JSON.stringify(r.conflict)}`);
    });
    const loadMs = performance.now() - t0;
    console.error(`cells-select ${mode}: ${hosts} trees registered with usage in ${Math.round(loadMs)} ms`);

    let served: ((trees: number) => void) | undefined;
    const serving = new Promise<number>((resolve) => {
      served = resolve;
    });
    const t1 = performance.now();
    const shardRoles = await startCellRoles({
      ...common,
      bus: ports.buses[1],
      replicaId: 'bench-shard',
      roles: { shards: [0] },
      onRoleEvent: (what, e) => {
        const ev = e as ShardEvent;
        if (what === 'sched-0' && ev.type === 'serving') served?.(ev.trees);
        if (ev.type === 'problem') console.error(`cells-select: ${what} problem ${JSON.stringify(ev)}`);
      },
    });
    cleanups.push(() => shardRoles.stop());
    const shardTrees = await withTimeout(serving, SERVING_TIMEOUT_MS, 'the shard to serve');
    const takeoverMs = performance.now() - t1;
    if (shardTrees !== hosts) throw new Error(`the shard loaded ${shardTrees} trees, expected ${hosts}`);

    const client = new ActorClient(ports.buses[2], { scope: CELL, askTimeoutMs: ASK_TIMEOUT_MS });
    const ask = async (n: number): Promise<SelectReply> => {
      const reply = await client.ask(shardAddress(0), selectHosts, selectRequest(n));
      if (reply.outcome !== 'selected') throw new Error(`select ${n}: ${reply.outcome}: ${reply.message}`);
      return reply;
    };
    for (let i = 0; i < warmup; i++) await ask(i);
    const rec = new LatencyRecorder();
    let last: SelectReply | undefined;
    const tLoop = performance.now();
    for (let i = 0; i < requests; i++) {
      const s = performance.now();
      last = await ask(warmup + i);
      rec.record(performance.now() - s);
    }
    const loopMs = performance.now() - tLoop;
    const names = specs.map((_, i) => hostName(CELL, i));
    return {
      mode,
      hosts,
      shardTrees,
      feasible: feasibleCount(names),
      warmup,
      latency: rec.summary(),
      requestsPerS: perSecond(requests, loopMs),
      loadMs,
      takeoverMs,
      explain: {
        hosts: last!.explain.hosts,
        evaluated: last!.explain.evaluated,
        feasible: last!.explain.feasible,
      },
      where: ports.where,
    };
  } finally {
    await cleanup();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

main().then(
  (r) => {
    console.log(JSON.stringify(r));
    process.exit(0);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
