import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRunning, readState, servicesDown, servicesStatus, servicesUp } from '../../cli/services.ts';
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
