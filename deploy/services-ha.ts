/**
 * The clustered services of `cellplane services up --ha`: three nats-server nodes forming one
 * JetStream cluster and three etcd members forming one cluster, all on 127.0.0.1, each member
 * with its own data directory under the services directory. Redis stays one server (its
 * high availability — Sentinel or a replica — is a deployment matter, see deploy/README.md).
 *
 * Ports: member i (0, 1, 2) listens on each base port + i. A NATS node has a client, a cluster
 * (routes) and a monitoring port (its /jsz says whether it sees the JetStream meta leader); an
 * etcd member a client and a peer port.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Unit } from './services-install.ts';

/** Members of each cluster: the smallest count that survives the loss of one. */
export const HA_MEMBERS = 3;
/** Deadline of one readiness probe over HTTP. */
const PROBE_TIMEOUT_MS = 1_000;

export interface HaBasePorts {
  nats: number;
  natsCluster: number;
  natsMonitor: number;
  etcd: number;
  etcdPeer: number;
}

/** Defaults with --ha (the etcd peer base moves off 12380, which member 1's client port takes). */
export const DEFAULT_HA_BASE_PORTS: HaBasePorts = {
  nats: 14222,
  natsCluster: 14248,
  natsMonitor: 18222,
  etcd: 12379,
  etcdPeer: 12390,
};

export interface NatsNode {
  unit: string;
  client: number;
  cluster: number;
  monitor: number;
}

export interface EtcdMember {
  unit: string;
  client: number;
  peer: number;
}

/** Where every member of the two clusters listens. */
export interface HaLayout {
  nats: NatsNode[];
  etcd: EtcdMember[];
}

/** The layout from base ports (member i on base + i). */
export function layoutFromBases(b: HaBasePorts): HaLayout {
  const idx = Array.from({ length: HA_MEMBERS }, (_, i) => i);
  return {
    nats: idx.map((i) => ({
      unit: `nats${i + 1}`,
      client: b.nats + i,
      cluster: b.natsCluster + i,
      monitor: b.natsMonitor + i,
    })),
    etcd: idx.map((i) => ({ unit: `etcd${i + 1}`, client: b.etcd + i, peer: b.etcdPeer + i })),
  };
}

/** The layout on `free` ports (5 per member: NATS client, cluster, monitor; etcd client, peer). */
export function layoutFromFreePorts(free: readonly number[]): HaLayout {
  if (free.length < 5 * HA_MEMBERS) throw new Error(`need ${5 * HA_MEMBERS} free ports, got ${free.length}`);
  const at = (i: number) => free[i]!;
  const idx = Array.from({ length: HA_MEMBERS }, (_, i) => i);
  return {
    nats: idx.map((i) => ({
      unit: `nats${i + 1}`,
      client: at(5 * i),
      cluster: at(5 * i + 1),
      monitor: at(5 * i + 2),
    })),
    etcd: idx.map((i) => ({ unit: `etcd${i + 1}`, client: at(5 * i + 3), peer: at(5 * i + 4) })),
  };
}

/** `layout` with the members of each base port given moved to that base (member i on base + i). */
export function withBases(layout: HaLayout, given: Partial<HaBasePorts>): HaLayout {
  return {
    nats: layout.nats.map((n, i) => ({
      ...n,
      ...(given.nats === undefined ? {} : { client: given.nats + i }),
      ...(given.natsCluster === undefined ? {} : { cluster: given.natsCluster + i }),
      ...(given.natsMonitor === undefined ? {} : { monitor: given.natsMonitor + i }),
    })),
    etcd: layout.etcd.map((m, i) => ({
      ...m,
      ...(given.etcd === undefined ? {} : { client: given.etcd + i }),
      ...(given.etcdPeer === undefined ? {} : { peer: given.etcdPeer + i }),
    })),
  };
}

/** Every port of the layout plus `others`; throws naming the first port used twice or out of range. */
export function checkPorts(layout: HaLayout, others: Record<string, number>): void {
  const seen = new Map<number, string>();
  const use = (port: number, what: string) => {
    if (!Number.isInteger(port) || port < 1 || port > 65_535)
      throw new Error(`${what}: ${port} is not a TCP port (1–65535)`);
    const before = seen.get(port);
    if (before)
      throw new Error(`port ${port} is both ${before} and ${what}: choose base ports further apart`);
    seen.set(port, what);
  };
  for (const n of layout.nats) {
    use(n.client, `${n.unit} client`);
    use(n.cluster, `${n.unit} cluster`);
    use(n.monitor, `${n.unit} monitor`);
  }
  for (const m of layout.etcd) {
    use(m.client, `${m.unit} client`);
    use(m.peer, `${m.unit} peer`);
  }
  for (const [what, port] of Object.entries(others)) use(port, what);
}

