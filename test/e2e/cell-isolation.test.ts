/**
 * Cells isolated from each other's failures (issue #11), on real servers: three cells, each with
 * its OWN redis-server, their conductor, scheduler and simulated hosts on the shared NATS and
 * etcd; the compute API as a `cellplane api --cell-timeout-ms 2000` process on its own Redis.
 *
 * With cell2's Redis hung (SIGSTOP) and then stopped: boots go to cell1 and cell3 and end ACTIVE;
 * `GET /servers/detail` answers within the configured cell timeout (not Redis's 10 s command
 * timeout), cell2's servers listed as UNKNOWN; GET and actions on servers of the other cells
 * work; the quota is still enforced (counted at the API layer, cell2's servers included) and a
 * delete in another cell gives its share back; the API's reconcile pass says it skipped cell2 and
 * drops nothing of it. Then cell2's Redis comes back with its data: its servers list ACTIVE again,
 * new servers land there, and the quota usage equals the servers that exist.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CellRegistry } from '../../cells/lifecycle.ts';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { connectCluster, startAgents, startConductor, startScheduler } from '../../deploy/cluster.ts';
import { DEFAULT_DEPLOY_CONFIG } from '../../deploy/config.ts';
import { PrivateRedis } from '../contract/private-redis.ts';
import { services, uniquePrefix } from '../real/services.ts';
import { apiStoreOf } from './fixtures/api-store.ts';
import { api, waitFor } from './fixtures/compute-api.ts';
import { RoleProcesses } from './fixtures/roles.ts';

const CELLS = ['cell1', 'cell2', 'cell3'];
const DOWN = 'cell2';
const HOSTS_PER_CELL = 4;
const CELL_TIMEOUT_MS = 2_000;
/** What a list may take besides waiting for the down cell (the other cells, etcd's mappings). */
const LIST_SLACK_MS = 3_000;
/** Boots tried while waiting for the router to have spread servers over every cell. */
const MAX_SPREAD_BOOTS = 60;
const START_MS = 60_000;
const SETTLE_MS = 60_000;

const prefix = uniquePrefix('iso');
const roles = new RoleProcesses({
  CELLPLANE_NATS_URL: services().nats,
  CELLPLANE_ETCD_URL: services().etcd,
  CELLPLANE_REDIS_URL: services().redis,
  CELLPLANE_PREFIX: prefix,
});
const redises = new Map(CELLS.map((c) => [c, new PrivateRedis()]));
const closers: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const r of redises.values()) r.resume();
  await roles.stopAll();
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  for (const r of redises.values()) await r.destroy();
});

let base = '';
const call = (method: string, path: string, body?: unknown) => api(base, method, path, body);

interface Listed {
  id: string;
  status: string;
  'OS-EXT-SRV-ATTR:host'?: string | null;
}

const cellOf = (s: Listed) => (s['OS-EXT-SRV-ATTR:host'] ?? '').split('-cn')[0] ?? '';

/** The detail list and how long it took. */
async function list(): Promise<{ servers: Listed[]; tookMs: number }> {
  const t0 = Date.now();
  const r = await call('GET', '/servers/detail');
  if (r.status !== 200) throw new Error(`list: ${r.status} ${JSON.stringify(r.body)}`);
  return { servers: r.body.servers, tookMs: Date.now() - t0 };
}

