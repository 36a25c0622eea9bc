import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import type { Coordinator } from '../../core/ports/coordinator.ts';
import { services, uniquePrefix } from '../real/services.ts';
import { type CoordinatorWorld, coordinatorContract } from './coordinator.contract.ts';

/** Polling interval while waiting for a condition on the real server. */
const POLL_MS = 20;
/** etcd checks lease expiry periodically (~500 ms): an expired lease can linger this long. */
const ETCD_EXPIRY_SLACK_MS = 1000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function etcdWorld(): CoordinatorWorld {
  const prefix = `/${uniquePrefix('coord')}`;
  const hosts = services().etcd;
  return {
    ttlMs: 1000,
    expirySlackMs: ETCD_EXPIRY_SLACK_MS,
    client: () => new EtcdCoordinator({ hosts, prefix }),
    crash: (c: Coordinator) => (c as EtcdCoordinator).crash(),
    async eventually(what, withinMs, check) {
      const deadline = Date.now() + withinMs;
      for (;;) {
        if (await check()) return;
        if (Date.now() >= deadline) throw new Error(`not within ${withinMs} ms: ${what}`);
        await sleep(POLL_MS);
      }
    },
    pass: sleep,
    close: async () => {},
  };
}

coordinatorContract('etcd', async () => etcdWorld());

describe('EtcdCoordinator specifics', () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it('confines keys and elections to its prefix', async () => {
    const hosts = services().etcd;
    const a = new EtcdCoordinator({ hosts, prefix: `/${uniquePrefix('a')}` });
    const b = new EtcdCoordinator({ hosts, prefix: `/${uniquePrefix('b')}/` });
    try {
      await a.put('k', enc('a'));
      expect(await b.get('k')).toBeUndefined();
      expect(await b.list('')).toEqual([]);
      const la = await a.election('e').campaign('a', { ttlMs: 1000 });
      expect(await b.election('e').leader()).toBeUndefined();
      const lb = await b.election('e').campaign('b', { ttlMs: 1000 });
      expect(await a.election('e').leader()).toBe('a');
      // Election candidates are not among the caller's keys.
      expect((await a.list('')).map((e) => e.key)).toEqual(['k']);
      await Promise.all([la.resign(), lb.resign()]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('rounds lease TTLs up to whole seconds, as etcd grants them', async () => {
    const c = new EtcdCoordinator({ hosts: services().etcd, prefix: `/${uniquePrefix('ttl')}` });
    try {
      const lease = await c.grantLease(1500);
      expect(lease.ttlMs).toBe(2000);
      await lease.revoke();
    } finally {
      await c.close();
    }
  });

  it('reports an unreachable etcd as `unavailable`', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const c = new EtcdCoordinator({ hosts: 'http://127.0.0.1:1', prefix: '/nowhere' });
    try {
      await expect(c.get('k')).rejects.toMatchObject({ code: 'unavailable' });
      await expect(c.grantLease(1000)).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await c.close();
    }
  });

  it('reports a server that accepts but never answers as `timeout`', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const { port } = silent.address() as { port: number };
    const c = new EtcdCoordinator({
      hosts: `http://127.0.0.1:${port}`,
      prefix: '/silent',
      callTimeoutMs: 300,
    });
    try {
      await expect(c.get('k')).rejects.toMatchObject({ code: 'timeout' });
    } finally {
      await c.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});
