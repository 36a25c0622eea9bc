/**
 * Starts, checks and stops the real servers cellplane runs on — nats-server (with
 * JetStream), etcd and redis-server — on 127.0.0.1, with all data under one directory.
 * Installs Debian's packages when a binary is missing (as root, without letting the
 * distro start its own services). Stops exactly the processes it started, recorded in
 * `<dir>/services.json`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type ServiceName = 'nats' | 'etcd' | 'redis';
export const SERVICE_NAMES: readonly ServiceName[] = ['nats', 'etcd', 'redis'];

export interface ServicePorts {
  nats: number;
  etcd: number;
  etcdPeer: number;
  redis: number;
}

export interface ServicesState {
  dir: string;
  ports: ServicePorts;
  pids: Partial<Record<ServiceName, number>>;
  urls: { nats: string; etcd: string; redis: string };
}

const BINARIES: Record<ServiceName, { paths: string[]; pkg: string }> = {
  nats: {
    paths: ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'],
    pkg: 'nats-server',
  },
  etcd: { paths: ['/usr/bin/etcd', '/usr/local/bin/etcd'], pkg: 'etcd-server' },
  redis: { paths: ['/usr/bin/redis-server', '/usr/local/bin/redis-server'], pkg: 'redis-server' },
};

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

export function findBinary(name: ServiceName): string | undefined {
  return BINARIES[name].paths.find((p) => existsSync(p));
}

/** Installs Debian packages with apt-get, without letting their services start. Needs root. */
export function aptInstall(pkgs: readonly string[], log: Log = () => {}): void {
  if (pkgs.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${pkgs.join(', ')}: install them with "sudo apt-get install -y ${pkgs.join(' ')}"`,
    );
  }
  log(`installing ${pkgs.join(' ')} from Debian (distro services stay stopped)…`);
  const policy = '/usr/sbin/policy-rc.d';
  const hadPolicy = existsSync(policy);
  if (!hadPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '-q', ...pkgs], { stdio: 'ignore', env });
  } finally {
    if (!hadPolicy) rmSync(policy, { force: true });
  }
}

/** Installs the Debian packages of any missing server. Needs root and apt-get. */
export function ensureInstalled(log: Log = () => {}): void {
  const missing = SERVICE_NAMES.filter((n) => !findBinary(n));
  aptInstall(
    missing.map((n) => BINARIES[n].pkg),
    log,
  );
  const still = SERVICE_NAMES.filter((n) => !findBinary(n));
  if (still.length) throw new Error(`apt-get finished but ${still.join(', ')} is still missing`);
}

/**
 * The OpenStack peers the compatibility tests and benchmarks run against: the `openstack`
 * CLI with osc-placement, and the real Placement API server (Debian's Zed packages); plus
 * Debian's headless Chromium, which renders the simulator's HTML report in a test.
 */
export const OPENSTACK_TOOLS = [
  { pkg: 'python3-openstackclient', path: '/usr/bin/openstack' },
  { pkg: 'python3-osc-placement', path: '/usr/lib/python3/dist-packages/osc_placement' },
  { pkg: 'python3-placement', path: '/usr/bin/placement-api' },
  { pkg: 'chromium', path: '/usr/bin/chromium' },
] as const;

export function ensureOpenStackTools(log: Log = () => {}): void {
  aptInstall(
    OPENSTACK_TOOLS.filter((t) => !existsSync(t.path)).map((t) => t.pkg),
    log,
  );
  const still = OPENSTACK_TOOLS.filter((t) => !existsSync(t.path));
  if (still.length)
    throw new Error(`apt-get finished but ${still.map((t) => t.pkg).join(', ')} is still missing`);
}

/** Asks the OS for `n` free loopback ports. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function urlsFor(ports: ServicePorts): ServicesState['urls'] {
  return {
    nats: `nats://127.0.0.1:${ports.nats}`,
    etcd: `http://127.0.0.1:${ports.etcd}`,
    redis: `redis://127.0.0.1:${ports.redis}`,
  };
}

