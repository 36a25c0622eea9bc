/**
 * No single server to lose (issue #11): the control plane on `cellplane services up --ha` — a
 * three-node NATS cluster (JetStream, streams with 3 replicas) and a three-member etcd cluster,
 * started through the CLI on free ports in a temp dir — with the roles as processes given every
 * member: one API, two conductors, two scheduler replicas and 50 simulated hosts of one cell.
 *
 * It boots 400 servers; at boot #FAULT_AT it SIGKILLs the etcd leader and the NATS node leading
 * cell1's operations queue — the stream the API enqueues on — and its consumer, which the conductor
 * pulls from (moved to that node beforehand by consumer step-downs). Then every
 * request the API accepted (202) must end ACTIVE, or ERROR with a fault that says why; none is
 * missing, none is left in BUILD, and nothing exists that was not accepted; and the API refused
 * nothing. (With one copy per stream — CELLPLANE_STREAM_REPLICAS=1 for the roles — the same run
 * fails: builds whose jobs were on the lost node stay in BUILD, and the boots after it are refused,
 * 503 "jetstream is not enabled" — 121 of 400 in a run with two cells.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CapacityReport,
  capacityReport,
  capacitySubject,
} from '../../actors/scheduler-shard-messages.ts';
import { opsQueueName } from '../../cells/conductor-jobs.ts';
import { CellRegistry } from '../../cells/lifecycle.ts';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { WORK_QUEUE_CONSUMER } from '../../core/adapters/nats/bus-support.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { decode } from '../../core/codec/envelope.ts';
import { readState, servicesDown } from '../../deploy/services.ts';
import { etcdLeader } from '../real/etcd-leader.ts';
import { uniquePrefix } from '../real/services.ts';
import { apiStoreOf } from './fixtures/api-store.ts';
import { api, waitFor } from './fixtures/compute-api.ts';
import { type RoleProcess, RoleProcesses } from './fixtures/roles.ts';

/** One cell: its stream and consumer are what the lost node leads; 6 role processes keep CI light. */
const CELLS = ['cell1'];
const HOSTS_PER_CELL = 50;
const SERVERS = 400;
const FAULT_AT = 150;
const CONCURRENCY = 16;
const TTL_MS = 2_000;
const ACK_WAIT_MS = 5_000;
/** Bound on the roles' start: processes compiling under tsx on 2 busy cores. */
const START_MS = 120_000;
const SETTLE_MS = 180_000;
/**
 * ERRORs allowed: the servers lost keep quorum and every stream has two copies left, so a build
 * should not fail for it (none did in the runs so far); one that does must say why, and most
 * must not — a run of 400 ERRORs would otherwise pass.
 */
const MAX_ERROR_SHARE = 0.05;

const dir = mkdtempSync(join(tmpdir(), 'cellplane-ha-e2e-'));
const prefix = uniquePrefix('ha');
const closers: Array<() => Promise<void>> = [];
let roles: RoleProcesses | undefined;

afterAll(async () => {
  await roles?.stopAll();
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  await servicesDown(dir, { purge: true });
});

/** `cellplane services up --ha --random-ports --dir …`: the variables it prints for `eval`. */
async function servicesUpHa(): Promise<Record<string, string>> {
  const cli = spawn(
    process.execPath,
    ['--import', 'tsx', 'cli/main.ts', 'services', 'up', '--ha', '--random-ports', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  let out = '';
  let err = '';
  cli.stdout.on('data', (d) => (out += d));
  cli.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => cli.on('exit', resolve));
  if (code !== 0) throw new Error(`services up --ha exited ${code}:\n${err}`);
  const env: Record<string, string> = {};
  for (const m of out.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]!] = m[2]!;
  return env;
}

interface Listed {
  id: string;
  status: string;
  fault?: { message: string };
}

async function listAll(base: string, query = ''): Promise<Listed[]> {
  const out: Listed[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await api(
      base,
      'GET',
      `/servers/detail?limit=500${query}${marker ? `&marker=${marker}` : ''}`,
    );
    if (page.status !== 200) throw new Error(`list: ${page.status} ${JSON.stringify(page.body)}`);
    out.push(...page.body.servers);
    if (!page.body.servers_links) return out;
    marker = page.body.servers.at(-1).id;
  }
}

/** Consumer step-downs tried to put the work-queue consumer's leader on the stream's leader. */
const MAX_STEPDOWNS = 20;

/**
 * Moves the leadership of `stream`'s consumer (JetStream step-downs, each to a random other
 * replica) until the node leading the stream leads its consumer too: that node's loss then cuts
 * both the enqueue path and the delivery path. Returns that node.
 */
