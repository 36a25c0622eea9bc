/**
 * The conductor leader's reconcile pass (cells/reconcile.ts) on the memory adapters and a virtual
 * clock, with the real conductor, trees, shards and fake hosts: each correction, what it must leave
 * alone, and the power action that finds its VM gone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../../../cells/instances.ts';
import type { ReconcileEvent } from '../../../cells/reconcile.ts';
import { CORRECTION_EVENTS, RECONCILE_ACTION } from '../../../cells/reconcile-fix.ts';
import { startFakeFleet } from '../../../host-agent/fleet.ts';
import { smallHost } from '../host-agent/helpers.ts';
import { CELL, type ConductorWorld, conductorWorld, uuidOf } from './conductor-world.ts';

/** The reconcile period of these tests (virtual). */
const PERIOD_MS = 10_000;
const HOSTS = Array.from({ length: 4 }, (_, i) => smallHost(`cn${i}`));

let w: ConductorWorld;
afterEach(async () => {
  await w?.close();
});

async function world(opts: Parameters<typeof conductorWorld>[0] = {}) {
  w = await conductorWorld({ hosts: HOSTS, reconcile: { intervalMs: PERIOD_MS }, ...opts });
  return w;
}

const events = () => w.roleEvents.filter((x) => x.what === 'reconcile').map((x) => x.e as ReconcileEvent);
const corrections = (kind?: string) =>
  events().flatMap((e) =>
    e.type === 'corrected' && (!kind || e.correction.kind === kind) ? [e.correction] : [],
  );
const passes = () => events().filter((e) => e.type === 'pass').length;

async function activeAll(n: number): Promise<InstanceRecord[]> {
  for (let i = 0; i < n; i++) await w.boot(i);
  const out: InstanceRecord[] = [];
  await w.until(`${n} ACTIVE`, async () => {
    out.length = 0;
    for (let i = 0; i < n; i++) {
      const r = await w.get(i);
      if (r?.status !== 'ACTIVE') return false;
      out.push(r);
    }
    return true;
  });
  return out;
}

/** Each provider's usage equals the claims of the instances placed on it that are not ERROR. */
async function expectUsageMatchesLive() {
  const want = new Map<string, Record<string, number>>();
  for await (const { value: r } of w.instances.all()) {
    if (!r.placement || r.status === 'ERROR') continue;
    for (const [rp, amounts] of Object.entries(r.placement.allocations)) {
      const sum = want.get(rp) ?? {};
      for (const [rc, n] of Object.entries(amounts)) sum[rc] = (sum[rc] ?? 0) + n;
      want.set(rp, sum);
    }
  }
  for (const p of await w.providers())
    for (const [rc, used] of Object.entries(p.usages))
      expect(used, `${p.uuid} ${rc}`).toBe(want.get(p.uuid)?.[rc] ?? 0);
}

/** Waits until `passes()` grew by `n` (passes are the clock of these assertions). */
async function afterPasses(n: number) {
  const until = passes() + n;
  await w.until(`${n} more reconcile passes`, () => passes() >= until, (n + 1) * PERIOD_MS);
}

