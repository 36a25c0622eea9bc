/**
 * Measures the REAL OpenStack Placement (Debian's placement-api 8.0, sqlite, noauth2) on a bench
 * fleet, in its own process so the synchronous bench harness can call it with execFileSync:
 *
 *   node --import tsx bench/placement/real-placement.ts ROOTS flat|nested SEED MAX_REQUESTS MAX_SECONDS
 *
 * Starts its own placement-api on a free port in a temp dir, lets it sync the standard classes
 * and traits, creates the custom traits through the API, bulk-loads the fleet with SQL
 * (load_sqlite.py), checks a few providers and one answer against our engine, then times
 * GET /allocation_candidates one request at a time (at most MAX_REQUESTS, stopping after
 * MAX_SECONDS). Prints one JSON line. The server and temp dir are removed on exit, error or signal.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocationCandidates } from '../../core/placement/candidates.ts';
import { unwrap } from '../../core/placement/operations.ts';
import { percentile } from '../lib/stats.ts';
import { CUSTOM_TRAITS, loadState, makeFleet } from './fleet.ts';
import { queryFor, queryString } from './queries.ts';

const START_DEADLINE_MS = 60_000;
const STOP_GRACE_MS = 3_000;
const HEADERS = {
  'X-Auth-Token': 'admin',
  'OpenStack-API-Version': 'placement 1.39',
  Accept: 'application/json',
};

let server: ChildProcess | undefined;
let dir: string | undefined;

function cleanup(): void {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    const pid = server.pid;
    setTimeout(() => pid && server?.exitCode === null && process.kill(pid, 'SIGKILL'), STOP_GRACE_MS).unref();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.on(sig, () => {
    cleanup();
    process.exit(1);
  });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function get(base: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}${path}`, { ...init, headers: { ...HEADERS, ...(init.headers ?? {}) } });
}

async function startPlacement(): Promise<string> {
  dir = mkdtempSync(join(tmpdir(), 'bench-placement-'));
  const conf = `[api]\nauth_strategy = noauth2\n[placement_database]\nconnection = sqlite:///${dir}/p.sqlite\n`;
  writeFileSync(join(dir, 'placement.conf'), conf);
  const env = { ...process.env, OS_PLACEMENT_CONFIG_DIR: dir };
  execFileSync('placement-manage', ['--config-file', join(dir, 'placement.conf'), 'db', 'sync'], {
    env,
    stdio: 'ignore',
  });
  const port = await freePort();
  server = spawn(
    '/usr/bin/python3',
    ['/usr/bin/placement-api', '--host', '127.0.0.1', '--port', String(port)],
    {
      env,
      stdio: 'ignore',
    },
  );
  const base = `http://127.0.0.1:${port}`;
  const until = Date.now() + START_DEADLINE_MS;
  for (;;) {
    try {
      if ((await get(base, '/')).ok) return base;
    } catch {}
    if (Date.now() > until || server.exitCode !== null) throw new Error('placement-api did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const [rootsArg, kind, seed, maxReqArg, maxSecArg] = process.argv.slice(2);
  const fleet = makeFleet(Number(rootsArg), kind === 'nested', seed!);
  const base = await startPlacement();
  for (const t of CUSTOM_TRAITS) await get(base, `/traits/${t}`, { method: 'PUT' });
  const loadStart = performance.now();
  writeFileSync(join(dir!, 'fleet.json'), JSON.stringify(fleet));
  const loader = new URL('./load_sqlite.py', import.meta.url).pathname;
  execFileSync('/usr/bin/python3', [loader, join(dir!, 'p.sqlite'), join(dir!, 'fleet.json')], {
    stdio: 'inherit',
  });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  await verifyProviders(base, fleet);
  const query = queryFor(fleet.nested);
  const path = `/allocation_candidates?${queryString(query)}`;
  const ours = unwrap(allocationCandidates(loadState(fleet), query.group, { limit: query.limit }));
  const firstRes = await get(base, path);
  const body = await firstRes.text();
  if (!firstRes.ok) throw new Error(`Placement answered ${firstRes.status}: ${body.slice(0, 300)}`);
  const first = JSON.parse(body) as { allocation_requests: unknown[] };
  if (first.allocation_requests.length !== ours.allocationRequests.length)
    throw new Error(
      `Placement gave ${first.allocation_requests.length} candidates, we give ${ours.allocationRequests.length}`,
    );
  const times: number[] = [];
  const until = performance.now() + Number(maxSecArg) * 1000;
  while (times.length < Number(maxReqArg) && performance.now() < until) {
    const t0 = performance.now();
    const res = await get(base, path);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
    times.push(performance.now() - t0);
  }
  const total = times.reduce((a, b) => a + b, 0);
  const out = {
    requests: times.length,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    qps: (times.length * 1000) / total,
    candidates: first.allocation_requests.length,
    providers: fleet.providers.length,
    loadSeconds,
  };
  console.log(JSON.stringify(out));
}

/** A few providers read back through the API: inventories and traits as loaded. */
async function verifyProviders(base: string, fleet: ReturnType<typeof makeFleet>): Promise<void> {
  const n = fleet.providers.length;
  for (const p of [fleet.providers[0]!, fleet.providers[Math.floor(n / 2)]!, fleet.providers[n - 1]!]) {
    const inv = (await (await get(base, `/resource_providers/${p.uuid}/inventories`)).json()) as {
      inventories: Record<string, { total: number }>;
    };
    const traits = (await (await get(base, `/resource_providers/${p.uuid}/traits`)).json()) as {
      traits: string[];
    };
    const okInv = p.inventories.every((i) => inv.inventories[i.rc]?.total === i.total);
    const okTraits = [...traits.traits].sort().join() === [...p.traits].sort().join();
    if (!okInv || !okTraits) throw new Error(`provider ${p.name} did not load as generated`);
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(cleanup);
