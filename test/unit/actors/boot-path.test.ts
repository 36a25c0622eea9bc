/**
 * The boot path through the real conductor, on the memory bus / coordinator / store and a
 * VirtualClock: 50 fake hosts in one cell register through the HostRegistrar (which maps each
 * host to the cell and registers its tree on the provider-tree actors), two scheduler shards
 * follow the trees, and 100 builds are handed to the conductor's durable queue at once, so that
 * concurrent picks of the same host really conflict: select on both shards → claim with the
 * snapshot generations (conflict → next pick) → spawn on the host agent (5% of spawns fail and
 * reschedule, releasing their claim). Then one host stops heartbeating: the conductor's service
 * monitor marks it down, its shard stops offering it (even forced), and 10 more boots land
 * elsewhere. Checked at the end, from the store and the fakes: every build ACTIVE; per-provider
 * usage = sum of the ACTIVE claims; no provider over capacity; each fake hypervisor's instances
 * = the ACTIVE claims on it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorClient } from '../../../actors/runtime/client.ts';
import { shardAddress } from '../../../actors/scheduler-shard.ts';
import { selectHosts } from '../../../actors/scheduler-shard-messages.ts';
import { shardOf } from '../../../actors/scheduler-shard-partition.ts';
import type { InstanceRecord } from '../../../cells/instances.ts';
import { CellRegistry } from '../../../cells/lifecycle.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { startFakeFleet } from '../../../host-agent/fleet.ts';
import { smallHost } from '../host-agent/helpers.ts';
import { claimedUsage, flavorOf, startBootCell, storedProviders } from './boot-path-fixture.ts';

const CELL = 'cell1';
const HOSTS = 50;
const REQUESTS = 100;
const SHARDS = 2;
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

  it('boots 100 instances on 50 hosts over 2 shards through the conductor: usage, capacity and hypervisors agree', async () => {
    const clock = new VirtualClock(0);
    const broker = new MemoryBroker({ clock });
    const coordination = new MemoryCoordinationServer(clock);
    const store = new MemoryStore();
    const bus = () => {
      const b = broker.connect();
      closers.push(() => b.close());
      return b;
    };
    const until = async (
      what: string,
      check: () => boolean | Promise<boolean>,
      maxMs = 60_000,
      stepMs = 10,
    ) => {
      for (let waited = 0; !(await check()); waited += stepMs) {
        if (waited > maxMs) throw new Error(`not within ${maxMs} virtual ms: ${what}`);
        await clock.advance(stepMs);
      }
    };
    const cells = new CellRegistry(coordination.client(), { clock, mappingStore: new MemoryStore() });
    const cell = await cells.create({ name: CELL, transport: 'cp.cell1', store: 'memory://cell1' });
    const c = await startBootCell({
      cell: CELL,
      cellUuid: cell.uuid,
      bus: bus(),
      apiBus: bus(),
      coordinator: coordination.client(),
      store,
      clock,
      shardCount: SHARDS,
      memberships: cells.memberships,
      serviceDownMs: GRACE_MS,
      askTimeoutMs: 2_000,
    });
    closers.push(() => c.stop());
    const names = Array.from({ length: HOSTS }, (_, i) => `cn${String(i).padStart(3, '0')}`);
    const fleet = await startFakeFleet({
      bus: bus(),
      clock,
      cell: CELL,
      seed: 4,
      hosts: names.map((h) => smallHost(h)),
      driver: { failureRate: { spawn: 0.05 } },
    });
    closers.push(() => fleet.stop());
    fleet.agents.registerAll(); // a resync: registering twice changes nothing
    const registrar = c.roles.registrar!;
    await until('every host registered, shards and conductor serving', async () => {
      await registrar.idle();
      return (
        registrar.hosts().length === HOSTS &&
        c.roles.shards.every((s) => s.serving) &&
        c.roles.conductor!.serving
      );
    });
    expect((await cells.memberships.hostMappings(cell.uuid)).map((m) => m.host)).toEqual(names);
    const roots = registrar.hosts().map((h) => h.root);
    const perShard = [0, 1].map((s) => roots.filter((r) => shardOf(r, SHARDS) === s).length);
    expect(Math.min(...perShard)).toBeGreaterThan(0); // both shards own hosts
    const client = new ActorClient(bus(), { scope: CELL, askTimeoutMs: 2_000 });
    const select = (req: Parameters<typeof client.ask>[2], s: number) =>
      client.ask(shardAddress(s), selectHosts, req);
    await until('both shards see their hosts', async () => {
      const req = { id: 'probe', flavor: FLAVOR, numInstances: 1 };
      const seen = await Promise.all([0, 1].map((s) => select(req, s)));
      return seen.every((r, s) => r.explain.hosts === perShard[s]);
    });

    const settled = async (from: number, to: number) => {
      const out: InstanceRecord[] = [];
      await until(`builds ${from}..${to - 1} settled`, async () => {
        out.length = 0;
        for (let n = from; n < to; n++) {
          const r = await c.record(n);
          if (!r || r.status === 'BUILD') return false;
          out.push(r);
        }
        return true;
      });
      return out;
    };
    for (let n = 0; n < REQUESTS; n++) await c.boot(n, flavorOf(FLAVOR));
    const records = await settled(0, REQUESTS);
    const count = (t: string) => c.events.filter((e) => e.type === t).length;
    console.log(`boot path (memory): conflicts ${count('conflict')}, rescheduled ${count('reschedule')}`);

    // 200 slots for 100 instances and every failure reschedules: all of them end ACTIVE (an
    // ERROR shows up in the diff with its fault).
    expect(records.filter((r) => r.status !== 'ACTIVE').map((r) => r.fault)).toEqual([]);
    expect(count('reschedule')).toBeGreaterThan(0); // the 5% failure rate was exercised
    expect(count('conflict')).toBeGreaterThan(0); // concurrent picks of one host did collide (deterministic here)

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
    expect((await select(downReq('force-up'), downShard)).outcome).toBe('selected');
    fleet.agents.agent(down)!.missHeartbeats(-1);
    await until(
      `${down} down in its shard`,
      async () => (await select(downReq(`force-${clock.now()}`), downShard)).outcome === 'noValidHost',
      4 * GRACE_MS,
      1_000,
    );
    for (let n = REQUESTS; n < REQUESTS + AFTER_DOWN; n++) await c.boot(n, flavorOf(FLAVOR));
    const after = await settled(REQUESTS, REQUESTS + AFTER_DOWN);
    for (const r of after) {
      expect(r.status, r.uuid).toBe('ACTIVE');
      expect(r.placement!.host, r.uuid).not.toBe(down);
    }
    records.push(...after);

    const claimed = claimedUsage(records);
    const stored = await storedProviders(store, roots);
    for (const p of stored) {
      const want = claimed.get(p.uuid) ?? {};
      for (const [rc, used] of Object.entries(p.usages)) {
        expect(used, `${p.uuid} ${rc}`).toBe(want[rc] ?? 0);
        expect(used, `${p.uuid} ${rc} over capacity`).toBeLessThanOrEqual(p.capacity[rc]!);
      }
    }
    const activeOn = new Map<string, number>();
    for (const r of records)
      if (r.status === 'ACTIVE') activeOn.set(r.placement!.host, (activeOn.get(r.placement!.host) ?? 0) + 1);
    for (const h of names) {
      expect(fleet.fake(h)!.listInstances().length, h).toBe(activeOn.get(h) ?? 0);
      expect(stored.find((p) => p.uuid === registrar.host(h)!.root)!.consumers, h).toBe(activeOn.get(h) ?? 0);
    }
  });
});