describe('reconcile: records follow what the hosts run', () => {
  it('the agents restart with their VMs gone: every server leaves ACTIVE within two periods, with a fault; usage follows', async () => {
    await world();
    const booted = await activeAll(8);
    await w.fleet.stop(); // the agents process dies …
    const bus = w.broker.connect();
    const fleet = await startFakeFleet({ bus, clock: w.clock, cell: CELL, seed: 12, hosts: HOSTS }); // … and comes back empty
    const restartedAt = w.clock.now();
    try {
      await w.until(
        'every server ERROR',
        async () => (await Promise.all(booted.map((_, i) => w.get(i)))).every((r) => r?.status === 'ERROR'),
        2 * PERIOD_MS,
      );
      console.log(`reconcile: 8 servers ERROR ${w.clock.now() - restartedAt} virtual ms after the restart`);
      for (let i = 0; i < booted.length; i++) {
        const r = (await w.get(i))!;
        expect(r.fault!.message).toMatch(
          new RegExp(`instance ${uuidOf(i)} is not running on host ${booted[i]!.placement!.host}`),
        );
        expect(r).toMatchObject({ vmState: 'error', taskState: null, placement: null, powerState: 0 });
        const action = (await w.instances.actionsOf(uuidOf(i))).find((a) => a.action === RECONCILE_ACTION)!;
        expect(action).toMatchObject({ message: 'Error', userId: 'cellplane-conductor', projectId: 'p1' });
        expect(action.events[0]).toMatchObject({ event: CORRECTION_EVENTS.vmMissing, result: 'Error' });
      }
      expect(corrections('vmMissing')).toHaveLength(8);
      await expectUsageMatchesLive();
      for (const p of await w.providers()) expect(p.usages.VCPU ?? 0).toBe(0);
    } finally {
      await fleet.stop();
      await bus.close();
    }
  });

  it('one host lost its VMs: only its servers go to ERROR; the others stay ACTIVE through more passes', async () => {
    await world();
    const booted = await activeAll(8);
    const host = booted[0]!.placement!.host;
    const fake = w.fleet.fake(host)!;
    for (const vm of fake.listInstances()) await fake.destroy(vm.uuid);
    const gone = booted.flatMap((r, i) => (r.placement!.host === host ? [i] : []));
    await w.until(
      `the ${gone.length} servers of ${host} ERROR`,
      async () => (await Promise.all(gone.map((i) => w.get(i)))).every((r) => r?.status === 'ERROR'),
      2 * PERIOD_MS,
    );
    await afterPasses(2);
    for (let i = 0; i < booted.length; i++)
      if (!gone.includes(i)) expect((await w.get(i))!.status, `vm-${i}`).toBe('ACTIVE');
    expect(corrections()).toHaveLength(gone.length);
    await expectUsageMatchesLive();
  });

  it('power drift: a VM that stopped or crashed makes the record SHUTOFF; one running under SHUTOFF makes it ACTIVE', async () => {
    await world();
    const [a, b] = await activeAll(2);
    await w.fleet.fake(a!.placement!.host)!.powerOff(a!.uuid);
    w.fleet.fake(b!.placement!.host)!.crash(b!.uuid);
    await w.until(
      'both SHUTOFF',
      async () => (await w.get(0))?.status === 'SHUTOFF' && (await w.get(1))?.status === 'SHUTOFF',
      2 * PERIOD_MS,
    );
    expect(await w.get(0)).toMatchObject({ vmState: 'stopped', powerState: 4, fault: null });
    await w.fleet.fake(a!.placement!.host)!.powerOn(a!.uuid);
    await w.until('vm-0 ACTIVE again', async () => (await w.get(0))?.status === 'ACTIVE', 2 * PERIOD_MS);
    expect(await w.get(0)).toMatchObject({ vmState: 'active', powerState: 1, placement: a!.placement });
    const events0 = (await w.instances.actionsOf(uuidOf(0))).filter((x) => x.action === RECONCILE_ACTION);
    expect(events0.map((x) => x.events[0]!.details)).toEqual([
      expect.stringMatching(/reports the VM shutdown while the record said ACTIVE; record set to SHUTOFF/),
      expect.stringMatching(/reports the VM running while the record said SHUTOFF; record set to ACTIVE/),
    ]);
    expect(corrections('powerState')).toHaveLength(3);
    await expectUsageMatchesLive(); // power changes move no allocation
  });

  it('a host back after an evacuation: its copy of the evacuated server is destroyed there', async () => {
    await world();
    const [r] = await activeAll(1);
    const dead = r!.placement!.host;
    const fake = w.fleet.fake(dead)!;
    w.fleet.agents.remove(dead); // gone: no answers (the reconciler skips it meanwhile)
    const rec = (await w.instances.get(uuidOf(0)))!;
    await w.instances.update(rec, {
      ...rec.value,
      status: 'REBUILD',
      taskState: 'rebuilding',
      requestId: 'evac',
    });
    await w.submit({ op: 'evacuate', uuid: uuidOf(0), requestId: 'evac' });
    await w.until('rebuilt elsewhere', async () => {
      const x = await w.get(0);
      return x?.status === 'ACTIVE' && x.placement!.host !== dead && !x.migration;
    });
    await afterPasses(1);
    expect(fake.listInstances().map((v) => v.uuid)).toEqual([uuidOf(0)]); // skipped while it did not answer
    w.fleet.agents.add(fake); // the host comes back with what it ran
    await w.until('the stale copy destroyed', () => fake.listInstances().length === 0, 2 * PERIOD_MS);
    const [c] = corrections('strayDestroyed');
    expect(c).toMatchObject({ uuid: uuidOf(0), host: dead });
    expect(c!.detail).toMatch(/the record places it on cn/);
    expect((await w.get(0))!.status).toBe('ACTIVE');
    const actions = await w.instances.actionsOf(uuidOf(0));
    expect(actions.at(-1)).toMatchObject({
      action: RECONCILE_ACTION,
      events: [{ event: CORRECTION_EVENTS.strayDestroyed }],
    });
    await expectUsageMatchesLive();
  });

  it('a server deleted while its host did not answer: the host, back, has its VM destroyed', async () => {
    await world({ registry: true });
    const [r] = await activeAll(1);
    const host = r!.placement!.host;
    const fake = w.fleet.fake(host)!;
    w.fleet.agents.remove(host);
    await w.submit({ op: 'delete', uuid: uuidOf(0), requestId: 'del' });
    await w.until('deleted locally', async () => (await w.get(0)) === undefined);
    w.fleet.agents.add(fake);
    await w.until('the VM reaped', () => fake.listInstances().length === 0, 2 * PERIOD_MS);
    expect(corrections('strayDestroyed')[0]!.detail).toMatch(/the instance was deleted/);
    expect((await w.instances.actionsOf(uuidOf(0))).map((a) => a.action)).toEqual([
      'create',
      'delete',
      RECONCILE_ACTION,
    ]);
  });

  it('a VM with no record at all is destroyed only after two passes saw it, and leaves no action behind', async () => {
    await world({ registry: true });
    await activeAll(1);
    const fake = w.fleet.fake('cn3')!;
    const stranger = 'e0000000-0000-4000-8000-000000000001';
    await fake.spawn({ uuid: stranger, resources: { VCPU: 1, MEMORY_MB: 512 }, devices: [] });
    await afterPasses(1);
    expect(fake.listInstances().map((v) => v.uuid)).toContain(stranger);
    await w.until(
      'the stranger destroyed',
      () => fake.listInstances().every((v) => v.uuid !== stranger),
      2 * PERIOD_MS,
    );
    expect(corrections('strayDestroyed')[0]!.detail).toMatch(/no record of it, seen in 2 passes/);
    expect(await w.instances.actionsOf(stranger)).toEqual([]);
  });

  it('a VM whose record is gone but whose instance is still mapped is reported and left running', async () => {
    await world({ registry: true });
    const [r] = await activeAll(1);
    await w.cells!.registry.memberships.mapInstance(uuidOf(0), w.cells!.cellUuid, 'p1'); // as the API did
    await w.instances.purge((await w.instances.get(uuidOf(0)))!); // the record lost, not deleted
    await afterPasses(3);
    expect(
      w.fleet
        .fake(r!.placement!.host)!
        .listInstances()
        .map((v) => v.uuid),
    ).toEqual([uuidOf(0)]);
    const found = events().filter((e) => e.type === 'found');
    expect(found.length).toBeGreaterThanOrEqual(2);
    expect(found[0]).toMatchObject({
      uuid: uuidOf(0),
      detail: expect.stringMatching(/no record of it \(store lost\?\); left running/),
    });
    expect(corrections()).toEqual([]);
  });

  it('a host that does not answer is skipped, not taken for empty; a record with a task is left alone', async () => {
    await world();
    const booted = await activeAll(8);
    const host = booted[0]!.placement!.host;
    w.fleet.agents.remove(host);
    const other = booted.find((r) => r.placement!.host !== host)!;
    const n = booted.indexOf(other);
    const rec = (await w.instances.get(other.uuid))!;
    await w.instances.update(rec, { ...rec.value, taskState: 'powering-off' }); // accepted, job not run yet
    await w.fleet.fake(other.placement!.host)!.destroy(other.uuid);
    await afterPasses(2);
    const last = events()
      .filter((e) => e.type === 'pass')
      .at(-1)!;
    expect(last).toMatchObject({ hosts: 4, asked: 3, skipped: 1, failed: 0 });
    for (let i = 0; i < booted.length; i++) expect((await w.get(i))!.status, `vm-${i}`).toBe('ACTIVE');
    expect(corrections()).toEqual([]);
    expect((await w.get(n))!.taskState).toBe('powering-off');
  });

  it('builds that spawn for seconds while passes run every second end ACTIVE, with no correction at all', async () => {
    w = await conductorWorld({
      hosts: HOSTS,
      reconcile: { intervalMs: 1_000, hostsInFlight: 2 },
      driver: { latency: { spawn: { minMs: 500, maxMs: 4_000 }, destroy: { minMs: 100, maxMs: 900 } } },
    });
    const booted = await activeAll(12);
    for (const i of [0, 3, 6]) await w.submit({ op: 'delete', uuid: uuidOf(i), requestId: `del-${i}` });
    await w.until('3 deleted', async () =>
      (await Promise.all([0, 3, 6].map((i) => w.get(i)))).every((r) => !r),
    );
    await afterPasses(3);
    expect(corrections()).toEqual([]);
    expect(events().filter((e) => e.type === 'failed')).toEqual([]);
    expect(booted).toHaveLength(12);
    await expectUsageMatchesLive();
  });
});

