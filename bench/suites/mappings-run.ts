/**
 * Child process of the mappings suite: instance→cell mappings per second, into etcd the way they
 * were written before (the cell read, a CAS create of `instance-mappings/<uuid>`, the cell read
 * again) against InstanceMappings into Redis now (cells/instance-mappings.ts: the cell read shared
 * by concurrent mappers, one commit of the mapping and its per-cell index, the cell re-read
 * shared), on a private nats-server/etcd/redis-server started on free loopback ports
 * (deploy/services.ts; `services up` timing: etcd 25 ms heartbeat, Redis AOF `everysec`).
 *
 *   node --import tsx bench/suites/mappings-run.ts <mappings> <concurrency> <warmup>
 *
 * Variants, each `warmup` untimed mappings then `mappings` timed ones with `concurrency` in flight
 * (as many API requests at once), each mapping timed into an HDR histogram; the timed ones run in
 * ROUNDS rounds of one slice per variant in turn, so a burst of load from elsewhere falls on every
 * variant alike. Every variant maps new instances into the same enabled cell, and every answer is
 * checked:
 *   etcd                 the former path, on today's helpers (cells/accepting.ts)
 *   redis                InstanceMappings as deployed (AOF everysec, shared cell reads)
 *   redis fsync always   the same with `appendfsync always` (every write on disk, as etcd's)
 *   redis, own reads     InstanceMappings reading the cell twice per mapping (no sharing)
 * Also counts the etcd and Redis requests per mapping. Prints one JSON line (MappingsRunResult).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptingCell, cellNow, recheckRefusal } from '../../cells/accepting.ts';
import { type CellReader, directCellReader } from '../../cells/cell-reads.ts';
import { InstanceMappings } from '../../cells/instance-mappings.ts';
import { CellRegistry } from '../../cells/lifecycle.ts';
import { type CellRecord, InstanceMappingMessage, instanceMappingKey } from '../../cells/mapping.ts';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { encode } from '../../core/codec/envelope.ts';
import type { Coordinator } from '../../core/ports/coordinator.ts';
import type { Store } from '../../core/ports/store.ts';
import { servicesDown, servicesUp } from '../../deploy/services.ts';
import { LatencyRecorder, type LatencySummary, perSecond } from './cells-latency.ts';
import { onceStopped, parsePositive, pool } from './cells-process.ts';

const PREFIX = 'benchmap';
/** Timed rounds; each maps a slice of the instances with every variant in turn. */
const ROUNDS = 5;
export const MAPPING_VARIANTS = ['etcd', 'redis', 'redis fsync always', 'redis, own reads'] as const;
export type MappingVariant = (typeof MAPPING_VARIANTS)[number];

export interface MappingsVariantResult {
  readonly variant: MappingVariant;
  readonly mappingsPerS: number;
  readonly latency: LatencySummary;
  /** etcd requests (get, cas) and Redis requests (commit, get) per timed mapping. */
  readonly etcdPerMapping: number;
  readonly redisPerMapping: number;
}

export interface MappingsRunResult {
  readonly mappings: number;
  readonly concurrency: number;
  readonly warmup: number;
  readonly variants: readonly MappingsVariantResult[];
  readonly where: string;
}

