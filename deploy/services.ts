/**
 * Starts, checks and stops the real servers cellplane runs on — nats-server (with
 * JetStream), etcd and redis-server — on 127.0.0.1, with all data under one directory.
 * Installs Debian's packages when a binary is missing (as root, without letting the
 * distro start its own services). Stops exactly the processes it started, recorded in
 * `<dir>/services.json`. With `ha`, NATS and etcd run as three-member clusters
 * (services-ha.ts); Redis is one server either way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkPorts,
  DEFAULT_HA_BASE_PORTS,
  type HaLayout,
  haUnits,
  haUrls,
  layoutFromBases,
  layoutFromFreePorts,
  natsClusterFormed,
  withBases,
} from './services-ha.ts';
import {
  ensureInstalled,
  findBinary,
  SERVICE_NAMES,
  type ServiceName,
  type Unit,
} from './services-install.ts';
import { freePorts, freeStablePorts, portReleased, portTaken } from './services-ports.ts';

export {
  aptInstall,
  ensureInstalled,
  ensureOpenStackTools,
  findBinary,
  OPENSTACK_TOOLS,
  SERVICE_NAMES,
  type ServiceName,
  type Unit,
} from './services-install.ts';
export { freePorts } from './services-ports.ts';

export interface ServicePorts {
  nats: number;
  etcd: number;
  etcdPeer: number;
  redis: number;
  /** With --ha: the first NATS node's cluster (route) port; node i uses it + i. */
  natsCluster?: number;
  /** With --ha: the first NATS node's monitoring port; node i uses it + i. */
  natsMonitor?: number;
}

export interface ServicesState {
  dir: string;
  /** The ports (with --ha: of each cluster's first member). */
  ports: ServicePorts;
  /** The process of each unit: `nats`, `etcd`, `redis`; with --ha `nats1`…`nats3`, `etcd1`…`etcd3`, `redis`. */
  pids: Partial<Record<string, number>>;
  /** Client URLs; with --ha those of NATS and etcd list every member, comma-separated. */
  urls: { nats: string; etcd: string; redis: string };
  /** With --ha: where each member of the NATS and etcd clusters listens. */
  ha?: HaLayout;
}

export const DEFAULT_PORTS: ServicePorts = { nats: 14222, etcd: 12379, etcdPeer: 12380, redis: 16379 };

/**
 * How Redis keeps its data. `everysec` (the default): an append-only file written before each
 * reply and fsynced every second — a Redis restart loses nothing, a crash of the machine up to
 * about a second of writes. `always`: fsynced before each reply — nothing lost even then, every
 * write waits for the disk. `off`: memory only — a Redis restart loses every record (the roles
 * notice, say so and rebuild what they can; instance records are gone for good).
 */
export type RedisPersistence = 'everysec' | 'always' | 'off';
export const REDIS_PERSISTENCE: readonly RedisPersistence[] = ['everysec', 'always', 'off'];
export const DEFAULT_REDIS_PERSISTENCE: RedisPersistence = 'everysec';
export const defaultServicesDir = (): string =>
  process.env.CELLPLANE_SERVICES_DIR ?? join(tmpdir(), 'cellplane-services');

type Log = (line: string) => void;

function urlsFor(ports: ServicePorts): ServicesState['urls'] {
  return {
    nats: `nats://127.0.0.1:${ports.nats}`,
    etcd: `http://127.0.0.1:${ports.etcd}`,
    redis: `redis://127.0.0.1:${ports.redis}`,
  };
}