describe('a power action that finds the VM gone', () => {
  it('os-stop of a server whose VM vanished: ERROR with a fault, allocations released, the stop action says why', async () => {
    await world({ reconcile: { intervalMs: 3_600_000 } }); // no pass gets there first
    const [r] = await activeAll(1);
    await w.fleet.fake(r!.placement!.host)!.destroy(r!.uuid);
    const rec = (await w.instances.get(uuidOf(0)))!;
    await w.instances.update(rec, { ...rec.value, taskState: 'powering-off' });
    await w.submit({ op: 'stop', uuid: uuidOf(0), requestId: 'stop-1' });
    await w.until('ERROR', async () => (await w.get(0))?.status === 'ERROR');
    const after = (await w.get(0))!;
    expect(after).toMatchObject({ taskState: null, placement: null, vmState: 'error' });
    expect(after.fault!.message).toMatch(/^stop: notFound: instance .* is not on host cn\d; set to ERROR/);
    const stop = (await w.instances.actionsOf(uuidOf(0))).find((a) => a.requestId === 'stop-1')!;
    expect(stop).toMatchObject({ action: 'stop', message: 'Error' });
    expect(stop.events.map((e) => [e.event, e.result])).toEqual([
      ['compute_stop_instance', 'Error'],
      [CORRECTION_EVENTS.vmMissing, 'Error'],
    ]);
    expect(corrections('vmMissing')).toHaveLength(1); // logged like the reconciler's
    await expectUsageMatchesLive();
  });
});