/** Counts the calls a proxy passes on (the requests each mapping costs a server). */
function counting<T extends object>(inner: T, methods: readonly string[]): { proxy: T; calls: () => number } {
  let calls = 0;
  const proxy = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (!methods.includes(String(prop))) return value.bind(target);
      return (...args: unknown[]) => {
        calls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { proxy, calls: () => calls };
}

/** The former write of one instance mapping into etcd (memberships.ts before the move). */
async function etcdMap(coord: Coordinator, uuid: string, cellUuid: string): Promise<void> {
  const cell = await acceptingCell(coord, cellUuid, 'instance');
  const mapping = { instanceUuid: uuid, cellUuid, projectId: 'bench', mappedAt: Date.now() };
  const res = await coord.cas(instanceMappingKey(uuid), encode(InstanceMappingMessage, mapping), 0);
  if (!res.ok) throw new Error(`etcd: ${uuid} was mapped already`);
  const refusal = recheckRefusal(cell, await cellNow(coord, cellUuid), 'instance');
  if (refusal) throw refusal;
}

interface Setup {
  readonly coord: Coordinator;
  readonly store: Store;
  readonly redisPort: string;
  readonly cell: CellRecord;
}

/** A variant being measured: its mapper, its request counters and what its timed slices added up to. */
interface Running {
  readonly variant: MappingVariant;
  readonly mapOne: (k: number) => Promise<void>;
  readonly check: (k: number) => Promise<void>;
  readonly etcdCalls: () => number;
  readonly redisCalls: () => number;
  readonly latency: LatencyRecorder;
  ms: number;
  etcd0: number;
  redis0: number;
}

function prepare(s: Setup, variant: MappingVariant, index: number): Running {
  const etcd = counting(s.coord, ['get', 'cas', 'put', 'delete', 'list']);
  const redis = counting(s.store, ['commit', 'get', 'getMany', 'count', 'list']);
  const reads: CellReader | undefined =
    variant === 'redis, own reads' ? directCellReader(etcd.proxy) : undefined;
  const mappings = new InstanceMappings({
    store: redis.proxy,
    coordinator: etcd.proxy,
    clock: systemClock,
    ...(reads ? { cellReads: reads } : {}),
  });
  const uuid = (k: number) =>
    `00000000-0000-4000-8${String(index).padStart(3, '0')}-${String(k).padStart(12, '0')}`;
  return {
    variant,
    async mapOne(k) {
      if (variant === 'etcd') return etcdMap(etcd.proxy, uuid(k), s.cell.uuid);
      const m = await mappings.map(uuid(k), s.cell.uuid, 'bench');
      if (m.cellUuid !== s.cell.uuid) throw new Error(`${variant}: ${uuid(k)} mapped to ${m.cellUuid}`);
    },
    // The mapping is there (etcd: the legacy key; Redis: the mapping, via the store's get).
    async check(k) {
      const there =
        variant === 'etcd' ? await s.coord.get(instanceMappingKey(uuid(k))) : await mappings.get(uuid(k));
      if (!there) throw new Error(`${variant}: mapping ${uuid(k)} is missing`);
    },
    etcdCalls: etcd.calls,
    redisCalls: redis.calls,
    latency: new LatencyRecorder(),
    ms: 0,
    etcd0: 0,
    redis0: 0,
  };
}

/** Maps instances `from`…`from + count - 1` with `concurrency` in flight; `timed` adds them up. */
async function slice(s: Setup, r: Running, from: number, count: number, concurrency: number, timed: boolean) {
  const fsync = r.variant === 'redis fsync always' ? 'always' : 'everysec';
  execFileSync('redis-cli', ['-p', s.redisPort, 'config', 'set', 'appendfsync', fsync]);
  const ks = Array.from({ length: count }, (_, i) => from + i);
  const t0 = performance.now();
  await pool(ks, concurrency, async (k) => {
    const t = performance.now();
    await r.mapOne(k);
    if (timed) r.latency.record(performance.now() - t);
  });
  if (timed) r.ms += performance.now() - t0;
  for (const k of [from, from + count - 1]) await r.check(k);
}

/**
 * Every variant's warmup, then the timed mappings in ROUNDS rounds, each round one slice of every
 * variant in turn: a burst of load from elsewhere on a shared machine falls on all of them alike.
 */
async function measure(s: Setup, n: number, concurrency: number, warmup: number) {
  const running = MAPPING_VARIANTS.map((v, i) => prepare(s, v, i));
  for (const r of running) await slice(s, r, 0, warmup, concurrency, false);
  for (const r of running) [r.etcd0, r.redis0] = [r.etcdCalls(), r.redisCalls()];
  const per = Math.ceil(n / ROUNDS);
  for (let from = 0; from < n; from += per) {
    for (const r of running) await slice(s, r, warmup + from, Math.min(per, n - from), concurrency, true);
  }
  return running.map(
    (r): MappingsVariantResult => ({
      variant: r.variant,
      mappingsPerS: perSecond(n, r.ms),
      latency: r.latency.summary(),
      etcdPerMapping: (r.etcdCalls() - r.etcd0) / n,
      redisPerMapping: (r.redisCalls() - r.redis0) / n,
    }),
  );
}

async function main(): Promise<MappingsRunResult> {
  const [nArg, concurrencyArg, warmupArg] = process.argv.slice(2);
  const n = parsePositive('mappings', nArg);
  const concurrency = parsePositive('concurrency', concurrencyArg);
  const warmup = parsePositive('warmup', warmupArg);
  const dir = mkdtempSync(join(tmpdir(), 'cellplane-bench-map-'));
  const cleanups: Array<() => Promise<void>> = [() => servicesDown(dir, { purge: true })];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };
  onceStopped(cleanup);
  try {
    const state = await servicesUp({ dir, randomPorts: true, log: (l) => console.error(`services: ${l}`) });
    const coord = new EtcdCoordinator({ hosts: state.urls.etcd, prefix: `/${PREFIX}` });
    cleanups.push(() => coord.close());
    const store = await RedisStore.open({ url: state.urls.redis, prefix: `${PREFIX}.api` });
    cleanups.push(() => store.close());
    const registry = new CellRegistry(coord, { clock: systemClock, mappingStore: store });
    const cell = await registry.create({ name: 'cell1', transport: 'cp.cell1', store: state.urls.redis });
    const s: Setup = { coord, store, redisPort: new URL(state.urls.redis).port, cell };
    const variants = await measure(s, n, concurrency, warmup);
    for (const v of variants)
      console.error(`mappings: ${v.variant} at ${concurrency} in flight: ${Math.round(v.mappingsPerS)}/s`);
    return {
      mappings: n,
      concurrency,
      warmup,
      variants,
      where: `one process: etcd ${state.urls.etcd} (one member, 25 ms heartbeat) and redis-server (AOF) on loopback, one client connection each`,
    };
  } finally {
    await cleanup();
  }
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