/** The comma-separated client URLs the roles are given (CELLPLANE_NATS_URL, CELLPLANE_ETCD_URL). */
export function haUrls(layout: HaLayout): { nats: string; etcd: string } {
  return {
    nats: layout.nats.map((n) => `nats://127.0.0.1:${n.client}`).join(','),
    etcd: layout.etcd.map((m) => `http://127.0.0.1:${m.client}`).join(','),
  };
}

/** nats-server's configuration for node `node`: a JetStream cluster needs a config file. */
export function natsNodeConfig(dir: string, layout: HaLayout, node: NatsNode): string {
  const routes = layout.nats.map((n) => `"nats-route://127.0.0.1:${n.cluster}"`).join(', ');
  return [
    `server_name: ${node.unit}`,
    `listen: "127.0.0.1:${node.client}"`,
    `http: "127.0.0.1:${node.monitor}"`,
    'max_payload: 8MB',
    `cluster { name: cellplane, listen: "127.0.0.1:${node.cluster}", routes: [${routes}] }`,
    // JetStream's default limits scale to the host; cap them so a test cannot fill a disk.
    `jetstream { store_dir: "${join(dir, node.unit)}", max_memory_store: 512MB, max_file_store: 4GB }`,
    '',
  ].join('\n');
}

/** etcd's arguments for member `m` of a new three-member cluster (ignored by a member with data). */
export function etcdMemberArgs(dir: string, layout: HaLayout, m: EtcdMember): string[] {
  const peer = (x: EtcdMember) => `http://127.0.0.1:${x.peer}`;
  const client = `http://127.0.0.1:${m.client}`;
  return [
    ['--name', m.unit],
    ['--data-dir', join(dir, m.unit)],
    ['--listen-client-urls', client],
    ['--advertise-client-urls', client],
    ['--listen-peer-urls', peer(m)],
    ['--initial-advertise-peer-urls', peer(m)],
    ['--initial-cluster', layout.etcd.map((x) => `${x.unit}=${peer(x)}`).join(',')],
    ['--initial-cluster-state', 'new'],
    ['--initial-cluster-token', 'cellplane-ha'],
    // Short heartbeat/election timing (FACTS.md): a new leader within ~0.3 s, 1 s leases.
    ['--heartbeat-interval', '25'],
    ['--election-timeout', '250'],
    ['--log-level', 'warn'],
  ].flat();
}

interface Jsz {
  meta_cluster?: {
    leader?: string;
    cluster_size?: number;
    replicas?: Array<{ name: string; current: boolean }>;
  };
}

async function jsz(node: NatsNode): Promise<Jsz | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.monitor}/jsz`, {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    return res.ok ? ((await res.json()) as Jsz) : undefined;
  } catch {
    return undefined;
  }
}

/** A node is ready when it sees a JetStream meta leader (it can then take stream requests). */
export async function natsNodeReady(node: NatsNode): Promise<boolean> {
  return !!(await jsz(node))?.meta_cluster?.leader;
}

/**
 * The cluster is formed when the meta leader sees every other node current: only then can a
 * stream with one replica per node be placed.
 */
export async function natsClusterFormed(layout: HaLayout): Promise<boolean> {
  const leaderName = (await jsz(layout.nats[0]!))?.meta_cluster?.leader;
  const leader = layout.nats.find((n) => n.unit === leaderName);
  if (!leader) return false;
  const replicas = (await jsz(leader))?.meta_cluster?.replicas ?? [];
  return replicas.filter((r) => r.current).length === layout.nats.length - 1;
}

async function etcdHealthy(m: EtcdMember): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${m.client}/health`, {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/** The six processes of the two clusters (Redis is added by the caller). */
export function haUnits(dir: string, layout: HaLayout): Unit[] {
  const nats: Unit[] = layout.nats.map((n) => ({
    key: n.unit,
    service: 'nats',
    url: `nats://127.0.0.1:${n.client}`,
    ports: [n.client, n.cluster, n.monitor],
    args: () => {
      const conf = join(dir, `${n.unit}.conf`);
      writeFileSync(conf, natsNodeConfig(dir, layout, n));
      return ['-c', conf];
    },
    ready: () => natsNodeReady(n),
  }));
  const etcd: Unit[] = layout.etcd.map((m) => ({
    key: m.unit,
    service: 'etcd',
    url: `http://127.0.0.1:${m.client}`,
    ports: [m.client, m.peer],
    args: () => etcdMemberArgs(dir, layout, m),
    ready: () => etcdHealthy(m),
  }));
  return [...nats, ...etcd];
}