function launch(dir: string, unit: Unit): ChildProcess {
  const bin = findBinary(unit.service);
  if (!bin)
    throw new Error(`${unit.service} is not installed (run "cellplane services up" as root to install it)`);
  const out = openSync(join(dir, `${unit.key}.log`), 'a');
  const child = spawn(bin, unit.args(), { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  return child;
}

export function argsFor(
  dir: string,
  name: ServiceName,
  ports: ServicePorts,
  opts: { redisPersistence?: RedisPersistence } = {},
): string[] {
  switch (name) {
    case 'nats': {
      const conf = join(dir, 'nats.conf');
      // JetStream's default limits scale to the host; cap them so tests cannot fill a disk.
      writeFileSync(
        conf,
        [
          `listen: "127.0.0.1:${ports.nats}"`,
          'max_payload: 8MB',
          `jetstream { store_dir: "${join(dir, 'nats')}", max_memory_store: 512MB, max_file_store: 4GB }`,
          '',
        ].join('\n'),
      );
      return ['-c', conf];
    }
    case 'etcd': {
      const peer = `http://127.0.0.1:${ports.etcdPeer}`;
      const client = `http://127.0.0.1:${ports.etcd}`;
      // Short heartbeat/election timing: starts in ~0.1 s and allows 1 s leases.
      return [
        '--name',
        'default',
        '--data-dir',
        join(dir, 'etcd'),
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        `default=${peer}`,
        '--heartbeat-interval',
        '25',
        '--election-timeout',
        '250',
        '--log-level',
        'warn',
      ];
    }
    case 'redis': {
      // No RDB snapshots: the append-only file (RedisPersistence) is the durability.
      const mode = opts.redisPersistence ?? DEFAULT_REDIS_PERSISTENCE;
      const aof = mode === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', mode];
      return ['--port', String(ports.redis), '--bind', '127.0.0.1', '--save', '', ...aof, '--dir', dir];
    }
  }
}

/** Resolves true when `name` answers on its port. */
export async function isReady(name: ServiceName, ports: ServicePorts): Promise<boolean> {
  switch (name) {
    case 'nats':
      return probe(ports.nats, undefined, (s) => s.startsWith('INFO'));
    case 'redis':
      return probe(ports.redis, 'PING\r\n', (s) => s.startsWith('+PONG'));
    case 'etcd':
      try {
        const res = await fetch(`http://127.0.0.1:${ports.etcd}/health`, {
          signal: AbortSignal.timeout(1000),
        });
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      } catch {
        return false;
      }
  }
}

function probe(port: number, send: string | undefined, ok: (s: string) => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    const done = (v: boolean) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => send && sock.write(send));
    sock.once('data', (d) => done(ok(d.toString())));
  });
}

