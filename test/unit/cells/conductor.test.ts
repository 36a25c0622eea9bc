/**
 * The cell conductor on the memory adapters and a virtual clock, with jobs arriving through the
 * real work queue: builds end ACTIVE (usage = claims, hypervisors agree) or ERROR with a fault
 * that says why; spawn failures reschedule and release; delete frees everything; power actions
 * move the state and are recorded as instance actions; anti-affinity holds under concurrent
 * builds; a conductor that crashes mid-build loses no request and leaks no allocation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { STUCK_JOB_AFTER_MS } from '../../../cells/conductor/limits.ts';
import type { InstanceRecord } from '../../../cells/instances.ts';
import { type ConductorWorld, conductorWorld, M1, uuidOf } from './conductor-world.ts';

let w: ConductorWorld;
afterEach(async () => {
  await w?.close();
});

async function settled(n: number): Promise<InstanceRecord[]> {
  const out: InstanceRecord[] = [];
  await w.until(`${n} builds settled`, async () => {
    out.length = 0;
    for (let i = 0; i < n; i++) {
      const r = await w.get(i);
      if (!r || r.status === 'BUILD') return false;
      out.push(r);
    }
    return true;
  });
  return out;
}

/** Every provider's usage equals the claims of the instances placed on it, within capacity. */
async function expectBooksBalanced(records: readonly InstanceRecord[]) {
  const want = new Map<string, Record<string, number>>();
  for (const r of records) {
    if (!r.placement || r.status === 'ERROR') continue;
    for (const [rp, amounts] of Object.entries(r.placement.allocations)) {
      const sum = want.get(rp) ?? {};
      for (const [rc, n] of Object.entries(amounts)) sum[rc] = (sum[rc] ?? 0) + n;
      want.set(rp, sum);
    }
  }
  for (const p of await w.providers()) {
    for (const [rc, used] of Object.entries(p.usages)) {
      expect(used, `${p.uuid} ${rc}`).toBe(want.get(p.uuid)?.[rc] ?? 0);
      expect(used, `${p.uuid} ${rc} over capacity`).toBeLessThanOrEqual(p.capacity[rc]!);
    }
  }
  const onHost = new Map<string, number>();
  for (const r of records)
    if (r.status !== 'ERROR' && r.placement)
      onHost.set(r.placement.host, (onHost.get(r.placement.host) ?? 0) + 1);
  for (const h of w.roles.registrar!.hosts())
    expect(w.fleet.fake(h.host)!.listInstances().length, h.host).toBe(onHost.get(h.host) ?? 0);
}