async function leadBoth(bus: NatsBus, stream: string): Promise<string> {
  const leaders = async () => ({
    stream: (await bus.jsm.streams.info(stream)).cluster?.leader,
    consumer: (await bus.jsm.consumers.info(stream, WORK_QUEUE_CONSUMER)).cluster?.leader,
  });
  for (let i = 0; i < MAX_STEPDOWNS; i++) {
    let now: { stream?: string; consumer?: string } = {};
    await waitFor(`${stream} and its consumer have leaders`, START_MS, async () => {
      now = await leaders();
      return !!now.stream && !!now.consumer;
    });
    if (now.stream === now.consumer) return now.stream!;
    await bus.nc.request(
      `$JS.API.CONSUMER.LEADER.STEPDOWN.${stream}.${WORK_QUEUE_CONSUMER}`,
      new Uint8Array(),
      {
        timeout: 5_000,
      },
    );
  }
  throw new Error(
    `the consumer of ${stream} did not come to its stream's leader in ${MAX_STEPDOWNS} step-downs`,
  );
}

describe('on services up --ha: an etcd member and a NATS node lost mid-boot', () => {
  it('every accepted request ends ACTIVE or ERROR with a cause; none lost, none left in BUILD', {
    timeout: 480_000,
  }, async () => {
    const t0 = Date.now();
    const env = await servicesUpHa();
    const nats = env.CELLPLANE_NATS_URL!;
    const etcd = env.CELLPLANE_ETCD_URL!;
    expect(nats.split(',')).toHaveLength(3);
    expect(etcd.split(',')).toHaveLength(3);
    expect(env.CELLPLANE_STREAM_REPLICAS).toBe('3');
    const servicesMs = Date.now() - t0;

    const coordinator = new EtcdCoordinator({ hosts: etcd, prefix: `/${prefix}` });
    closers.push(() => coordinator.close());
    const mappingStore = apiStoreOf(env.CELLPLANE_REDIS_URL!, prefix);
    closers.push(() => mappingStore.close());
    const registry = new CellRegistry(coordinator, { clock: systemClock, mappingStore });
    for (const name of CELLS)
      await registry.create({ name, transport: `cp.${name}`, store: env.CELLPLANE_REDIS_URL! });
    const bus = await NatsBus.connect({ servers: nats, prefix, name: 'ha-e2e', streamReplicas: 3 });
    closers.push(() => bus.close());
    // The shards' capacity reports: booting starts once every shard leader sees all its hosts.
    const reports = new Map<string, CapacityReport>();
    for (const cell of CELLS) {
      const sub = await bus.subscribe(capacitySubject(cell), (m) => {
        const r = decode(capacityReport, m.data);
        reports.set(`${r.cell}/${r.shard}`, r);
      });
      closers.push(() => sub.unsubscribe());
    }

    // ---- the roles, given every member --------------------------------------------------
    roles = new RoleProcesses({ ...env, CELLPLANE_PREFIX: prefix });
    const procs = roles;
    const common = ['--lease-ttl-ms', String(TTL_MS), '--ack-wait-ms', String(ACK_WAIT_MS)];
    const apiProc = procs.start('api', ['api', '--port', '0']);
    const conductors = new Map<string, RoleProcess[]>();
    const schedulers = new Map<string, RoleProcess[]>();
    const agents: RoleProcess[] = [];
    for (const [i, cell] of CELLS.entries()) {
      const replica = (role: string, r: string) =>
        procs.start(`${role}-${cell}-${r}`, [
          role,
          '--cell',
          cell,
          '--shards',
          '1',
          '--replica-id',
          `${cell}-${role}-${r}`,
          ...common,
        ]);
      conductors.set(cell, [replica('conductor', 'a'), replica('conductor', 'b')]);
      schedulers.set(cell, [replica('scheduler', 'a'), replica('scheduler', 'b')]);
      agents.push(
        procs.start(`agents-${cell}`, [
          'agents',
          '--cell',
          cell,
          '--count',
          String(HOSTS_PER_CELL),
          '--vcpus',
          '16',
          '--ram-mb',
          '65536',
          '--spawn-ms',
          '2-10',
          '--seed',
          String(i + 1),
        ]),
      );
    }
    const base = (await apiProc.line(/^ready api /, START_MS)).split(' ')[2]!;
    for (const cell of CELLS) {
      await waitFor(`a conductor of ${cell} leads`, START_MS, async () =>
        Boolean(procs.lastToPrint(/^leading conductor/, conductors.get(cell))),
      );
      await waitFor(`the scheduler shard of ${cell} leads`, START_MS, async () =>
        Boolean(procs.lastToPrint(/^leading sched-0 /, schedulers.get(cell))),
      );
    }
    for (const a of agents) await a.line(/^ready agents/, START_MS);
    await waitFor('every shard leader reports all its hosts', START_MS, async () =>
      CELLS.every((cell) => reports.get(`${cell}/0`)?.hosts === HOSTS_PER_CELL),
    );
    expect(
      (await api(base, 'PUT', '/os-quota-sets/admin', { quota_set: { instances: -1, cores: -1, ram: -1 } }))
        .status,
    ).toBe(200);
    console.log(
      `ha-e2e: services up --ha in ${servicesMs} ms; ${1 + 5 * CELLS.length} role processes ready in ${Date.now() - t0} ms`,
    );

    // ---- boot, losing the etcd leader and a NATS node on the way ----------------------
    const stream = bus.names.workQueue(opsQueueName('cell1')).stream;
    await leadBoth(bus, stream);
    const faults: string[] = [];
    let killed = '';
    const killFaults = async () => {
      const state = readState(dir)!;
      const info = await bus.jsm.streams.info(stream);
      expect(info.config.num_replicas).toBe(3);
      const natsNode = info.cluster!.leader!;
      const consumerLeader = (await bus.jsm.consumers.info(stream, WORK_QUEUE_CONSUMER)).cluster?.leader;
      const etcdUrl = await etcdLeader(etcd.split(','));
      const etcdMember = state.ha!.etcd.find((m) => etcdUrl.endsWith(`:${m.client}`))!.unit;
      for (const unit of [etcdMember, natsNode]) process.kill(state.pids[unit]!, 'SIGKILL');
      faults.push(
        `SIGKILLed ${etcdMember} (etcd leader) and ${natsNode} (leader of ${stream}; its consumer led by ${consumerLeader})`,
      );
      killed = natsNode;
    };
    const accepted = new Set<string>();
    const refused: string[] = [];
    let next = 0;
    const boot = async () => {
      for (let n = next++; n < SERVERS; n = next++) {
        if (n === FAULT_AT) await killFaults();
        const r = await api(base, 'POST', '/servers', {
          server: {
            name: `ha-${String(n).padStart(4, '0')}`,
            imageRef: 'cirros',
            flavorRef: '1',
            networks: 'none',
          },
        });
        if (r.status === 202) accepted.add(r.body.server.id);
        else refused.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      }
    };
    const tBoot = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, boot));
    const acceptMs = Date.now() - tBoot;
    await waitFor(
      'every build settled',
      SETTLE_MS,
      async () => (await listAll(base, '&status=BUILD')).length === 0,
    ).catch((err: Error) => {
      const tails = [...conductors.values(), ...schedulers.values()]
        .flat()
        .flatMap((p) => p.errTail.map((l) => `[${p.name}] ${l}`));
      throw new Error(`${err.message}\n${tails.join('\n')}`);
    });
    const settleMs = Date.now() - tBoot;
    const tDrain = Date.now();
    // No job left behind: every cell's queue drains (a work queue drops what was acked), and
    // cell1's lives on under a new leader.
    for (const cell of CELLS) {
      const name = bus.names.workQueue(opsQueueName(cell)).stream;
      await waitFor(`the job queue of ${cell} drained`, SETTLE_MS, async () => {
        const now = await bus.jsm.streams.info(name);
        return now.state.messages === 0;
      });
    }
    const drainMs = Date.now() - tDrain;
    const after = await bus.jsm.streams.info(stream);
    expect(after.cluster?.leader).toBeDefined();
    expect(after.cluster?.leader).not.toBe(killed);

    // ---- the books: every 202 is a server that ended, and nothing else exists ----------
    const all = await listAll(base);
    const byId = new Map(all.map((s) => [s.id, s]));
    const missing = [...accepted].filter((id) => !byId.has(id));
    const extra = all.filter((s) => !accepted.has(s.id)).map((s) => s.id);
    const errors = all.filter((s) => s.status === 'ERROR');
    console.log(
      `ha-e2e: ${faults.join('; ')}; ${accepted.size} accepted (${refused.length} refused) in ${acceptMs} ms, all settled in ${settleMs} ms, queues drained ${drainMs} ms later; ${all.length - errors.length} ACTIVE, ${errors.length} ERROR (${[...new Set(errors.map((e) => e.fault?.message.slice(0, 80)))].join(' | ')})`,
    );
    expect(faults).toHaveLength(1);
    expect(missing).toEqual([]);
    expect(extra).toEqual([]);
    for (const s of all) {
      expect(['ACTIVE', 'ERROR'], `${s.id} ${s.status}`).toContain(s.status);
      if (s.status === 'ERROR') expect(s.fault?.message, s.id).toMatch(/\S/);
    }
    expect(errors.length).toBeLessThanOrEqual(SERVERS * MAX_ERROR_SHARE);
    expect(refused).toEqual([]);
  });
});
