/**
 * The boot path of test/unit/actors/boot-path.test.ts on real servers and real time, smaller:
 * 10 fake hosts register over NATS through the HostRegistrar (host→cell mappings in etcd, trees
 * in Redis), two scheduler shards elected in etcd follow them, and 20 instances boot 4 at a
 * time (select on both shards → claim with generations → spawn over NATS). Checked from Redis
 * and the fakes: all ACTIVE, usage = the claims, nothing over capacity, hypervisors agree.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HostRegistrar, type RegistrarEvent } from '../../actors/host-registrar.ts';
import { ActorClient } from '../../actors/runtime/client.ts';
import { SchedulerShard, shardAddress } from '../../actors/scheduler-shard.ts';
import { selectHosts } from '../../actors/scheduler-shard-messages.ts';
import { shardOf } from '../../actors/scheduler-shard-partition.ts';
import { CellRegistry } from '../../cells/lifecycle.ts';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { decode } from '../../core/codec/envelope.ts';
import { agentSubjects } from '../../host-agent/agent.ts';
import { HostAgentClient } from '../../host-agent/client.ts';
import { startFakeFleet } from '../../host-agent/fleet.ts';
import { registerHost } from '../../host-agent/messages.ts';
import { services, uniquePrefix } from '../real/services.ts';
import {
  type BootDeps,
  type BootResult,
  type BootStats,
  boot,
  claimedUsage,
  storedProviders,
} from '../unit/actors/boot-path-fixture.ts';
import { hostTrees } from '../unit/actors/provider-tree-fixture.ts';
import { eventually, smallHost } from '../unit/host-agent/helpers.ts';

const CELL = 'cell1';
const HOSTS = 10;
const REQUESTS = 20;
const SHARDS = 2;
const CONCURRENT_BOOTS = 4;
const TTL_MS = 2_000;
const DEADLINE_MS = 15_000;
/** 4 VCPU / 2 GiB: 4 per smallHost, so 40 slots for 20 instances. */
const FLAVOR = { vcpus: 4, ram: 2048, disk: 0 };

describe('boot path on NATS + etcd + Redis', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  });

  it('boots 20 instances on 10 hosts over 2 shards: usage, capacity and hypervisors agree', async () => {
    const prefix = uniquePrefix('boot');
    const bus = async (name: string) => {
      const b = await NatsBus.connect({ servers: services().nats, prefix, name });
      closers.push(() => b.close());
      return b;
    };
    const coordinator = () => {
      const c = new EtcdCoordinator({ hosts: services().etcd, prefix });
      closers.push(() => c.close());
      return c;
    };
    const store = await RedisStore.open({ url: services().redis, prefix });
    closers.push(() => store.close());

    const hosted = await hostTrees({
      bus: await bus('trees'),
      clientBus: await bus('trees-client'),
      store,
      clock: systemClock,
      scope: CELL,
    });
    closers.push(() => hosted.host.shutdown());
    const shards: SchedulerShard[] = [];
    for (let s = 0; s < SHARDS; s++) {
      const shard = new SchedulerShard({
        bus: await bus(`sched-${s}`),
        coordinator: coordinator(),
        store,
        cell: CELL,
        shard: s,
        shardCount: SHARDS,
        candidateId: `sched-${s}`,
        leaseTtlMs: TTL_MS,
      });
      shard.start();
      closers.push(() => shard.stop()); // runs before its coordinator closes (closers run reversed)
      shards.push(shard);
    }
    await eventually(() => shards.every((s) => s.serving), 'both shards serving', DEADLINE_MS);

    const cells = new CellRegistry(coordinator(), { clock: systemClock });
    const cell = await cells.create({ name: CELL, transport: 'cp.cell1', store: services().redis });
    const events: RegistrarEvent[] = [];
    const registrar = new HostRegistrar({
      bus: await bus('registrar'),
      cell: CELL,
      trees: hosted.trees,
      registrations: { subject: agentSubjects(CELL).register, parse: (d) => decode(registerHost, d) },
      memberships: cells.memberships,
      cellUuid: cell.uuid,
      onEvent: (e) => events.push(e),
    });
    await registrar.start();
    closers.push(() => registrar.stop());

    const names = Array.from({ length: HOSTS }, (_, i) => `cn${String(i).padStart(2, '0')}`);
    const fleet = await startFakeFleet({
      bus: await bus('agents'),
      clock: systemClock,
      cell: CELL,
      seed: 7,
      hosts: names.map((h) => smallHost(h)),
    });
    closers.push(() => fleet.stop());
    await eventually(() => registrar.hosts().length === HOSTS, 'every host registered', DEADLINE_MS);
    expect(events.filter((e) => e.type !== 'registered')).toEqual([]);
    expect((await cells.memberships.hostMappings(cell.uuid)).map((m) => m.host)).toEqual(names);

    const client = new ActorClient(await bus('client'), { scope: CELL, askTimeoutMs: 2_000 });
    const deps: BootDeps = {
      shardCount: SHARDS,
      select: (req, s) => client.ask(shardAddress(s), selectHosts, req),
      trees: hosted.trees,
      agents: new HostAgentClient(await bus('agent-client'), { scope: CELL, operationTimeoutMs: 5_000 }),
      registrar,
    };
    const roots = registrar.hosts().map((h) => h.root);
    const perShard = [0, 1].map((s) => roots.filter((r) => shardOf(r, SHARDS) === s).length);
    await eventually(
      async () => {
        const req = { id: `probe-${Date.now()}`, flavor: FLAVOR, numInstances: 1 };
        const seen = await Promise.all([0, 1].map((s) => deps.select(req, s)));
        return seen.every((r, s) => r.explain.hosts === perShard[s]);
      },
      'both shards see their hosts',
      DEADLINE_MS,
    );

    const stats: BootStats = { conflicts: 0, rescheduled: 0 };
    const results: BootResult[] = new Array(REQUESTS);
    let next = 0;
    const worker = async () => {
      for (let n = next++; n < REQUESTS; n = next++) results[n] = await boot(deps, n, FLAVOR, stats);
    };
    await Promise.all(Array.from({ length: CONCURRENT_BOOTS }, worker));
    console.log(`boot path (real): ${JSON.stringify(stats)}`);
    expect(results.filter((r) => r.status === 'ERROR')).toEqual([]);

    const claimed = claimedUsage(results);
    const stored = await storedProviders(store, roots);
    for (const p of stored) {
      const want = claimed.get(p.uuid) ?? {};
      for (const [rc, used] of Object.entries(p.usages)) {
        expect(used, `${p.uuid} ${rc}`).toBe(want[rc] ?? 0);
        expect(used, `${p.uuid} ${rc} over capacity`).toBeLessThanOrEqual(p.capacity[rc]!);
      }
    }
    const activeOn = new Map<string, number>();
    for (const r of results) if (r.status === 'ACTIVE') activeOn.set(r.host, (activeOn.get(r.host) ?? 0) + 1);
    for (const h of names) expect(fleet.fake(h)!.listInstances().length, h).toBe(activeOn.get(h) ?? 0);
  });
});