describe('cell conductor (memory)', () => {
  it('builds 20 instances to ACTIVE on 6 hosts: usage = claims, hypervisors agree, actions recorded', async () => {
    w = await conductorWorld();
    for (let i = 0; i < 20; i++) await w.boot(i);
    const all = await settled(20);
    expect(all.filter((r) => r.status !== 'ACTIVE').map((r) => r.fault)).toEqual([]);
    for (const r of all) {
      expect(r).toMatchObject({ vmState: 'active', taskState: null, powerState: 1 });
      expect(r.launchedAt).not.toBeNull();
    }
    await expectBooksBalanced(all);
    const actions = await w.instances.actionsOf(uuidOf(3));
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ action: 'create', requestId: 'req-3', message: null });
    expect(actions[0]!.events.at(-1)).toMatchObject({
      event: 'compute__do_build_and_run_instance',
      result: 'Success',
    });
  });

  it('no valid host: ERROR with a fault naming the scheduler verdict, nothing allocated', async () => {
    w = await conductorWorld();
    await w.boot(0, { flavor: { ...M1, vcpus: 64 } });
    const [r] = await settled(1);
    expect(r!.status).toBe('ERROR');
    expect(r!.fault!.message).toMatch(/No valid host was found/);
    expect(r!.placement).toBeNull();
    await expectBooksBalanced([r!]);
    expect((await w.instances.actionsOf(uuidOf(0)))[0]!.message).toBe('Error');
  });

  it('spawn failures reschedule to alternates and release; spent attempts end in an explained ERROR', async () => {
    w = await conductorWorld({ driver: { failureRate: { spawn: 0.5 } } });
    for (let i = 0; i < 16; i++) await w.boot(i);
    const all = await settled(16);
    const rescheduled = w.events.filter((e) => e.type === 'reschedule');
    expect(rescheduled.length).toBeGreaterThan(0);
    for (const r of all.filter((x) => x.status === 'ERROR')) {
      expect(r.fault!.message).toMatch(/Exceeded maximum number of retries/);
      expect(r.triedHosts).toHaveLength(3);
    }
    expect(all.filter((r) => r.status === 'ACTIVE').length).toBeGreaterThan(0);
    await expectBooksBalanced(all);
  });

  it('delete destroys on the host, releases the claim and purges the record; deleting twice is harmless', async () => {
    w = await conductorWorld();
    for (let i = 0; i < 3; i++) await w.boot(i);
    const booted = await settled(3);
    const host = booted[1]!.placement!.host;
    await w.submit({ op: 'delete', uuid: uuidOf(1), requestId: 'del-1' });
    await w.submit({ op: 'delete', uuid: uuidOf(1), requestId: 'del-2' });
    await w.until('deleted', async () => (await w.get(1)) === undefined);
    await w.until(
      'both delete jobs done',
      () => w.events.filter((e) => e.type === 'done' && e.op === 'delete').length === 2,
    );
    expect(
      w.fleet
        .fake(host)!
        .listInstances()
        .map((i) => i.uuid),
    ).not.toContain(uuidOf(1));
    const left = [(await w.get(0))!, (await w.get(2))!];
    await expectBooksBalanced(left);
    const actions = await w.instances.actionsOf(uuidOf(1));
    // The second delete found nothing left to do (the API answers 404 by then).
    expect(actions.map((a) => a.action)).toEqual(['create', 'delete']);
    expect(actions[1]!.events[0]).toMatchObject({ event: 'compute_terminate_instance', result: 'Success' });
  });

  it('stop, start and reboot move status and power state; each is an instance action', async () => {
    w = await conductorWorld();
    await w.boot(0);
    await settled(1);
    await w.submit({ op: 'stop', uuid: uuidOf(0), requestId: 'stop-1' });
    await w.until('SHUTOFF', async () => (await w.get(0))?.status === 'SHUTOFF');
    expect(await w.get(0)).toMatchObject({ powerState: 4, vmState: 'stopped', taskState: null });
    await w.submit({ op: 'start', uuid: uuidOf(0), requestId: 'start-1' });
    await w.until('ACTIVE again', async () => (await w.get(0))?.powerState === 1);
    await w.submit({ op: 'reboot', uuid: uuidOf(0), requestId: 'reboot-1', rebootType: 'HARD' });
    await w.until('reboot recorded', async () => {
      const a = await w.instances.actionsOf(uuidOf(0));
      return a.length === 4 && a[3]!.events[0]?.result === 'Success';
    });
    const actions = await w.instances.actionsOf(uuidOf(0));
    expect(actions.map((a) => [a.action, a.events[0]?.event, a.events[0]?.result])).toEqual([
      ['create', 'compute__do_build_and_run_instance', 'Success'],
      ['stop', 'compute_stop_instance', 'Success'],
      ['start', 'compute_start_instance', 'Success'],
      ['reboot', 'compute_reboot_instance', 'Success'],
    ]);
  });

  it('anti-affinity holds under concurrent builds: one member per host, the 7th finds no host', async () => {
    w = await conductorWorld();
    const group = { uuid: 'f0000000-0000-4000-8000-0000000000aa', policy: 'anti-affinity' as const };
    for (let i = 0; i < 7; i++) await w.boot(i, { group, flavor: { ...M1, vcpus: 1, ram: 256 } });
    const all = await settled(7);
    const active = all.filter((r) => r.status === 'ACTIVE');
    expect(active).toHaveLength(6);
    expect(new Set(active.map((r) => r.placement!.host)).size).toBe(6);
    const [err] = all.filter((r) => r.status === 'ERROR');
    expect(err!.fault!.message).toMatch(/No valid host was found/);
    const g = await w.instances.groups.get(group.uuid);
    expect(Object.keys(g!.value.hosts).sort()).toEqual(active.map((r) => r.uuid).sort());
    await expectBooksBalanced(all);
  });

  it('a conductor crashing mid-build: the standby takes over, every build ends, nothing leaks', async () => {
    w = await conductorWorld({ driver: { latency: { spawn: { minMs: 2_000, maxMs: 4_000 } } } });
    const standby = await w.replica('c2');
    for (let i = 0; i < 12; i++) await w.boot(i);
    await w.until('some builds spawning', async () => {
      const r = await Promise.all([0, 1, 2, 3].map((i) => w.get(i)));
      return r.some((x) => x?.taskState === 'spawning');
    });
    await w.first.crash();
    const beforeCrash = w.events.filter((e) => e.type === 'active').length;
    expect(beforeCrash).toBeLessThan(12);
    await w.until('standby leads', () => standby.roles.conductor!.serving);
    const all = await settled(12);
    expect(all.filter((r) => r.status !== 'ACTIVE').map((r) => r.fault)).toEqual([]);
    expect(w.events.filter((e) => e.type === 'active').length).toBeGreaterThanOrEqual(12);
    await expectBooksBalanced(all);
  });
});

