/**
 * Child process of the cells suite: boots per second end to end, through the compute API.
 *
 *   node --import tsx bench/suites/cells-boots.ts <embedded|nats> <servers> <concurrency> <spawn-ms>
 *                                                 <cells> <hosts-per-cell>
 *
 * `embedded`: `startEmbedded` (every role in this process on the memory adapters), requests by
 * `app.inject` (no sockets); a server counts as settled when its cell's conductor reports it
 * `active` or `error` (exact). `nats`: role processes on nats-server, etcd and redis-server
 * started for this run (cells-cluster.ts); requests over HTTP (fetch, keep-alive) to the API
 * process; settled = `GET /servers/detail?status=BUILD&limit=1` answers no server (polled every
 * SETTLE_POLL_MS, so settle times are late by up to that much).
 *
 * Both: quotas lifted for the project, WARMUP servers booted and settled untimed (first
 * capacity reports, JIT), then `servers` POST /v2.1/servers with flavors m1.tiny/m1.small/
 * m1.medium in turn, `concurrency` in flight, timed from the first POST. Every POST must answer
 * 202; at the end every server is listed and must be ACTIVE or ERROR. Prints one JSON line
 * (BootResult).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConductorEvent } from '../../cells/conductor/ports.ts';
import { startEmbedded } from '../../deploy/embedded.ts';
import { type Api, startNatsCluster } from './cells-cluster.ts';
import { HOST_SHAPE } from './cells-fleet.ts';
import { type BootResult, LatencyRecorder, perSecond } from './cells-latency.ts';
import { onceStopped, parseMode, parsePositive, parseRange, pool } from './cells-process.ts';

/** Booted and settled before the timed phase. */
const WARMUP = 32;
const FLAVORS = ['1', '2', '3'] as const;
const SETTLE_POLL_MS = 100;
/** Longest wait for the servers to settle once all were accepted. */
const SETTLE_TIMEOUT_MS = 900_000;
const LIST_PAGE = 1000;
/** Distinct fault messages kept (cut to FAULT_CHARS). */
const MAX_FAULTS = 5;
const FAULT_CHARS = 80;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Lifts the project's quotas (noauth's project is `admin`). */
async function liftQuotas(api: Api): Promise<void> {
  const r = await api.call('PUT', '/os-quota-sets/admin', {
    quota_set: { instances: -1, cores: -1, ram: -1 },
  });
  if (r.status !== 200) throw new Error(`lifting quotas: ${r.status} ${JSON.stringify(r.body)}`);
}

interface Listed {
  id: string;
  status: string;
  fault?: { message?: string };
}

async function listAll(api: Api, query = ''): Promise<Listed[]> {
  const out: Listed[] = [];
  let marker: string | undefined;
  for (;;) {
    const r = await api.call(
      'GET',
      `/servers/detail?limit=${LIST_PAGE}${query}${marker ? `&marker=${marker}` : ''}`,
    );
    if (r.status !== 200) throw new Error(`list: ${r.status} ${JSON.stringify(r.body)}`);
    const page = (r.body as { servers: Listed[]; servers_links?: unknown }).servers;
    out.push(...page);
    if (!(r.body as { servers_links?: unknown }).servers_links || page.length === 0) return out;
    marker = page.at(-1)!.id;
  }
}

/** POSTs `count` servers, `concurrency` at a time; returns the ids (all must be accepted). */
async function bootMany(api: Api, count: number, concurrency: number, tag: string, rec?: LatencyRecorder) {
  const ids: string[] = [];
  const indices = Array.from({ length: count }, (_, i) => i);
  await pool(indices, concurrency, async (i) => {
    const t = performance.now();
    const r = await api.call('POST', '/servers', {
      server: {
        name: `${tag}-${String(i).padStart(5, '0')}`,
        imageRef: 'cirros',
        flavorRef: FLAVORS[i % FLAVORS.length],
        networks: 'none',
      },
    });
    rec?.record(performance.now() - t);
    if (r.status !== 202) throw new Error(`POST /servers #${i}: ${r.status} ${JSON.stringify(r.body)}`);
    const id = (r.body as { server: { id: string } }).server.id;
    ids.push(id);
  });
  return ids;
}

