/**
 * The first end-to-end boot path, without a conductor, on the memory bus / coordinator / store
 * and a VirtualClock: 50 fake hosts in one cell register through the HostRegistrar (which maps
 * each host to the cell and registers its tree on the provider-tree actors), two scheduler
 * shards (one replica each) follow the trees, then 100 instances boot, 8 at a time so that
 * concurrent picks of the same host really conflict: select on both shards → claim with the
 * snapshot generations (conflict → next pick) → spawn on the host agent (5% of spawns fail and
 * reschedule, releasing their claim). Then one host stops heartbeating: the HeartbeatMonitor
 * (expecting every registered host) marks it down, its shard stops offering it (even forced),
 * and 10 more boots land elsewhere. Checked at the end, from the store and the fakes:
 * every request ACTIVE or failed with a reason; per-provider usage = sum of the ACTIVE claims;
 * no provider over capacity; each fake hypervisor's instances = the ACTIVE claims on it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HostRegistrar, type RegistrarEvent } from '../../../actors/host-registrar.ts';
import { ActorClient } from '../../../actors/runtime/client.ts';
import { SchedulerShard, shardAddress } from '../../../actors/scheduler-shard.ts';
import { selectHosts } from '../../../actors/scheduler-shard-messages.ts';
import { shardOf } from '../../../actors/scheduler-shard-partition.ts';
import { CellRegistry } from '../../../cells/lifecycle.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { decode } from '../../../core/codec/envelope.ts';
import { agentSubjects } from '../../../host-agent/agent.ts';
import { HostAgentClient } from '../../../host-agent/client.ts';
import { startFakeFleet } from '../../../host-agent/fleet.ts';
import { registerHost, serviceTransition } from '../../../host-agent/messages.ts';
import { HeartbeatMonitor } from '../../../host-agent/monitor.ts';
import { smallHost } from '../host-agent/helpers.ts';
import {
  type BootDeps,
  type BootResult,
  type BootStats,
  boot,
  claimedUsage,
  storedProviders,
} from './boot-path-fixture.ts';
import { hostTrees } from './provider-tree-fixture.ts';

const CELL = 'cell1';
const HOSTS = 50;
const REQUESTS = 100;
const SHARDS = 2;
/** Boots in flight at once: enough for two of them to pick the same host. */
const CONCURRENT_BOOTS = 8;
/** 4 VCPU / 2 GiB: a smallHost (16 VCPU at ratio 2, 15.5 GiB usable) takes 4, so 200 slots for 100. */
const FLAVOR = { vcpus: 4, ram: 2048, disk: 0 };
/** Heartbeats every 10 s (the agents' default): a host silent for 30 s is down. */
const GRACE_MS = 30_000;
/** Boots after one host went down: none of them may land on it. */
const AFTER_DOWN = 10;