describe('cell conductor: jobs that cannot run', () => {
  it('a build the scheduler refuses as invalid ends ERROR with the reason; the conductor is free again', async () => {
    w = await conductorWorld();
    await w.boot(0, { flavor: { ...M1, extraSpecs: { 'trait:NOT A TRAIT': 'required' } } });
    const [r] = await settled(1);
    expect(r!.status).toBe('ERROR');
    expect(r!.fault!.message).toMatch(/invalid/);
    await w.until('conductor idle', () => w.first.roles.conductor!.busy === 0);
    await w.boot(1);
    const [, ok] = await settled(2);
    expect(ok!.status).toBe('ACTIVE');
  });

  it('a job whose step never settles is reported once as jobStuck, and keeps its ack-wait', async () => {
    w = await conductorWorld();
    const hung = uuidOf(0);
    const get = w.store.get.bind(w.store);
    // The conductor's first read of instance 0 never settles (as a dropped Redis command did).
    w.store.get = (key: string) => (key.includes(hung) ? new Promise(() => {}) : get(key));
    await w.boot(0);
    await w.boot(1);
    await settled(0);
    await w.until('instance 1 ACTIVE', async () => (await w.get(1))?.status === 'ACTIVE');
    for (let t = 0; t < STUCK_JOB_AFTER_MS + 60_000; t += 5_000) await w.clock.advance(5_000);
    const stuck = w.roleEvents.filter(
      (r) =>
        (r.e as { type: string; what?: string }).type === 'problem' &&
        (r.e as { what: string }).what === 'jobStuck',
    );
    expect(stuck).toHaveLength(1);
    expect(JSON.stringify(stuck[0]!.e)).toMatch(
      new RegExp(`build ${hung} \\(delivery 1\\) has been running for 6\\d\\d s`),
    );
    // Renewed all along: never redelivered to run beside itself.
    expect(w.events.filter((e) => e.uuid === hung)).toEqual([]);
  });

  it('a build job that comes again after the instance was deleted does not bring it back', async () => {
    w = await conductorWorld();
    const rec = await w.boot(0);
    await w.until('ACTIVE', async () => (await w.get(0))?.status === 'ACTIVE');
    await w.submit({ op: 'delete', uuid: uuidOf(0), requestId: 'del-0' });
    await w.until('deleted', async () => (await w.get(0)) === undefined);
    const before = w.events.length;
    // The same build again (as a redelivery after its conductor died would bring it).
    await w.submit({ op: 'build', uuid: uuidOf(0), requestId: 'req-0-again', record: rec });
    for (let i = 0; i < 40; i++) await w.clock.advance(250);
    expect(await w.get(0)).toBeUndefined();
    expect(w.events.slice(before).filter((e) => e.type === 'active' || e.type === 'placed')).toEqual([]);
    expect((await w.providers()).every((p) => Object.values(p.usages).every((u) => u === 0))).toBe(true);
  });
});