function launch(dir: string, name: ServiceName, args: string[]): ChildProcess {
  const bin = findBinary(name);
  if (!bin) throw new Error(`${name} is not installed (run "cellplane services up" as root to install it)`);
  const out = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', out, out] });
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

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
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
  timeoutMs?: number;
  log?: Log;
}

/** Starts whatever is not already running for `dir`; returns the URLs. Idempotent. */
export async function servicesUp(opts: UpOptions = {}): Promise<ServicesState> {
  const log = opts.log ?? (() => {});
  const dir = opts.dir ?? defaultServicesDir();
  mkdirSync(dir, { recursive: true });
  ensureInstalled(log);
  const prev = readState(dir);
  let ports: ServicePorts;
  if (prev) ports = prev.ports;
  else if (opts.randomPorts) {
    const [nats, etcd, etcdPeer, redis] = (await freePorts(4)) as [number, number, number, number];
    ports = { nats, etcd, etcdPeer, redis, ...opts.ports };
  } else ports = { ...DEFAULT_PORTS, ...opts.ports };
  const state: ServicesState = { dir, ports, pids: { ...prev?.pids }, urls: urlsFor(ports) };
  // Check every port before starting anything, so a conflict leaves nothing half-started.
  const toStart: ServiceName[] = [];
  for (const name of SERVICE_NAMES) {
    const ready = await isReady(name, ports);
    if (alive(state.pids[name]) && ready) continue;
    if (ready) {
      const p = name === 'etcd' ? ports.etcd : ports[name];
      throw new Error(
        `port of ${name} (${p}) is taken by a process this directory did not start; choose other ports`,
      );
    }
    toStart.push(name);
  }
  const stateFile = join(dir, 'services.json');
  for (const name of toStart) {
    const persistence = { redisPersistence: opts.redisPersistence ?? DEFAULT_REDIS_PERSISTENCE };
    const child = launch(dir, name, argsFor(dir, name, ports, persistence));
    state.pids[name] = child.pid;
    writeFileSync(stateFile, JSON.stringify(state, null, 2));
    log(`started ${name} (pid ${child.pid})`);
  }
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (const name of SERVICE_NAMES) {
    while (!(await isReady(name, ports))) {
      if (!alive(state.pids[name])) {
        throw new Error(`${name} exited during start-up; see ${join(dir, `${name}.log`)}`);
      }
      if (Date.now() > deadline)
        throw new Error(`${name} not ready in time; see ${join(dir, `${name}.log`)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    log(`${name} ready at ${state.urls[name]}`);
  }
  return state;
}

/** Stops the processes recorded for `dir` (SIGTERM, then SIGKILL) and optionally deletes their data. */
export async function servicesDown(
  dir = defaultServicesDir(),
  opts: { purge?: boolean; log?: Log } = {},
): Promise<void> {
  const state = readState(dir);
  for (const name of SERVICE_NAMES) {
    const pid = state?.pids[name];
    if (!alive(pid)) continue;
    process.kill(pid!, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (alive(pid)) process.kill(pid!, 'SIGKILL');
    opts.log?.(`stopped ${name} (pid ${pid})`);
  }
  if (opts.purge) rmSync(dir, { recursive: true, force: true });
  else if (state) rmSync(join(dir, 'services.json'), { force: true });
}

export async function servicesStatus(
  dir = defaultServicesDir(),
): Promise<Array<{ name: ServiceName; pid?: number; running: boolean; ready: boolean; url: string }>> {
  const state = readState(dir);
  if (!state) return [];
  return Promise.all(
    SERVICE_NAMES.map(async (name) => {
      const pid = state.pids[name];
      const row: { name: ServiceName; pid?: number; running: boolean; ready: boolean; url: string } = {
        name,
        running: alive(pid),
        ready: await isReady(name, state.ports),
        url: state.urls[name],
      };
      if (pid !== undefined) row.pid = pid;
      return row;
    }),
  );
}
