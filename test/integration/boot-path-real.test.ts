/**
 * The boot path of test/unit/actors/boot-path.test.ts on real servers and real time, smaller,
 * through the real conductor: 10 fake hosts register over NATS through the HostRegistrar
 * (host→cell mappings in etcd, trees in Redis), two scheduler shards elected in etcd follow them,
 * and 20 builds go to the conductor's JetStream queue at once (select on both shards → claim with
 * generations → spawn over NATS). Checked from Redis and the fakes: all ACTIVE, usage = the
 * claims, nothing over capacity, hypervisors agree.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { shardOf } from '../../actors/scheduler-shard-partition.ts';
import type { InstanceRecord } from '../../cells/instances.ts';
import { CellRegistry } from '../../cells/lifecycle.ts';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { startFakeFleet } from '../../host-agent/fleet.ts';
import { apiStoreOf } from '../e2e/fixtures/api-store.ts';
import { services, uniquePrefix } from '../real/services.ts';
import { claimedUsage, flavorOf, startBootCell, storedProviders } from '../unit/actors/boot-path-fixture.ts';
import { eventually, smallHost } from '../unit/host-agent/helpers.ts';

const CELL = 'cell1';
const HOSTS = 10;
const REQUESTS = 20;
const SHARDS = 2;
const TTL_MS = 2_000;
const DEADLINE_MS = 30_000;
/** 4 VCPU / 2 GiB: 4 per smallHost, so 40 slots for 20 instances. */
const FLAVOR = { vcpus: 4, ram: 2048, disk: 0 };

describe('boot path on NATS + etcd + Redis', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  });

  it('boots 20 instances on 10 hosts over 2 shards through the conductor: usage, capacity and hypervisors agree', async () => {
    const prefix = uniquePrefix('boot');
    const bus = async (name: string) => {
      const b = await NatsBus.connect({ servers: services().nats, prefix, name });
      closers.push(async () => {
        await b.removeStreams().catch(() => {});
        await b.close();
      });
      return b;
    };
    const coordinator = () => {
      const c = new EtcdCoordinator({ hosts: services().etcd, prefix });
      closers.push(() => c.close());
      return c;
    };
    const store = await RedisStore.open({ url: services().redis, prefix });
    closers.push(() => store.close());
    const mappingStore = apiStoreOf(services().redis, prefix);
    closers.push(() => mappingStore.close());
    const cells = new CellRegistry(coordinator(), { clock: systemClock, mappingStore });
    const cell = await cells.create({ name: CELL, transport: 'cp.cell1', store: services().redis });
    const c = await startBootCell({
      cell: CELL,
      cellUuid: cell.uuid,
      bus: await bus('roles'),
      apiBus: await bus('api'),
      coordinator: coordinator(),
      store,
      clock: systemClock,
      shardCount: SHARDS,
      memberships: cells.memberships,
      leaseTtlMs: TTL_MS,
      ackWaitMs: 5_000,
    });
    closers.push(() => c.stop()); // runs before its connections close (closers run reversed)

    const names = Array.from({ length: HOSTS }, (_, i) => `cn${String(i).padStart(2, '0')}`);
    const fleet = await startFakeFleet({
      bus: await bus('agents'),
      clock: systemClock,
      cell: CELL,
      seed: 7,
      hosts: names.map((h) => smallHost(h)),
    });
    closers.push(() => fleet.stop());
    const registrar = c.roles.registrar!;
    await eventually(
      () =>
        registrar.hosts().length === HOSTS &&
        c.roles.shards.every((s) => s.serving) &&
        c.roles.conductor!.serving,
      'every host registered, shards and conductor serving',
      DEADLINE_MS,
    );
    expect((await cells.memberships.hostMappings(cell.uuid)).map((m) => m.host)).toEqual(names);
    const roots = registrar.hosts().map((h) => h.root);
    expect(new Set(roots.map((r) => shardOf(r, SHARDS))).size).toBe(SHARDS); // both shards own hosts

    for (let n = 0; n < REQUESTS; n++) await c.boot(n, flavorOf(FLAVOR));
    const records: InstanceRecord[] = [];
    await eventually(
      async () => {
        records.length = 0;
        for (let n = 0; n < REQUESTS; n++) {
          const r = await c.record(n);
          if (!r || r.status === 'BUILD') return false;
          records.push(r);
        }
        return true;
      },
      `${REQUESTS} builds settled`,
      DEADLINE_MS,
    );
    const count = (t: string) => c.events.filter((e) => e.type === t).length;
    console.log(`boot path (real): conflicts ${count('conflict')}, rescheduled ${count('reschedule')}`);
    expect(records.filter((r) => r.status !== 'ACTIVE').map((r) => r.fault)).toEqual([]);

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
    for (const r of records) activeOn.set(r.placement!.host, (activeOn.get(r.placement!.host) ?? 0) + 1);
    for (const h of names) expect(fleet.fake(h)!.listInstances().length, h).toBe(activeOn.get(h) ?? 0);
  });
});