/** Whether process `pid` runs: an exited one its parent has not reaped yet (a zombie) does not. */
export function isRunning(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

export function readState(dir: string): ServicesState | undefined {
  const file = join(dir, 'services.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ServicesState;
}

export interface UpOptions {
  dir?: string;
  ports?: Partial<ServicePorts>;
  /** Pick free ports instead of the defaults (for tests that must coexist). */
  randomPorts?: boolean;
  /** Default DEFAULT_REDIS_PERSISTENCE (append-only file, fsynced every second). */
  redisPersistence?: RedisPersistence;
  /** NATS (JetStream) and etcd as three-member clusters on loopback (services-ha.ts). */
  ha?: boolean;
  timeoutMs?: number;
  log?: Log;
}

/** Where a new directory's services listen. */
async function choosePorts(opts: UpOptions): Promise<{ ports: ServicePorts; ha?: HaLayout }> {
  if (!opts.ha) {
    if (!opts.randomPorts) return { ports: { ...DEFAULT_PORTS, ...opts.ports } };
    const [nats, etcd, etcdPeer, redis] = (await freePorts(4)) as [number, number, number, number];
    return { ports: { nats, etcd, etcdPeer, redis, ...opts.ports } };
  }
  const { redis: givenRedis, ...given } = opts.ports ?? {};
  let ha: HaLayout;
  let redis: number;
  if (opts.randomPorts) {
    const free = await freeStablePorts(16);
    ha = withBases(layoutFromFreePorts(free), given);
    redis = givenRedis ?? free[15]!;
  } else {
    ha = layoutFromBases({ ...DEFAULT_HA_BASE_PORTS, ...given });
    redis = givenRedis ?? DEFAULT_PORTS.redis;
  }
  checkPorts(ha, { redis });
  const [n, e] = [ha.nats[0]!, ha.etcd[0]!];
  const ports = {
    nats: n.client,
    natsCluster: n.cluster,
    natsMonitor: n.monitor,
    etcd: e.client,
    etcdPeer: e.peer,
    redis,
  };
  return { ports, ha };
}

/** The processes of a directory, in start order. */
export function unitsOf(state: ServicesState, opts: Pick<UpOptions, 'redisPersistence'> = {}): Unit[] {
  const { dir, ports } = state;
  const single: Unit[] = SERVICE_NAMES.map((name) => ({
    key: name,
    service: name,
    url: urlsFor(ports)[name],
    ports: name === 'etcd' ? [ports.etcd, ports.etcdPeer] : [ports[name]],
    args: () =>
      argsFor(dir, name, ports, { redisPersistence: opts.redisPersistence ?? DEFAULT_REDIS_PERSISTENCE }),
    ready: () => isReady(name, ports),
  }));
  return state.ha ? [...haUnits(dir, state.ha), ...single.filter((u) => u.service === 'redis')] : single;
}

/** Starts whatever is not already running for `dir`; returns the URLs. Idempotent. */
export async function servicesUp(opts: UpOptions = {}): Promise<ServicesState> {
  const log = opts.log ?? (() => {});
  const dir = opts.dir ?? defaultServicesDir();
  mkdirSync(dir, { recursive: true });
  ensureInstalled(log);
  const prev = readState(dir);
  if (prev && !!prev.ha !== !!opts.ha)
    throw new Error(
      `${dir} holds ${prev.ha ? 'clustered (--ha)' : 'single-server'} services: stop them first ("cellplane services down --dir ${dir}") or use another --dir`,
    );
  const chosen = prev ? { ports: prev.ports, ha: prev.ha } : await choosePorts(opts);
  const { ports, ha } = chosen;
  const urls = ha ? { ...haUrls(ha), redis: urlsFor(ports).redis } : urlsFor(ports);
  const state: ServicesState = { dir, ports, pids: { ...prev?.pids }, urls, ...(ha ? { ha } : {}) };
  const units = unitsOf(state, opts);
  // Check every port before starting anything, so a conflict leaves nothing half-started. A unit
  // whose recorded process lives is this directory's (an etcd member without quorum does not
  // answer, yet is ours).
  const toStart: Unit[] = [];
  for (const unit of units) {
    if (isRunning(state.pids[unit.key])) continue;
    const ranBefore = state.pids[unit.key] !== undefined;
    for (const p of unit.ports) {
      if ((await portTaken(p)) && !(ranBefore && (await portReleased(p))))
        throw new Error(
          `port of ${unit.key} (${p}) is taken by a process this directory did not start; choose other ports`,
        );
    }
    toStart.push(unit);
  }
  const stateFile = join(dir, 'services.json');
  for (const unit of toStart) {
    const child = launch(dir, unit);
    state.pids[unit.key] = child.pid;
    writeFileSync(stateFile, JSON.stringify(state, null, 2));
    log(`started ${unit.key} (pid ${child.pid})`);
  }
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  const waitFor = async (
    what: string,
    logName: string,
    pid: number | undefined,
    ok: () => Promise<boolean>,
  ) => {
    while (!(await ok())) {
      if (pid !== undefined && !isRunning(pid))
        throw new Error(`${what} exited during start-up; see ${join(dir, `${logName}.log`)}`);
      if (Date.now() > deadline)
        throw new Error(`${what} not ready in time; see ${join(dir, `${logName}.log`)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  for (const unit of units) {
    await waitFor(unit.key, unit.key, state.pids[unit.key], () => unit.ready());
    log(`${unit.key} ready at ${unit.url}`);
  }
  if (ha) {
    await waitFor('the NATS cluster', ha.nats[0]!.unit, undefined, () => natsClusterFormed(ha));
    log(`NATS cluster formed: JetStream on ${ha.nats.length} nodes`);
  }
  return state;
}

/** How long a stopped server may take to exit before it is killed. */
const STOP_GRACE_MS = 5_000;

/** Stops the processes recorded for `dir` (SIGTERM, then SIGKILL) and optionally deletes their data. */
export async function servicesDown(
  dir = defaultServicesDir(),
  opts: { purge?: boolean; log?: Log } = {},
): Promise<void> {
  const state = readState(dir);
  const running = Object.entries(state?.pids ?? {}).filter(([, pid]) => isRunning(pid)) as Array<
    [string, number]
  >;
  const stop = async (group: Array<[string, number]>) => {
    for (const [, pid] of group) process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (group.some(([, pid]) => isRunning(pid)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    for (const [key, pid] of group) {
      if (isRunning(pid)) process.kill(pid, 'SIGKILL');
      opts.log?.(`stopped ${key} (pid ${pid})`);
    }
  };
  // etcd members one at a time: a leader told to stop first hands its leadership to a live
  // member, which takes seconds when the others are stopping at the same moment.
  const isEtcd = (key: string) => /^etcd\d*$/.test(key);
  await stop(running.filter(([key]) => !isEtcd(key)));
  for (const member of running.filter(([key]) => isEtcd(key))) await stop([member]);
  if (opts.purge) rmSync(dir, { recursive: true, force: true });
  else if (state) rmSync(join(dir, 'services.json'), { force: true });
}

export interface ServiceStatus {
  /** The unit: `nats`, `etcd`, `redis`, or with --ha `nats1`…`etcd3`. */
  name: string;
  service: ServiceName;
  pid?: number;
  running: boolean;
  ready: boolean;
  url: string;
}

export async function servicesStatus(dir = defaultServicesDir()): Promise<ServiceStatus[]> {
  const state = readState(dir);
  if (!state) return [];
  return Promise.all(
    unitsOf(state).map(async (unit) => {
      const pid = state.pids[unit.key];
      const row: ServiceStatus = {
        name: unit.key,
        service: unit.service,
        running: isRunning(pid),
        ready: await unit.ready(),
        url: unit.url,
      };
      if (pid !== undefined) row.pid = pid;
      return row;
    }),
  );
}