/** Boots one m1.tiny; its id once it is ACTIVE (fails on ERROR or a non-202). */
async function bootActive(name: string): Promise<Listed> {
  const r = await call('POST', '/servers', {
    server: { name, imageRef: 'cirros', flavorRef: '1', networks: 'none' },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const id = r.body.server.id as string;
  let s: Listed | undefined;
  await waitFor(`${name} ACTIVE`, SETTLE_MS, async () => {
    s = (await call('GET', `/servers/${id}`)).body.server;
    if (s?.status === 'ERROR') throw new Error(`${name} ERROR: ${JSON.stringify(s)}`);
    return s?.status === 'ACTIVE';
  });
  return s!;
}

async function inUse(): Promise<number> {
  return (await call('GET', '/os-quota-sets/admin/detail')).body.quota_set.instances.in_use;
}

describe('cells isolated from each other: one cell’s Redis hung, then stopped, then back', () => {
  it('boots go elsewhere, lists answer in time with that cell UNKNOWN, quota holds; the cell recovers', {
    timeout: 600_000,
  }, async () => {
    const { nats, etcd, redis } = services();
    const coordinator = new EtcdCoordinator({ hosts: etcd, prefix: `/${prefix}` });
    closers.push(() => coordinator.close());
    const mappingStore = apiStoreOf(redis, prefix);
    closers.push(() => mappingStore.close());
    const registry = new CellRegistry(coordinator, { clock: systemClock, mappingStore });
    const config = {
      ...DEFAULT_DEPLOY_CONFIG,
      nats,
      etcd,
      redis,
      prefix,
      leaseTtlMs: 2_000,
      ackWaitMs: 5_000,
    };
    for (const name of CELLS) {
      const store = await redises.get(name)!.start();
      await registry.create({ name, transport: `cp.${name}`, store });
      const cluster = await connectCluster(config, `iso-${name}`);
      closers.push(() => cluster.close());
      const conductor = await startConductor(cluster, name, { replicaId: `${name}-c`, shardCount: 1 });
      closers.push(() => conductor.stop());
      const scheduler = await startScheduler(cluster, name, {
        replicaId: `${name}-s`,
        shards: [0],
        shardCount: 1,
      });
      closers.push(() => scheduler.stop());
      const hosts = Array.from({ length: HOSTS_PER_CELL }, (_, i) => ({
        hostname: `${name}-cn${String(i + 1).padStart(4, '0')}`,
        vcpus: 32,
        memoryMb: 65_536,
        diskGb: 1_000,
      }));
      const fleet = await startAgents(cluster, name, { hosts, seed: 1 });
      closers.push(() => fleet.stop());
    }
    const apiProc = roles.start('api', [
      'api',
      '--port',
      '0',
      '--cell-timeout-ms',
      String(CELL_TIMEOUT_MS),
      '--quota-reconcile-ms',
      '2000',
    ]);
    base = (await apiProc.line(/^ready api /, START_MS)).replace(/^ready api /, '');
    const apiLog = () => apiProc.errTail.join('\n');
    expect(
      (await call('PUT', '/os-quota-sets/admin', { quota_set: { instances: -1, cores: -1, ram: -1 } }))
        .status,
    ).toBe(200);

    // ---- healthy: servers in every cell ------------------------------------------------
    const byCell = new Map<string, Listed[]>(CELLS.map((c) => [c, []]));
    for (let i = 0; [...byCell.values()].some((s) => s.length < 2); i++) {
      expect(
        i,
        `servers per cell after ${i} boots: ${[...byCell].map(([c, s]) => `${c} ${s.length}`)}`,
      ).toBeLessThan(MAX_SPREAD_BOOTS);
      const s = await bootActive(`spread-${i}`);
      byCell.get(cellOf(s))!.push(s);
    }
    const downIds = new Set(byCell.get(DOWN)!.map((s) => s.id));
    const healthy = await list();
    expect(healthy.servers.every((s) => s.status === 'ACTIVE')).toBe(true);

    // ---- cell2's Redis hung: lists wait one cell timeout, not Redis's 10 s -----------------
    redises.get(DOWN)!.pause();
    const hung = await list();
    expect(hung.tookMs, `list with ${DOWN} hung`).toBeLessThan(CELL_TIMEOUT_MS + LIST_SLACK_MS);
    for (const s of hung.servers) expect(s.status, s.id).toBe(downIds.has(s.id) ? 'UNKNOWN' : 'ACTIVE');
    for (let i = 0; i < 3; i++) expect(cellOf(await bootActive(`while-hung-${i}`))).not.toBe(DOWN);
    redises.get(DOWN)!.resume();
    await waitFor(`${DOWN} answers again`, SETTLE_MS, async () =>
      (await list()).servers.every((s) => s.status === 'ACTIVE'),
    );

    // ---- cell2's Redis stopped ---------------------------------------------------------
    await redises.get(DOWN)!.stop();
    const stopped = await list();
    expect(stopped.tookMs, `list with ${DOWN} stopped`).toBeLessThan(CELL_TIMEOUT_MS + LIST_SLACK_MS);
    const unknown = stopped.servers.filter((s) => s.status === 'UNKNOWN').map((s) => s.id);
    expect(new Set(unknown)).toEqual(downIds);
    // One of them shown alone: what its mapping knows, status UNKNOWN (Nova 2.69), not a 503.
    const one = await call('GET', `/servers/${unknown[0]}`);
    expect([one.status, one.body.server.status, one.body.server.id]).toEqual([200, 'UNKNOWN', unknown[0]]);
    // Boots go to the other cells and end ACTIVE; the quota (counted at the API) still holds.
    const used = await inUse();
    expect(used).toBe(stopped.servers.length); // cell2's servers still count
    expect((await call('PUT', '/os-quota-sets/admin', { quota_set: { instances: used + 2 } })).status).toBe(
      200,
    );
    const fresh = [await bootActive('while-down-1'), await bootActive('while-down-2')];
    expect(fresh.map(cellOf)).not.toContain(DOWN);
    const over = await call('POST', '/servers', {
      server: { name: 'over', imageRef: 'cirros', flavorRef: '1', networks: 'none' },
    });
    expect(over.status).toBe(403);
    expect(over.body.forbidden.message).toBe(
      `Quota exceeded for instances: Requested 1, but already used ${used + 2} of ${used + 2} instances`,
    );
    // Servers of healthy cells: read, act on, delete (the conductor gives the share back).
    const [a, b] = fresh as [Listed, Listed];
    expect((await call('GET', `/servers/${a.id}`)).status).toBe(200);
    expect((await call('POST', `/servers/${a.id}/action`, { 'os-stop': null })).status).toBe(202);
    await waitFor('os-stop done', SETTLE_MS, async () => {
      const s = (await call('GET', `/servers/${a.id}`)).body.server;
      return s.status === 'SHUTOFF' && s['OS-EXT-STS:task_state'] === null;
    });
    expect((await call('DELETE', `/servers/${b.id}`)).status).toBe(204);
    await waitFor('delete released its quota', SETTLE_MS, async () => (await inUse()) === used + 1);
    expect(cellOf(await bootActive('after-delete'))).not.toBe(DOWN);
    // The reconcile pass skipped cell2 and dropped none of its claims.
    await waitFor('a reconcile pass skipped cell2', SETTLE_MS, async () =>
      /quota reconcile .*cell cell2 skipped, it did not answer/.test(apiLog()),
    );
    expect(apiLog()).toMatch(/cell cell2 does not answer/);
    expect(await inUse()).toBe(used + 2);

    // ---- cell2's Redis back (its data kept): the cell recovers ------------------------------
    await redises.get(DOWN)!.start();
    await waitFor(`${DOWN} listed again`, SETTLE_MS, async () =>
      (await list()).servers.every((s) => s.status === 'ACTIVE' || s.status === 'SHUTOFF'),
    );
    expect(apiLog()).toMatch(/cell cell2 answers again/);
    expect(
      (await call('PUT', '/os-quota-sets/admin', { quota_set: { instances: -1, cores: -1, ram: -1 } }))
        .status,
    ).toBe(200);
    let landed = false;
    for (let i = 0; !landed; i++) {
      expect(i, `no new server landed in ${DOWN} after its recovery`).toBeLessThan(MAX_SPREAD_BOOTS);
      landed = cellOf(await bootActive(`after-recovery-${i}`)) === DOWN;
    }
    const final = await list();
    expect(await inUse()).toBe(final.servers.length);
  });
});
