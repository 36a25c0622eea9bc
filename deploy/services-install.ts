/**
 * The real servers (their names, one process of them: `Unit`) and installing them and the
 * OpenStack peers from Debian: apt-get as root, without letting the distro start its own
 * services (a policy-rc.d that says no while it runs).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

export type ServiceName = 'nats' | 'etcd' | 'redis';
export const SERVICE_NAMES: readonly ServiceName[] = ['nats', 'etcd', 'redis'];

/** One server process of a services directory. */
export interface Unit {
  /** Its key in `pids`, its log file `<key>.log`. */
  readonly key: string;
  readonly service: ServiceName;
  readonly url: string;
  /** Every port it listens on. */
  readonly ports: readonly number[];
  /** Its command-line arguments (writes its config file where it has one). */
  args(): string[];
  /** Whether it answers (for a cluster member: whether it serves as part of the cluster). */
  ready(): Promise<boolean>;
}

type Log = (line: string) => void;

const BINARIES: Record<ServiceName, { paths: string[]; pkg: string }> = {
  nats: {
    paths: ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'],
    pkg: 'nats-server',
  },
  etcd: { paths: ['/usr/bin/etcd', '/usr/local/bin/etcd'], pkg: 'etcd-server' },
  redis: { paths: ['/usr/bin/redis-server', '/usr/local/bin/redis-server'], pkg: 'redis-server' },
};

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
