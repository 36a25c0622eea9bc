/**
 * Measures the REAL OpenStack Placement (Debian's placement-api 8.0, noauth2) on a bench fleet, on
 * MariaDB (as production Placement runs on MySQL) or sqlite, in its own process so the synchronous
 * bench harness can call it with execFileSync:
 *
 *   node --import tsx bench/placement/real-placement.ts ROOTS flat|nested SEED MAX_REQUESTS MAX_SECONDS [mysql|sqlite]
 *
 * In a temp dir it starts a private mariadbd (database `placement`, 127.0.0.1 on a free port;
 * needs mariadb-server and python3-pymysql) or uses a sqlite file, runs `placement-manage db
 * sync`, starts placement-api on a free port, lets it sync the standard classes and traits,
 * creates the custom traits through the API, bulk-loads the fleet with SQL (load_fleet.py),
 * checks a few providers and one answer against our engine, then times GET
 * /allocation_candidates one request at a time with the suite's client (http-client.ts), at most
 * MAX_REQUESTS, stopping after MAX_SECONDS. Prints one JSON line, with the database, the load time
 * and the servers' peak RSS (VmHWM). The servers (SIGTERM, SIGKILL after a grace) and the temp
 * dir are removed on exit, error or signal; both servers also get SIGTERM if this process dies
 * without cleaning up (setpriv --pdeathsig).
 */
import { type ChildProcess, execFileSync, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocationCandidates } from '../../core/placement/candidates.ts';
import { unwrap } from '../../core/placement/operations.ts';
import { percentile } from '../lib/stats.ts';
import { CUSTOM_TRAITS, loadState, makeFleet } from './fleet.ts';
import { BenchClient } from './http-client.ts';
import { queryFor, queryString } from './queries.ts';

const USAGE =
  'usage: real-placement.ts ROOTS flat|nested SEED MAX_REQUESTS MAX_SECONDS [mysql|sqlite] (default mysql)';
const START_DEADLINE_MS = 60_000;
const STOP_GRACE_MS = 3_000;
const POLL_MS = 200;
/** mariadbd's InnoDB cache: the 150,000-provider fleet's tables and indexes fit with room to spare. */
const INNODB_BUFFER_POOL = '1G';
const PYTHON = '/usr/bin/python3';
const MARIADBD = '/usr/sbin/mariadbd';
const MARIADB_INSTALL_DB = '/usr/bin/mariadb-install-db';
const MARIADB_CLIENT = '/usr/bin/mariadb';
const SETPRIV = '/usr/bin/setpriv';
const NO_MARIADB = 'mariadb-server is not installed: apt-get install -y mariadb-server (or pass sqlite)';
const NO_PYMYSQL = 'python3-pymysql is not installed: apt-get install -y python3-pymysql (or pass sqlite)';
const HEADERS = {
  'X-Auth-Token': 'admin',
  'OpenStack-API-Version': 'placement 1.39',
  Accept: 'application/json',
};

type Db = 'mysql' | 'sqlite';
/** Started servers, stopped in reverse order (placement-api before its database). */
const children: ChildProcess[] = [];
let dir: string | undefined;
let stopping: Promise<void> | undefined;
const client = new BenchClient(HEADERS);

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

async function stop(c: ChildProcess): Promise<void> {
  if (!running(c)) return;
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  c.kill('SIGTERM');
  const grace = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), STOP_GRACE_MS).unref());
  if ((await Promise.race([exited, grace])) === 'late' && running(c)) {
    c.kill('SIGKILL');
    await exited;
  }
}

function cleanup(): Promise<void> {
  stopping ??= (async () => {
    client.close();
    for (const c of [...children].reverse()) await stop(c);
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  })();
  return stopping;
}
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.on(sig, () => void cleanup().finally(() => process.exit(1)));