async function run(): Promise<BootResult> {
  const args = process.argv.slice(2);
  const mode = parseMode(args[0]);
  const servers = parsePositive('servers', args[1]);
  const concurrency = parsePositive('concurrency', args[2]);
  const spawn = parseRange('spawn-ms', args[3]);
  const cells = parsePositive('cells', args[4]);
  const hostsPerCell = parsePositive('hosts-per-cell', args[5]);
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };
  onceStopped(cleanup);
  try {
    const t0 = performance.now();
    const api =
      mode === 'embedded'
        ? await embeddedApi(cells, hostsPerCell, spawn, cleanups)
        : await startNatsCluster({
            dir: mkdtempSync(join(tmpdir(), 'cellplane-bench-')),
            cells,
            hostsPerCell,
            spawnMs: args[3]!,
            cleanups,
            pollMs: SETTLE_POLL_MS,
          });
    await liftQuotas(api);
    await api.settled(await bootMany(api, WARMUP, concurrency, 'warm'), SETTLE_TIMEOUT_MS);
    const startMs = performance.now() - t0;
    console.error(`cells-boots ${mode}: up and warmed in ${Math.round(startMs)} ms; booting ${servers}`);

    const post = new LatencyRecorder();
    const tBoot = performance.now();
    const ids = await bootMany(api, servers, concurrency, 'vm', post);
    const acceptMs = performance.now() - tBoot;
    await api.settled(ids, SETTLE_TIMEOUT_MS);
    const settleMs = performance.now() - tBoot;

    const all = await listAll(api);
    const mine = new Set(ids);
    const listed = all.filter((s) => mine.has(s.id));
    if (listed.length !== servers) throw new Error(`listed ${listed.length} of the ${servers} servers`);
    const notDone = listed.filter((s) => s.status !== 'ACTIVE' && s.status !== 'ERROR');
    if (notDone.length > 0) throw new Error(`${notDone.length} servers neither ACTIVE nor ERROR`);
    const errors = listed.filter((s) => s.status === 'ERROR');
    const faults = [...new Set(errors.map((e) => (e.fault?.message ?? '?').slice(0, FAULT_CHARS)))];
    return {
      mode,
      cells,
      hostsPerCell,
      servers,
      concurrency,
      spawnMs: `${spawn.minMs}-${spawn.maxMs}`,
      acceptMs,
      settleMs,
      acceptedPerS: perSecond(servers, acceptMs),
      settledPerS: perSecond(servers, settleMs),
      active: servers - errors.length,
      errors: errors.length,
      faults: faults.slice(0, MAX_FAULTS),
      post: post.summary(),
      settledBy: api.settledBy,
      startMs,
      where: api.where,
    };
  } finally {
    await cleanup();
  }
}

async function embeddedApi(
  cells: number,
  hostsPerCell: number,
  spawn: { minMs: number; maxMs: number },
  cleanups: Array<() => Promise<void>>,
): Promise<Api> {
  const done = new Set<string>();
  const onConductorEvent = (_cell: string, e: ConductorEvent) => {
    if (e.type === 'active' || e.type === 'error') done.add(e.uuid);
  };
  const e = await startEmbedded({
    cells,
    hostsPerCell,
    host: { ...HOST_SHAPE, allocationRatios: { ...HOST_SHAPE.allocationRatios } },
    driver: { latency: { spawn } },
    onConductorEvent,
  });
  cleanups.push(() => e.stop());
  const deadline = Date.now() + 120_000;
  while (![...e.roles.values()].every((r) => r.registrar?.hosts().length === hostsPerCell)) {
    if (Date.now() > deadline) throw new Error('the embedded hosts did not all register within 120 s');
    await sleep(50);
  }
  await sleep(2_500); // the shards' first capacity reports (every 2 s) reach the cell router
  const headers = { 'content-type': 'application/json', 'openstack-api-version': 'compute 2.79' };
  return {
    where: `one process: startEmbedded (memory bus/coordinator/store), app.inject`,
    settledBy: 'conductor events (active/error), exact',
    async call(method, path, body) {
      const r = await e.app.inject({
        method: method as 'GET',
        url: `/v2.1${path}`,
        headers,
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
    },
    async settled(ids, withinMs) {
      const end = Date.now() + withinMs;
      let i = 0; // ids before i are settled (amortised: each id is checked until it is)
      for (;;) {
        while (i < ids.length && done.has(ids[i]!)) i++;
        if (i === ids.length) return;
        if (Date.now() > end) throw new Error(`${ids.length - i} servers not settled within ${withinMs} ms`);
        await sleep(2);
      }
    },
  };
}

run().then(
  (r) => {
    console.log(JSON.stringify(r));
    process.exit(0);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
