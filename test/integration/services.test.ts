import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import {
  argsFor,
  DEFAULT_PORTS,
  isRunning,
  readState,
  servicesDown,
  servicesStatus,
  servicesUp,
} from '../../deploy/services.ts';
import { services } from '../real/services.ts';

/** Running, not merely not yet reaped by this process (the servers are its children). */
const isAlive = isRunning;

describe('cellplane services', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await servicesDown(d, { purge: true });
  });

  it('starts all three on free ports, is idempotent, and stops exactly what it started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-svc-test-'));
    dirs.push(dir);
    const first = await servicesUp({ dir, randomPorts: true });
    const again = await servicesUp({ dir, randomPorts: true });
    expect(again.pids).toEqual(first.pids);
    const rows = await servicesStatus(dir);
    expect(rows.map((r) => [r.name, r.ready])).toEqual([
      ['nats', true],
      ['etcd', true],
      ['redis', true],
    ]);

    await servicesDown(dir);
    for (const pid of Object.values(first.pids)) expect(isAlive(pid!)).toBe(false);
    expect(readState(dir)).toBeUndefined();
    // The suite's own servers, started by the global setup, are untouched.
    const shared = services();
    const res = await fetch(`${shared.etcd.split(',')[0]}/health`); // the first member, when a cluster
    expect(res.ok).toBe(true);
  });

  /** Writes a record, restarts Redis through `services down`/`up` on the same directory, reads it back. */
  async function keptAcrossRestart(opts: Parameters<typeof servicesUp>[0]): Promise<boolean> {
    const dir = mkdtempSync(join(tmpdir(), 'cp-svc-test-'));
    dirs.push(dir);
    const url = (await servicesUp({ ...opts, dir, randomPorts: true })).urls.redis;
    const before = await RedisStore.open({ url, prefix: 'persist' });
    const put = { op: 'put' as const, key: 'k', value: new Uint8Array([1, 2, 3]) };
    expect((await before.commit([put])).ok).toBe(true);
    await before.close();
    await servicesDown(dir); // SIGTERM, data kept
    const again = await servicesUp({ ...opts, dir, randomPorts: true });
    const after = await RedisStore.open({ url: again.urls.redis, prefix: 'persist' });
    try {
      return (await after.get('k')) !== undefined;
    } finally {
      await after.close();
    }
  }

  it('Redis keeps its records across a restart by default (append-only file, fsync every second)', async () => {
    expect(argsFor('/d', 'redis', DEFAULT_PORTS).join(' ')).toContain(
      '--appendonly yes --appendfsync everysec',
    );
    expect(await keptAcrossRestart({})).toBe(true);
  });

  it('with --redis-persistence off a Redis restart loses every record (what the flag costs)', async () => {
    expect(await keptAcrossRestart({ redisPersistence: 'off' })).toBe(false);
  });

  it('refuses a port taken by a process it did not start, naming the service', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-svc-test-'));
    dirs.push(dir);
    const redisPort = Number(new URL(services().redis).port);
    await expect(servicesUp({ dir, randomPorts: true, ports: { redis: redisPort } })).rejects.toThrow(
      /port of redis .* is taken/,
    );
    expect(readState(dir)).toBeUndefined(); // nothing was started
    expect(await servicesStatus(dir)).toEqual([]);
  });
});