describe('boot path: registrar → tree actors → shards → claim → spawn (memory)', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  });

  it('boots 100 instances on 50 hosts over 2 shards: usage, capacity and hypervisors agree', async () => {
    const clock = new VirtualClock(0);
    const broker = new MemoryBroker({ clock });
    const coordination = new MemoryCoordinationServer(clock);
    const store = new MemoryStore();
    const bus = () => {
      const b = broker.connect();
      closers.push(() => b.close());
      return b;
    };
    const until = async (what: string, check: () => boolean | Promise<boolean>, maxMs = 20_000) => {
      for (let waited = 0; !(await check()); waited += 10) {
        if (waited > maxMs) throw new Error(`not within ${maxMs} virtual ms: ${what}`);
        await clock.advance(10);
      }
    };

    const subjects = agentSubjects(CELL);
    const monitor = new HeartbeatMonitor({
      clock,
      graceMs: GRACE_MS,
      publish: { bus: bus(), subject: subjects.service },
    });
    const beats = await monitor.listen(bus(), subjects.heartbeat);
    closers.push(async () => {
      monitor.close();
      await beats.unsubscribe();
    });
    const hosted = await hostTrees({ bus: bus(), clientBus: bus(), store, clock, scope: CELL });
    closers.push(() => hosted.host.shutdown());
    for (let s = 0; s < SHARDS; s++) {
      const coordinator = coordination.client();
      const shard = new SchedulerShard({
        bus: bus(),
        coordinator,
        store,
        cell: CELL,
        shard: s,
        shardCount: SHARDS,
        candidateId: `sched-${s}`,
        serviceEvents: { subject: subjects.service, parse: (d) => decode(serviceTransition, d) },
        sleep: (ms) => clock.sleep(ms),
      });
      shard.start();
      closers.push(async () => {
        await shard.stop();
        await coordinator.close();
      });
      await until(`shard ${s} serving`, () => shard.serving);
    }

    const cells = new CellRegistry(coordination.client(), { clock });
    const cell = await cells.create({ name: CELL, transport: 'cp.cell1', store: 'memory://cell1' });
    const events: RegistrarEvent[] = [];
    const registrar = new HostRegistrar({
      bus: bus(),
      cell: CELL,
      trees: hosted.trees,
      registrations: { subject: subjects.register, parse: (d) => decode(registerHost, d) },
      memberships: cells.memberships,
      cellUuid: cell.uuid,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'registered') monitor.expect(e.host.host); // down if never heard within the grace
      },
    });
    await registrar.start();
    closers.push(() => registrar.stop());

    const agentBus = bus();
    const names = Array.from({ length: HOSTS }, (_, i) => `cn${String(i).padStart(3, '0')}`);
    const fleet = await startFakeFleet({
      bus: agentBus,
      clock,
      cell: CELL,
      seed: 4,
      hosts: names.map((h) => smallHost(h)),
      driver: { failureRate: { spawn: 0.05 } },
    });
    closers.push(() => fleet.stop());
    fleet.agents.registerAll(); // a resync: registering twice changes nothing

    const client = new ActorClient(bus(), { scope: CELL, askTimeoutMs: 2_000 });
    const deps: BootDeps = {
      shardCount: SHARDS,
      select: (req, s) => client.ask(shardAddress(s), selectHosts, req),
      trees: hosted.trees,
      agents: new HostAgentClient(bus(), { scope: CELL, operationTimeoutMs: 5_000 }),
      registrar,
    };
    await until('every host registered', async () => {
      await registrar.idle();
      return registrar.hosts().length === HOSTS;
    });
    expect(events.filter((e) => e.type !== 'registered')).toEqual([]);
    expect(events.filter((e) => e.type === 'registered' && e.changed)).toHaveLength(HOSTS);
    expect((await cells.memberships.hostMappings(cell.uuid)).map((m) => m.host)).toEqual(names);
    const roots = registrar.hosts().map((h) => h.root);
    const perShard = [0, 1].map((s) => roots.filter((r) => shardOf(r, SHARDS) === s).length);
    expect(Math.min(...perShard)).toBeGreaterThan(0); // both shards own hosts
    await until('both shards see their hosts', async () => {
      const req = { id: 'probe', flavor: FLAVOR, numInstances: 1 };
      const seen = await Promise.all([0, 1].map((s) => deps.select(req, s)));
      return seen.every((r, s) => r.explain.hosts === perShard[s]);
    });

    const stats: BootStats = { conflicts: 0, rescheduled: 0 };
    const results: BootResult[] = new Array(REQUESTS);
    let next = 0;
    const worker = async () => {
      for (let n = next++; n < REQUESTS; n = next++) results[n] = await boot(deps, n, FLAVOR, stats);
    };
    await Promise.all(Array.from({ length: CONCURRENT_BOOTS }, worker));
    console.log(`boot path (memory): ${JSON.stringify(stats)}`);

    // 200 slots for 100 instances and every failure reschedules: all of them end ACTIVE (an
    // ERROR shows up in the diff with its reason: conflict, noValidHost explain, spawn error).
    expect(results.filter((r) => r.status === 'ERROR')).toEqual([]);
    expect(stats.rescheduled).toBeGreaterThan(0); // the 5% failure rate was exercised
    expect(stats.conflicts).toBeGreaterThan(0); // concurrent picks of one host did collide (deterministic here)

    // A host stops heartbeating: the monitor marks it down, the shards stop offering it.
    const down = names[0]!;
    const downShard = shardOf(registrar.host(down)!.root, SHARDS);
    const downReq = (id: string) => ({
      id,
      flavor: FLAVOR,
      numInstances: 1,
      forceHosts: [down],
      isAdmin: true,
    });
    expect((await deps.select(downReq('force-up'), downShard)).outcome).toBe('selected');
    fleet.agents.agent(down)!.missHeartbeats(-1);
    await until(
      `${down} down in its shard`,
      async () => {
        if (monitor.state(down) !== 'down') return false;
        return (await deps.select(downReq(`force-${clock.now()}`), downShard)).outcome === 'noValidHost';
      },
      3 * GRACE_MS,
    );
    for (let n = REQUESTS; n < REQUESTS + AFTER_DOWN; n++) {
      const r = await boot(deps, n, FLAVOR, stats);
      expect(r).toMatchObject({ status: 'ACTIVE' });
      expect(r.status === 'ACTIVE' && r.host).not.toBe(down);
      results.push(r);
    }

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
    for (const h of names) {
      expect(fleet.fake(h)!.listInstances().length, h).toBe(activeOn.get(h) ?? 0);
      expect(stored.find((p) => p.uuid === registrar.host(h)!.root)!.consumers, h).toBe(activeOn.get(h) ?? 0);
    }
  });
});
