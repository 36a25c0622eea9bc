/**
 * Issue #11's "done when" for reconciliation, as processes on real NATS, etcd and Redis: a cell
 * with an API, two conductors (one leads and reconciles every RECONCILE_MS), a scheduler and an
 * agents process of simulated hosts. Servers boot (a few are then stopped); the agents process is
 * killed and started again, its VMs gone. Every one of those servers must leave ACTIVE/SHUTOFF for
 * ERROR within two reconcile periods of the hosts answering again, with a fault, an instance action
 * and one log line on the leader's stderr each; then new servers boot on the same hosts, stay ACTIVE
 * through further passes, and every provider's usage equals the claims of the live servers.
 */
import { describe, expect, it } from 'vitest';
import { loadTree } from '../../actors/provider-tree.ts';
import { TREE_INDEX } from '../../actors/provider-tree-store.ts';
import { InstanceStore } from '../../cells/instances.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import type { Uuid } from '../../core/model/ids.ts';
import { providerUsages } from '../../core/placement/usages.ts';
import { services } from '../real/services.ts';
import { suiteRegistry } from './fixtures/api-store.ts';
import { api, waitFor } from './fixtures/compute-api.ts';
import { type RoleProcess, rolesOnSuiteServers } from './fixtures/roles.ts';

const CELL = 'cell1';
const HOSTS = 8;
const SERVERS = 16;
const STOPPED = 3;
const LATER = 6;
/** The conductors' reconcile period: the bound under test is two of them. */
const RECONCILE_MS = 4_000;
const START_MS = 60_000;
const SETTLE_MS = 60_000;

const { prefix, roles, closers } = rolesOnSuiteServers('rec');

interface Server {
  id: string;
  status: string;
  fault?: { message: string };
  'OS-EXT-SRV-ATTR:host': string | null;
}