/** Spawns a server that gets SIGTERM if this process dies before it could stop it. */
function spawnServer(cmd: string, args: readonly string[], opts: SpawnOptions): ChildProcess {
  const c = existsSync(SETPRIV)
    ? spawn(SETPRIV, ['--pdeathsig', 'TERM', cmd, ...args], opts)
    : spawn(cmd, args, opts);
  children.push(c);
  return c;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Peak resident set (VmHWM) of a live process, in MiB; null once it is gone. */
function peakRssMiB(c: ChildProcess | undefined): number | null {
  if (!c?.pid) return null;
  try {
    const line = readFileSync(`/proc/${c.pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
    return line ? Math.round(Number(line[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** Root may run mariadbd only with --user=root; anyone else runs it as themselves. */
const asRoot = () => (process.getuid?.() === 0 ? ['--user=root'] : []);

/** A private mariadbd in DIR/mysql on 127.0.0.1:PORT with an empty `placement` database. */
async function startMariadb(home: string): Promise<{ port: number; server: ChildProcess }> {
  if (![MARIADBD, MARIADB_INSTALL_DB, MARIADB_CLIENT].every((f) => existsSync(f)))
    throw new Error(NO_MARIADB);
  if (spawnSync(PYTHON, ['-c', 'import pymysql']).status !== 0) throw new Error(NO_PYMYSQL);
  const data = join(home, 'mysql');
  const socket = join(home, 'mysql.sock');
  const errLog = join(home, 'mariadb.err');
  const install = ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal'];
  execFileSync(MARIADB_INSTALL_DB, [...install, '--skip-test-db', ...asRoot()], { stdio: 'ignore' });
  const port = await freePort();
  const server = spawnServer(
    MARIADBD,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--skip-log-bin',
      `--innodb-buffer-pool-size=${INNODB_BUFFER_POOL}`,
      // A throwaway bench database: no fsync per commit (only the bulk load writes).
      '--innodb-flush-log-at-trx-commit=2',
      `--pid-file=${join(home, 'mariadb.pid')}`,
      `--log-error=${errLog}`,
      ...asRoot(),
    ],
    { stdio: 'ignore' },
  );
  const sql = [
    '--no-defaults',
    '-uroot',
    `--socket=${socket}`,
    '-e',
    'CREATE DATABASE IF NOT EXISTS placement',
  ];
  const until = Date.now() + START_DEADLINE_MS;
  while (spawnSync(MARIADB_CLIENT, sql, { stdio: 'ignore' }).status !== 0) {
    if (Date.now() > until || !running(server)) {
      const log = existsSync(errLog) ? readFileSync(errLog, 'utf8').trim().split('\n').slice(-5) : [];
      throw new Error(`mariadbd did not start (log ${errLog}): ${log.join(' | ')}`);
    }
    await sleep(POLL_MS);
  }
  return { port, server };
}

interface Started {
  readonly base: string;
  readonly api: ChildProcess;
  readonly db?: ChildProcess;
  /** load_fleet.py's database arguments. */
  readonly loaderArgs: readonly string[];
}

async function startPlacement(db: Db): Promise<Started> {
  const home = mkdtempSync(join(tmpdir(), 'bench-placement-'));
  dir = home;
  let connection = `sqlite:///${home}/p.sqlite`;
  let loaderArgs = ['sqlite', join(home, 'p.sqlite')];
  let dbServer: ChildProcess | undefined;
  if (db === 'mysql') {
    const { port, server } = await startMariadb(home);
    dbServer = server;
    connection = `mysql+pymysql://root@127.0.0.1:${port}/placement?charset=utf8mb4`;
    loaderArgs = ['mysql', '127.0.0.1', String(port), 'placement'];
  }
  const conf = `[api]\nauth_strategy = noauth2\n[placement_database]\nconnection = ${connection}\n`;
  writeFileSync(join(home, 'placement.conf'), conf);
  const env = { ...process.env, OS_PLACEMENT_CONFIG_DIR: home };
  execFileSync('placement-manage', ['--config-file', join(home, 'placement.conf'), 'db', 'sync'], {
    env,
    stdio: 'ignore',
  });
  const port = await freePort();
  const api = spawnServer(PYTHON, ['/usr/bin/placement-api', '--host', '127.0.0.1', '--port', String(port)], {
    env,
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${port}`;
  const until = Date.now() + START_DEADLINE_MS;
  for (;;) {
    try {
      if ((await client.send(`${base}/`)).status === 200)
        return { base, api, loaderArgs, ...(dbServer ? { db: dbServer } : {}) };
    } catch {}
    if (Date.now() > until || !running(api)) throw new Error('placement-api did not start');
    await sleep(POLL_MS);
  }
}

function parseArgs(argv: readonly string[]) {
  const [rootsArg, kind, seed, maxReqArg, maxSecArg, dbArg = 'mysql'] = argv;
  const nums = [rootsArg, maxReqArg, maxSecArg].map(Number);
  if (
    !seed ||
    !['flat', 'nested'].includes(kind!) ||
    !nums.every((n) => n > 0) ||
    !['mysql', 'sqlite'].includes(dbArg)
  )
    throw new Error(USAGE);
  const [roots, maxRequests, maxSeconds] = nums as [number, number, number];
  return { roots, nested: kind === 'nested', seed, maxRequests, maxSeconds, db: dbArg as Db };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const fleet = makeFleet(args.roots, args.nested, args.seed);
  const started = await startPlacement(args.db);
  const { base } = started;
  for (const t of CUSTOM_TRAITS) {
    const { status } = await client.send(`${base}/traits/${t}`, 'PUT');
    if (status !== 201 && status !== 204) throw new Error(`PUT /traits/${t}: ${status}`);
  }
  const loadStart = performance.now();
  writeFileSync(join(dir!, 'fleet.json'), JSON.stringify(fleet));
  const loader = new URL('./load_fleet.py', import.meta.url).pathname;
  execFileSync(PYTHON, [loader, ...started.loaderArgs, join(dir!, 'fleet.json')], { stdio: 'inherit' });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  await verifyProviders(base, fleet);
  const query = queryFor(fleet.nested);
  const url = `${base}/allocation_candidates?${queryString(query)}`;
  const ours = unwrap(allocationCandidates(loadState(fleet), query.group, { limit: query.limit }));
  const firstStart = performance.now();
  const firstRes = await client.send(url);
  const firstMs = performance.now() - firstStart;
  const body = firstRes.body.toString();
  // The suite's table quotes this message up to the `: {` of the body.
  if (firstRes.status !== 200)
    throw new Error(`Placement answered ${firstRes.status}: ${body.slice(0, 300)}`);
  const first = JSON.parse(body) as { allocation_requests: unknown[] };
  if (first.allocation_requests.length !== ours.allocationRequests.length)
    throw new Error(
      `Placement gave ${first.allocation_requests.length} candidates, we give ${ours.allocationRequests.length}`,
    );
  const times: number[] = [];
  const until = performance.now() + args.maxSeconds * 1000;
  while (times.length < args.maxRequests && performance.now() < until) {
    const t0 = performance.now();
    await client.get(url);
    times.push(performance.now() - t0);
  }
  const total = times.reduce((a, b) => a + b, 0);
  const out = {
    db: args.db,
    requests: times.length,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    qps: (times.length * 1000) / total,
    candidates: first.allocation_requests.length,
    providers: fleet.providers.length,
    loadSeconds,
    /** The checked first answer (not a sample: it may warm caches). */
    firstMs,
    apiPeakRssMiB: peakRssMiB(started.api),
    dbPeakRssMiB: peakRssMiB(started.db),
  };
  console.log(JSON.stringify(out));
}

/** A few providers read back through the API: inventories and traits as loaded. */
async function verifyProviders(base: string, fleet: ReturnType<typeof makeFleet>): Promise<void> {
  const n = fleet.providers.length;
  for (const p of [fleet.providers[0]!, fleet.providers[Math.floor(n / 2)]!, fleet.providers[n - 1]!]) {
    const read = async (what: string) =>
      JSON.parse((await client.get(`${base}/resource_providers/${p.uuid}/${what}`)).toString()) as unknown;
    const inv = (await read('inventories')) as { inventories: Record<string, { total: number }> };
    const traits = (await read('traits')) as { traits: string[] };
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
