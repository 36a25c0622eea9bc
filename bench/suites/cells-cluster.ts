/**
 * The deployed control plane for the cells suite's boot benchmark: nats-server, etcd and
 * redis-server started for the run in a temporary directory (deploy/services.ts, random free
 * ports), the cells created in etcd, and role processes — `cellplane api`, then per cell one
 * `conductor`, one `scheduler` (1 shard) and one `agents` (fake hosts) — started as the
 * end-to-end test starts them (test/e2e/fixtures/roles.ts). Everything is stopped by the
 * cleanups it pushes (processes first, then the servers, whose directory is deleted).
 */
import { CellRegistry } from '../../cells/lifecycle.ts';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { servicesDown, servicesUp } from '../../deploy/services.ts';
import { RoleProcesses } from '../../test/e2e/fixtures/roles.ts';
import { HOST_SHAPE } from './cells-fleet.ts';

/** The compute API as the boot benchmark drives it (in process or over HTTP). */
export interface Api {
  readonly where: string;
  readonly settledBy: string;
  /** `path` below /v2.1, e.g. `/servers`. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Resolves once none of `ids` is still building; throws after `withinMs`. */
  settled(ids: readonly string[], withinMs: number): Promise<void>;
}

const PREFIX = 'benchcells';
const START_MS = 120_000;
const HEADERS = { 'content-type': 'application/json', 'openstack-api-version': 'compute 2.79' };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(what: string, withinMs: number, probe: () => Promise<boolean>, everyMs = 100) {
  const end = Date.now() + withinMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`not within ${withinMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

export async function startNatsCluster(o: {
  dir: string;
  cells: number;
  hostsPerCell: number;
  /** `min-max`, passed to `cellplane agents --spawn-ms`. */
  spawnMs: string;
  cleanups: Array<() => Promise<void>>;
  pollMs: number;
}): Promise<Api> {
  o.cleanups.push(() => servicesDown(o.dir, { purge: true }));
  const { urls } = await servicesUp({
    dir: o.dir,
    randomPorts: true,
    log: (l) => console.error(`services: ${l}`),
  });
  const coordinator = new EtcdCoordinator({ hosts: urls.etcd, prefix: `/${PREFIX}` });
  o.cleanups.push(() => coordinator.close());
  // Instance mappings live in the API's store (keys `<prefix>.api`, as `cellplane api` names them).
  const apiStore = await RedisStore.open({ url: urls.redis, prefix: `${PREFIX}.api` });
  o.cleanups.push(() => apiStore.close());
  const registry = new CellRegistry(coordinator, { clock: systemClock, mappingStore: apiStore });
  const names = Array.from({ length: o.cells }, (_, i) => `cell${i + 1}`);
  for (const name of names) await registry.create({ name, transport: `cp.${name}`, store: urls.redis });

  const roles = new RoleProcesses({
    CELLPLANE_NATS_URL: urls.nats,
    CELLPLANE_ETCD_URL: urls.etcd,
    CELLPLANE_REDIS_URL: urls.redis,
    CELLPLANE_PREFIX: PREFIX,
  });
  o.cleanups.push(() => roles.stopAll());
  const api = roles.start('api', ['api', '--port', '0']);
  const leaders: Promise<string>[] = [];
  for (const cell of names) {
    const conductor = roles.start(`conductor-${cell}`, ['conductor', '--cell', cell, '--shards', '1']);
    const scheduler = roles.start(`scheduler-${cell}`, [
      'scheduler',
      '--cell',
      cell,
      '--shard',
      '0',
      '--shards',
      '1',
    ]);
    roles.start(`agents-${cell}`, [
      'agents',
      '--cell',
      cell,
      '--count',
      String(o.hostsPerCell),
      '--vcpus',
      String(HOST_SHAPE.vcpus),
      '--ram-mb',
      String(HOST_SHAPE.memoryMb),
      '--disk-gb',
      String(HOST_SHAPE.diskGb),
      '--vcpu-ratio',
      String(HOST_SHAPE.allocationRatios.vcpu),
      '--spawn-ms',
      o.spawnMs,
    ]);
    leaders.push(
      conductor.line(/^leading conductor /, START_MS),
      scheduler.line(/^leading sched-0 /, START_MS),
    );
  }
  const base = (await api.line(/^ready api /, START_MS)).split(' ')[2]!;
  await Promise.all(leaders);
  const total = o.cells * o.hostsPerCell;
  await waitFor(
    `${total} hosts mapped to their cells`,
    START_MS,
    async () => (await registry.memberships.hostMappings()).length === total,
  );
  await sleep(2_500); // the shards' first capacity reports (every 2 s) reach the cell router

  const call: Api['call'] = async (method, path, body) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: HEADERS,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    where: `${2 + 3 * o.cells} processes: this one (HTTP client), nats-server, etcd, redis-server, cellplane api, and per cell conductor + scheduler + agents`,
    settledBy: `polling GET /servers/detail?status=BUILD&limit=1 every ${o.pollMs} ms (late by up to that)`,
    call,
    async settled(_ids, withinMs) {
      // Called once every id was accepted: an empty BUILD list means all of them settled.
      await waitFor(
        'no server in BUILD',
        withinMs,
        async () => {
          const r = await call('GET', '/servers/detail?status=BUILD&limit=1');
          if (r.status !== 200) throw new Error(`list BUILD: ${r.status} ${JSON.stringify(r.body)}`);
          return (r.body as { servers: unknown[] }).servers.length === 0;
        },
        o.pollMs,
      );
    },
  };
}