async function servers(base: string): Promise<Server[]> {
  const r = await api(base, 'GET', '/servers/detail?limit=1000');
  if (r.status !== 200) throw new Error(`list: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.servers;
}

/** The reconcile lines of the leader's stderr, parsed. */
function reconcileLog(p: RoleProcess): Array<Record<string, unknown>> {
  return p.errLines
    .filter((l) => / reconcile \{/.test(l))
    .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Record<string, unknown>);
}

function agentsProcess(name: string): RoleProcess {
  return roles.start(name, [
    'agents',
    '--cell',
    CELL,
    '--count',
    String(HOSTS),
    '--vcpus',
    '16',
    '--ram-mb',
    '32768',
    '--spawn-ms',
    '2-10',
  ]);
}

describe('reconcile end to end: the agents process restarts with its VMs gone', () => {
  it('every affected server leaves ACTIVE within two reconcile periods with a fault; usage matches', {
    timeout: 300_000,
  }, async () => {
    const { redis } = services();
    const registry = suiteRegistry(prefix, closers);
    await registry.create({ name: CELL, transport: `cp.${CELL}`, store: redis });

    const common = ['--cell', CELL, '--lease-ttl-ms', '2000', '--ack-wait-ms', '5000'];
    const api0 = roles.start('api', ['api', '--port', '0']);
    const conductors = ['a', 'b'].map((r) =>
      roles.start(`conductor-${r}`, [
        'conductor',
        ...common,
        '--replica-id',
        `c${r}`,
        '--reconcile-interval-ms',
        String(RECONCILE_MS),
      ]),
    );
    const scheduler = roles.start('scheduler', ['scheduler', ...common, '--replica-id', 's']);
    let agents = agentsProcess('agents-1');
    const base = (await api0.line(/^ready api /, START_MS)).split(' ')[2]!;
    for (const p of [...conductors, scheduler, agents]) await p.line(/^ready/, START_MS);
    await scheduler.line(/^leading sched-0 /, START_MS);
    await waitFor(
      'a conductor leads',
      START_MS,
      async () => !!roles.lastToPrint(/^leading conductor/, conductors),
    );
    const leader = roles.lastToPrint(/^leading conductor/, conductors)!;
    await waitFor(
      `${HOSTS} hosts mapped`,
      START_MS,
      async () => (await registry.memberships.hostMappings()).length === HOSTS,
    );
    expect(
      (await api(base, 'PUT', '/os-quota-sets/admin', { quota_set: { instances: -1, cores: -1, ram: -1 } }))
        .status,
    ).toBe(200);

    // ---- servers, a few of them stopped ------------------------------------------------------
    const boot = async (n: number) => {
      const r = await api(base, 'POST', '/servers', {
        server: { name: `vm-${n}`, imageRef: 'cirros', flavorRef: '1', networks: 'none' },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      return r.body.server.id as string;
    };
    // The router needs the shards' first capacity report: retry a refused boot until it is there.
    await waitFor('the first boot accepted', START_MS, async () => {
      const r = await api(base, 'POST', '/servers', {
        server: { name: 'vm-0', imageRef: 'cirros', flavorRef: '1', networks: 'none' },
      });
      return r.status === 202;
    });
    for (let n = 1; n < SERVERS; n++) await boot(n);
    await waitFor(`${SERVERS} ACTIVE`, SETTLE_MS, async () => {
      const all = await servers(base);
      return all.length === SERVERS && all.every((s) => s.status === 'ACTIVE');
    });
    const before = await servers(base);
    for (const s of before.slice(0, STOPPED))
      expect((await api(base, 'POST', `/servers/${s.id}/action`, { 'os-stop': null })).status).toBe(202);
    await waitFor(
      `${STOPPED} SHUTOFF`,
      SETTLE_MS,
      async () => (await servers(base)).filter((s) => s.status === 'SHUTOFF').length === STOPPED,
    );

    // ---- the agents process dies and comes back without its VMs ----------------------------------
    agents.kill('SIGKILL');
    await agents.exited;
    // While the hosts do not answer, a pass skips them (it never takes silence for "runs nothing").
    await waitFor('a reconcile pass that skips every host', 3 * RECONCILE_MS, async () =>
      reconcileLog(leader).some((e) => e.type === 'pass' && e.skipped === HOSTS),
    );
    expect(
      (await servers(base)).filter((s) => s.status === 'ERROR'),
      'nothing corrected while the hosts were away',
    ).toEqual([]);
    agents = agentsProcess('agents-2');
    await agents.line(/^ready agents/, START_MS);
    const back = Date.now();
    await waitFor(
      `every server ERROR within two reconcile periods (${2 * RECONCILE_MS} ms)`,
      2 * RECONCILE_MS,
      async () => (await servers(base)).every((s) => s.status === 'ERROR'),
    );
    const tookMs = Date.now() - back;
    console.log(
      `reconcile e2e: ${SERVERS} servers ERROR ${tookMs} ms after the agents answered again (period ${RECONCILE_MS} ms)`,
    );
    for (const s of await servers(base)) {
      expect(s.fault?.message, s.id).toMatch(
        new RegExp(`instance ${s.id} is not running on host ${CELL}-cn\\d{4}`),
      );
      expect(s['OS-EXT-SRV-ATTR:host'], s.id).toBeNull();
    }
    const actions = (await api(base, 'GET', `/servers/${before[0]!.id}/os-instance-actions`)).body
      .instanceActions;
    expect(actions.map((a: { action: string }) => a.action)).toEqual(['reconcile', 'stop', 'create']);
    const log = reconcileLog(leader);
    const fixed = log
      .filter((e) => e.type === 'corrected')
      .map((e) => (e.correction as { uuid: string }).uuid);
    expect(fixed.sort()).toEqual(before.map((s) => s.id).sort()); // one line each
    expect(reconcileLog(conductors.find((c) => c !== leader)!)).toEqual([]); // only the leader reconciles

    // ---- new servers on the same hosts: ACTIVE through more passes; the books balance ------------
    const later: string[] = [];
    for (let n = 0; n < LATER; n++) later.push(await boot(SERVERS + n));
    await waitFor(`${LATER} new servers ACTIVE`, SETTLE_MS, async () => {
      const all = await servers(base);
      return later.every((id) => all.find((s) => s.id === id)?.status === 'ACTIVE');
    });
    const seen = reconcileLog(leader).filter((e) => e.type === 'pass').length;
    await waitFor(
      'two more passes',
      3 * RECONCILE_MS + SETTLE_MS,
      async () => reconcileLog(leader).filter((e) => e.type === 'pass').length >= seen + 2,
    );
    const all = await servers(base);
    expect(
      all
        .filter((s) => s.status === 'ACTIVE')
        .map((s) => s.id)
        .sort(),
    ).toEqual([...later].sort());
    expect(reconcileLog(leader).filter((e) => e.type === 'failed')).toEqual([]);

    const store = await RedisStore.open({ url: redis, prefix: `${prefix}.${CELL}` });
    closers.push(() => store.close());
    const want = new Map<string, Record<string, number>>();
    for await (const r of new InstanceStore(store).all()) {
      if (r.value.status === 'ERROR') {
        expect(r.value.placement, r.id).toBeNull();
        continue;
      }
      for (const [rp, amounts] of Object.entries(r.value.placement!.allocations)) {
        const sum = want.get(rp) ?? {};
        for (const [rc, v] of Object.entries(amounts)) sum[rc] = (sum[rc] ?? 0) + v;
        want.set(rp, sum);
      }
    }
    const roots = (await store.list(TREE_INDEX, { limit: 1_000 })).members;
    expect(roots).toHaveLength(HOSTS);
    let vcpus = 0;
    for (const root of roots) {
      const t = await loadTree(store, root as Uuid);
      for (const u of t.placement.subtree(root as Uuid)) {
        const used = providerUsages(t.placement.provider(u)!);
        for (const rc of ['VCPU', 'MEMORY_MB', 'DISK_GB'])
          expect(used[rc] ?? 0, `${u} ${rc}`).toBe(want.get(u)?.[rc] ?? 0);
        vcpus += used.VCPU ?? 0;
      }
    }
    expect(vcpus).toBe(LATER); // flavor 1: one VCPU each, and only the live servers hold any
  });
});
