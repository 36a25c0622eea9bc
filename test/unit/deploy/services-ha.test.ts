/**
 * The layout of `cellplane services up --ha` (deploy/services-ha.ts): which ports each member gets,
 * the configuration each server is started with, and the lines printed for `eval`. The servers
 * themselves are started in test/integration/services-ha.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envLines } from '../../../cli/services-command.ts';
import type { ServicesState } from '../../../deploy/services.ts';
import {
  checkPorts,
  DEFAULT_HA_BASE_PORTS,
  etcdMemberArgs,
  layoutFromBases,
  layoutFromFreePorts,
  natsNodeConfig,
  withBases,
} from '../../../deploy/services-ha.ts';
import { freeStablePorts } from '../../../deploy/services-ports.ts';

const RANGE = '/proc/sys/net/ipv4/ip_local_port_range';

describe('services up --ha: the layout', () => {
  it('puts member i on each base port + i', () => {
    const l = layoutFromBases(DEFAULT_HA_BASE_PORTS);
    // NATS client 14222 + i, cluster 14248 + i, monitor 18222 + i; etcd client 12379 + i, peer 12390 + i
    expect(l.nats).toEqual([
      { unit: 'nats1', client: 14222, cluster: 14248, monitor: 18222 },
      { unit: 'nats2', client: 14223, cluster: 14249, monitor: 18223 },
      { unit: 'nats3', client: 14224, cluster: 14250, monitor: 18224 },
    ]);
    expect(l.etcd).toEqual([
      { unit: 'etcd1', client: 12379, peer: 12390 },
      { unit: 'etcd2', client: 12380, peer: 12391 },
      { unit: 'etcd3', client: 12381, peer: 12392 },
    ]);
    expect(() => checkPorts(l, { redis: 16379 })).not.toThrow();
  });

  it('takes 15 free ports in order, and moves only the bases given', () => {
    const free = Array.from({ length: 15 }, (_, i) => 40_000 + i);
    const l = layoutFromFreePorts(free);
    expect(l.nats[1]).toEqual({ unit: 'nats2', client: 40_005, cluster: 40_006, monitor: 40_007 });
    expect(l.etcd[2]).toEqual({ unit: 'etcd3', client: 40_013, peer: 40_014 });
    const moved = withBases(l, { nats: 5000 });
    expect(moved.nats.map((n) => n.client)).toEqual([5000, 5001, 5002]);
    expect(moved.nats.map((n) => n.cluster)).toEqual([40_001, 40_006, 40_011]);
    expect(moved.etcd).toEqual(l.etcd);
  });

  it('--random-ports picks distinct free ports below the ephemeral range (no outgoing connection takes them)', async () => {
    const ports = await freeStablePorts(16);
    expect(new Set(ports).size).toBe(16);
    for (const p of ports) expect(p).toBeGreaterThanOrEqual(10_000);
    const range = existsSync(RANGE) ? readFileSync(RANGE, 'utf8') : '32768 60999';
    const ephemeralLow = Number(range.trim().split(/\s+/)[0]);
    for (const p of ports) expect(p).toBeLessThan(ephemeralLow);
  });

  it('refuses a port used twice or out of range, naming both uses', () => {
    // etcd peer base 12380 = etcd2's client port (12379 + 1)
    const clash = layoutFromBases({ ...DEFAULT_HA_BASE_PORTS, etcdPeer: 12380 });
    expect(() => checkPorts(clash, { redis: 16379 })).toThrow(
      /port 12380 is both etcd1 peer and etcd2 client/,
    );
    const high = layoutFromBases({ ...DEFAULT_HA_BASE_PORTS, nats: 65_534 });
    expect(() => checkPorts(high, { redis: 16379 })).toThrow(/nats3 client: 65536 is not a TCP port/);
    const l = layoutFromBases(DEFAULT_HA_BASE_PORTS);
    expect(() => checkPorts(l, { redis: 14223 })).toThrow(/port 14223 is both nats2 client and redis/);
  });
});

describe('services up --ha: the servers’ configuration', () => {
  const l = layoutFromBases(DEFAULT_HA_BASE_PORTS);

  it('makes every NATS node a named JetStream cluster member routing to all, with capped storage of its own', () => {
    const conf = natsNodeConfig('/d', l, l.nats[1]!);
    expect(conf).toContain('server_name: nats2');
    expect(conf).toContain('listen: "127.0.0.1:14223"');
    expect(conf).toContain('http: "127.0.0.1:18223"');
    expect(conf).toContain(
      'cluster { name: cellplane, listen: "127.0.0.1:14249", routes: ["nats-route://127.0.0.1:14248", "nats-route://127.0.0.1:14249", "nats-route://127.0.0.1:14250"] }',
    );
    expect(conf).toContain(
      'jetstream { store_dir: "/d/nats2", max_memory_store: 512MB, max_file_store: 4GB }',
    );
  });

  it('starts every etcd member of a new cluster of all three, with its own data dir and fast timing', () => {
    const args = etcdMemberArgs('/d', l, l.etcd[2]!);
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--name')).toBe('etcd3');
    expect(flag('--data-dir')).toBe('/d/etcd3');
    expect(flag('--listen-client-urls')).toBe('http://127.0.0.1:12381');
    expect(flag('--initial-cluster')).toBe(
      'etcd1=http://127.0.0.1:12390,etcd2=http://127.0.0.1:12391,etcd3=http://127.0.0.1:12392',
    );
    expect(flag('--initial-cluster-state')).toBe('new');
    expect(flag('--election-timeout')).toBe('250');
  });
});

describe('services up: the lines printed for eval', () => {
  const urls = { nats: 'nats://127.0.0.1:1', etcd: 'http://127.0.0.1:2', redis: 'redis://127.0.0.1:3' };
  const single: ServicesState = {
    dir: '/d',
    ports: { nats: 1, etcd: 2, etcdPeer: 4, redis: 3 },
    pids: {},
    urls,
  };

  it('single servers: one URL each and one copy of each stream', () => {
    expect(envLines(single)).toEqual([
      'export CELLPLANE_NATS_URL=nats://127.0.0.1:1',
      'export CELLPLANE_ETCD_URL=http://127.0.0.1:2',
      'export CELLPLANE_REDIS_URL=redis://127.0.0.1:3',
      'export CELLPLANE_STREAM_REPLICAS=1',
    ]);
  });

  it('--ha: every member of each cluster, 3 stream replicas, and Redis said to be one server', () => {
    const ha = layoutFromBases(DEFAULT_HA_BASE_PORTS);
    const lines = envLines({
      ...single,
      ha,
      urls: {
        nats: 'nats://127.0.0.1:14222,nats://127.0.0.1:14223,nats://127.0.0.1:14224',
        etcd: 'http://127.0.0.1:12379,http://127.0.0.1:12380,http://127.0.0.1:12381',
        redis: 'redis://127.0.0.1:16379',
      },
    });
    expect(lines.slice(0, 4)).toEqual([
      'export CELLPLANE_NATS_URL=nats://127.0.0.1:14222,nats://127.0.0.1:14223,nats://127.0.0.1:14224',
      'export CELLPLANE_ETCD_URL=http://127.0.0.1:12379,http://127.0.0.1:12380,http://127.0.0.1:12381',
      'export CELLPLANE_REDIS_URL=redis://127.0.0.1:16379',
      'export CELLPLANE_STREAM_REPLICAS=3',
    ]);
    expect(lines[4]).toMatch(/^# Redis is one server, not replicated/);
  });
});
