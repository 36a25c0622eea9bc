/**
 * Loopback ports for the services: free ones from the OS or from below its ephemeral range, and
 * whether one is taken.
 */
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';

/** Asks the OS for `n` free loopback ports. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Lowest port `--random-ports` picks with --ha. */
const RANDOM_PORT_LOW = 10_000;
/** Start of Linux's ephemeral range when /proc does not say (its default). */
const DEFAULT_EPHEMERAL_LOW = 32_768;
/** Random ports tried before giving up (a nearly full range). */
const MAX_PORT_TRIES = 1_000;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return low > RANDOM_PORT_LOW ? low : DEFAULT_EPHEMERAL_LOW;
  } catch {
    return DEFAULT_EPHEMERAL_LOW;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * `n` distinct free loopback ports between RANDOM_PORT_LOW and the kernel's ephemeral range. A
 * port from that range (what the OS hands out for port 0) may go to any outgoing connection while
 * its member is down, and the member could not come back on it; below the range only a listener
 * takes a port.
 */
export async function freeStablePorts(n: number): Promise<number[]> {
  const high = ephemeralLow() - 1;
  const out = new Set<number>();
  for (let tries = 0; out.size < n; tries++) {
    if (tries >= MAX_PORT_TRIES)
      throw new Error(`no ${n} free ports between ${RANDOM_PORT_LOW} and ${high} in ${MAX_PORT_TRIES} tries`);
    const port = RANDOM_PORT_LOW + Math.floor(Math.random() * (high - RANDOM_PORT_LOW + 1));
    if (!out.has(port) && (await canListen(port))) out.add(port);
  }
  return [...out];
}

/**
 * How long a port of a server this directory ran may stay bound after the server died: the kernel
 * tears its sockets down after the process is gone (up to ~40 ms seen after a SIGKILL).
 */
const PORT_RELEASE_MS = 2_000;

/** Whether `port` becomes free within PORT_RELEASE_MS. */
export async function portReleased(port: number): Promise<boolean> {
  const deadline = Date.now() + PORT_RELEASE_MS;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    if (!(await portTaken(port))) return true;
  }
  return false;
}

/** Whether something listens on 127.0.0.1:`port` (binding it fails). */
export function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}
