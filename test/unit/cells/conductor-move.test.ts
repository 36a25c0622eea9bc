/**
 * Moves in the cell conductor (cells/conductor/move.ts) on the memory adapters and a virtual
 * clock, jobs through the real work queue: resize and cold migrate hold both claims until
 * confirm (source freed) or revert (target freed); evacuate leaves the dead host's tree; a move
 * with no host goes back where it was; a conductor crash mid-resize leaks nothing. After every
 * step the books are checked: each provider's usage = the claims the records name, within capacity.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConductorJob } from '../../../cells/conductor-jobs.ts';
import type { InstanceFlavor, InstanceRecord } from '../../../cells/instances.ts';
import { type ConductorWorld, conductorWorld, M1, uuidOf } from './conductor-world.ts';

/** Twice M1: 8 VCPU / 4096 MB (a small host has 16 VCPU at ratio 2, 16 GiB). */
const M2: InstanceFlavor = { ...M1, id: '2', name: 'm1.medium', vcpus: 8, ram: 4096 };

let w: ConductorWorld;
afterEach(async () => {
  await w?.close();
});

const rootOf = (host: string) => w.roles.registrar!.hosts().find((h) => h.host === host)!.root;

/** Boots vm-0 … vm-(n-1) (unless `booted`) and waits until all are ACTIVE. */
async function activeAll(n: number, booted = false): Promise<InstanceRecord[]> {
  if (!booted) for (let i = 0; i < n; i++) await w.boot(i);
  const out: InstanceRecord[] = [];
  await w.until(`${n} builds ACTIVE`, async () => {
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

/** What the API does for a move: the task (or the migration's status) by CAS, then the job. */
async function ask(
  n: number,
  op: ConductorJob['op'],
  requestId: string,
  more: Partial<ConductorJob> = {},
): Promise<void> {
  const rec = (await w.instances.get(uuidOf(n)))!;
  const r = rec.value;
  let next: InstanceRecord;
  if (op === 'resize' || op === 'migrate')
    next = { ...r, status: 'RESIZE', taskState: 'resize_prep', requestId };
  else if (op === 'evacuate') next = { ...r, status: 'REBUILD', taskState: 'rebuilding', requestId };
  else if (op === 'confirmResize') next = { ...r, migration: { ...r.migration!, status: 'confirming' } };
  else
    next = {
      ...r,
      status: 'REVERT_RESIZE',
      taskState: 'resize_reverting',
      migration: { ...r.migration!, status: 'reverting' },
    };
  const out = await w.instances.update(rec, next);
  expect(out.ok).toBe(true);
  await w.submit({ op, uuid: uuidOf(n), requestId, ...more });
}

async function status(n: number, want: InstanceRecord['status']): Promise<InstanceRecord> {
  await w.until(`vm-${n} ${want}`, async () => {
    const r = await w.get(n);
    return r?.status === want && r.taskState === null;
  });
  return (await w.get(n))!;
}

/**
 * The books: each provider's usage = Σ claims the records name (placement, plus a move's source
 * and target while it lasts), within capacity; each hypervisor runs what the records place on it.
 */
async function expectBooks(records: readonly InstanceRecord[], hypervisors = true) {
  const want = new Map<string, Record<string, number>>();
  const add = (allocs: Readonly<Record<string, Readonly<Record<string, number>>>>) => {
    for (const [rp, amounts] of Object.entries(allocs)) {
      const sum = want.get(rp) ?? {};
      for (const [rc, n] of Object.entries(amounts)) sum[rc] = (sum[rc] ?? 0) + n;
      want.set(rp, sum);
    }
  };
  for (const r of records) {
    const roots = new Set<string>();
    for (const p of [r.placement, r.migration?.source, r.migration?.target]) {
      if (!p || roots.has(p.root) || r.status === 'ERROR') continue;
      roots.add(p.root);
      add(p.allocations);
    }
  }
  for (const p of await w.providers()) {
    for (const [rc, used] of Object.entries(p.usages)) {
      expect(used, `${p.uuid} ${rc}`).toBe(want.get(p.uuid)?.[rc] ?? 0);
      expect(used, `${p.uuid} ${rc} over capacity`).toBeLessThanOrEqual(p.capacity[rc]!);
    }
  }
  if (!hypervisors) return;
  const onHost = new Map<string, number>();
  for (const r of records) {
    const hosts = new Set([r.placement?.host, r.migration?.source.host].filter((h) => h !== undefined));
    for (const h of hosts) onHost.set(h, (onHost.get(h) ?? 0) + 1);
  }
  for (const h of w.roles.registrar!.hosts())
    expect(w.fleet.fake(h.host)!.listInstances().length, h.host).toBe(onHost.get(h.host) ?? 0);
}

/** Used amounts of a host's root provider. */
async function usedOn(host: string): Promise<Record<string, number>> {
  const p = (await w.providers()).find((x) => x.uuid === rootOf(host))!;
  return Object.fromEntries(Object.entries(p.usages).filter(([, n]) => n > 0));
}

describe('cell conductor moves (memory)', () => {
  it('resize: VERIFY_RESIZE holds both claims; confirm frees the source and keeps the new flavor', async () => {
    w = await conductorWorld();
    const [before] = await activeAll(1);
    const source = before!.placement!.host;
    await ask(0, 'resize', 'resize-1', { flavor: M2 });
    const r = await status(0, 'VERIFY_RESIZE');
    const target = r.placement!.host;
    expect(target).not.toBe(source);
    expect(r).toMatchObject({ vmState: 'resized', flavor: M2, powerState: 1 });
    expect(r.migration).toMatchObject({
      kind: 'resize',
      status: 'finished',
      requestId: 'resize-1',
      source: { host: source },
      target: { host: target },
      oldFlavor: M1,
      newFlavor: M2,
    });
    // Source: 4 VCPU / 2048 MB (M1) still claimed; target: 8 VCPU / 4096 MB (M2).
    expect(await usedOn(source)).toMatchObject({ VCPU: 4, MEMORY_MB: 2048 });
    expect(await usedOn(target)).toMatchObject({ VCPU: 8, MEMORY_MB: 4096 });
    expect(w.fleet.fake(source)!.listInstances()).toMatchObject([{ powerState: 'shutdown' }]);
    await expectBooks([r]);
    expect(await w.instances.projectUsage('p1')).toEqual({ instances: 1, cores: 8, ram: 4096 });

    await ask(0, 'confirmResize', 'confirm-1');
    const done = await status(0, 'ACTIVE');
    expect(done).toMatchObject({ vmState: 'active', migration: null, flavor: M2 });
    expect(done.placement!.host).toBe(target);
    expect(await usedOn(source)).toEqual({});
    expect(await usedOn(target)).toMatchObject({ VCPU: 8, MEMORY_MB: 4096 });
    expect(w.fleet.fake(source)!.listInstances()).toEqual([]);
    await expectBooks([done]);
    const actions = await w.instances.actionsOf(uuidOf(0));
    expect(actions.map((a) => [a.action, a.message, a.events.map((e) => [e.event, e.result])])).toEqual([
      ['create', null, [['compute__do_build_and_run_instance', 'Success']]],
      [
        'resize',
        null,
        [
          ['cold_migrate', 'Success'],
          ['compute_finish_resize', 'Success'],
        ],
      ],
      ['confirmResize', null, [['compute_confirm_resize', 'Success']]],
    ]);
  });

  it('revert: the target is freed, the old flavor and host come back, the source runs again', async () => {
    w = await conductorWorld();
    const [before] = await activeAll(1);
    const source = before!.placement!.host;
    await ask(0, 'resize', 'resize-1', { flavor: M2 });
    const moved = await status(0, 'VERIFY_RESIZE');
    const target = moved.placement!.host;
    await ask(0, 'revertResize', 'revert-1');
    const back = await status(0, 'ACTIVE');
    expect(back).toMatchObject({ vmState: 'active', flavor: M1, migration: null, powerState: 1 });
    expect(back.placement).toEqual(before!.placement);
    expect(await usedOn(target)).toEqual({});
    expect(await usedOn(source)).toMatchObject({ VCPU: 4, MEMORY_MB: 2048 });
    expect(w.fleet.fake(target)!.listInstances()).toEqual([]);
    expect(w.fleet.fake(source)!.listInstances()).toMatchObject([{ powerState: 'running' }]);
    await expectBooks([back]);
    expect(await w.instances.projectUsage('p1')).toEqual({ instances: 1, cores: 4, ram: 2048 });
    const actions = await w.instances.actionsOf(uuidOf(0));
    expect(actions.at(-1)).toMatchObject({
      action: 'revertResize',
      events: [{ event: 'compute_revert_resize', result: 'Success', host: target }],
    });
  });

  it('cold migrate to a requested host keeps the flavor; a redelivered job changes nothing', async () => {
    w = await conductorWorld();
    const [before] = await activeAll(1);
    const source = before!.placement!.host;
    const wanted = w.roles.registrar!.hosts().find((h) => h.host !== source)!.host;
    await ask(0, 'migrate', 'mig-1', { host: wanted });
    const r = await status(0, 'VERIFY_RESIZE');
    expect(r.placement!.host).toBe(wanted);
    expect(r.flavor).toEqual(M1);
    expect(r.migration).toMatchObject({ kind: 'migration', requestedHost: wanted });
    // The same job run again (a redelivery after a lost ack): no second claim, nothing moves.
    await w.first.roles.conductor!.ops.run({
      op: 'migrate',
      uuid: uuidOf(0),
      requestId: 'mig-1',
      userId: 'u1',
      projectId: 'p1',
      acceptedAt: new Date(w.clock.now()).toISOString(),
      host: wanted,
    });
    expect(await w.get(0)).toEqual(r);
    await expectBooks([r]);
    await ask(0, 'confirmResize', 'confirm-1');
    await expectBooks([await status(0, 'ACTIVE')]);
  });

  it('a resize no host can take goes back to ACTIVE on its source with a fault; nothing held elsewhere', async () => {
    w = await conductorWorld();
    const [before] = await activeAll(1);
    await ask(0, 'resize', 'big-1', { flavor: { ...M1, id: '9', vcpus: 64 } });
    const r = await status(0, 'ACTIVE');
    expect(r).toMatchObject({ vmState: 'active', migration: null, flavor: M1, placement: before!.placement });
    expect(r.fault!.message).toMatch(/No valid host was found/);
    expect(w.fleet.fake(before!.placement!.host)!.listInstances()).toMatchObject([{ powerState: 'running' }]);
    await expectBooks([r]);
    const last = (await w.instances.actionsOf(uuidOf(0))).at(-1)!;
    expect(last).toMatchObject({ action: 'resize', message: 'Error' });
  });

  it('failed spawns on targets reschedule and release; spent attempts go back to the source', async () => {
    w = await conductorWorld({ driver: { failureRate: { spawn: 0.5 } }, maxBuildAttempts: 2 });
    for (let i = 0; i < 8; i++) await w.boot(i);
    const built: number[] = [];
    await w.until('builds settled', async () => {
      built.length = 0;
      for (let i = 0; i < 8; i++) {
        const r = await w.get(i);
        if (!r || r.status === 'BUILD') return false;
        if (r.status === 'ACTIVE') built.push(i);
      }
      return true;
    });
    const mark = w.events.length;
    for (const i of built) await ask(i, 'resize', `resize-${i}`, { flavor: M2 });
    const ends: InstanceRecord[] = [];
    await w.until('resizes settled', async () => {
      ends.length = 0;
      for (const i of built) {
        const r = await w.get(i);
        if (!r || r.taskState !== null || r.status === 'RESIZE') return false;
        ends.push(r);
      }
      return true;
    });
    const verify = ends.filter((r) => r.status === 'VERIFY_RESIZE');
    const back = ends.filter((r) => r.status === 'ACTIVE');
    expect(verify.length + back.length).toBe(built.length);
    for (const r of back) {
      expect(r.fault!.message).toMatch(/Exceeded maximum number of retries|No valid host/);
      expect(r.flavor).toEqual(M1);
    }
    expect(w.events.slice(mark).some((e) => e.type === 'reschedule')).toBe(true);
    const all = await Promise.all(Array.from({ length: 8 }, async (_, i) => (await w.get(i))!));
    await expectBooks(all);
  });

  it('delete in VERIFY_RESIZE frees both hosts', async () => {
    w = await conductorWorld();
    await activeAll(2);
    await ask(0, 'resize', 'resize-1', { flavor: M2 });
    await status(0, 'VERIFY_RESIZE');
    await w.submit({ op: 'delete', uuid: uuidOf(0), requestId: 'del-1' });
    await w.until('deleted', async () => (await w.get(0)) === undefined);
    await expectBooks([(await w.get(1))!]);
  });

  it('evacuate: a dead host’s instance is rebuilt elsewhere; the dead host’s claim is gone', async () => {
    w = await conductorWorld();
    const all = await activeAll(3);
    const dead = all[0]!.placement!.host;
    w.fleet.agents.remove(dead); // the host is gone: no heartbeats, no answers
    const victims = all.filter((r) => r.placement!.host === dead).map((r) => Number(r.name.slice(3)));
    for (const n of victims) await ask(n, 'evacuate', `evac-${n}`);
    for (const n of victims) {
      const r = await status(n, 'ACTIVE');
      expect(r.placement!.host).not.toBe(dead);
      expect(r.migration).toBeNull();
      expect(await usedOn(r.placement!.host)).toMatchObject({ MEMORY_MB: expect.any(Number) });
      const a = (await w.instances.actionsOf(uuidOf(n))).at(-1)!;
      expect(a).toMatchObject({ action: 'evacuate', message: null });
      expect(a.events.map((e) => [e.event, e.result])).toEqual([
        ['rebuild_server', 'Success'],
        ['compute_rebuild_instance', 'Success'],
      ]);
    }
    expect(await usedOn(dead)).toEqual({});
    const now = await Promise.all([0, 1, 2].map(async (n) => (await w.get(n))!));
    await expectBooks(now, false); // the dead host's hypervisor still "runs" its copies
    expect(w.events.filter((e) => e.type === 'moved' && e.kind === 'evacuation')).toHaveLength(
      victims.length,
    );
  });

  it('a conductor crashing mid-resize: the standby finishes every move, no allocation leaks', async () => {
    w = await conductorWorld({ driver: { latency: { spawn: { minMs: 2_000, maxMs: 4_000 } } } });
    const standby = await w.replica('c2');
    const n = 6;
    for (let i = 0; i < n; i++) await w.boot(i, { flavor: { ...M1, vcpus: 2, ram: 1024 } });
    await activeAll(n, true);
    for (let i = 0; i < n; i++)
      await ask(i, 'resize', `resize-${i}`, { flavor: { ...M1, vcpus: 4, ram: 2048 } });
    await w.until('some resizes spawning on their targets', async () => {
      const r = await Promise.all(Array.from({ length: n }, (_, i) => w.get(i)));
      return r.some((x) => x?.taskState === 'resize_migrating');
    });
    await w.first.crash();
    expect(w.events.filter((e) => e.type === 'moved').length).toBeLessThan(n);
    await w.until('standby leads', () => standby.roles.conductor!.serving);
    const moved: InstanceRecord[] = [];
    for (let i = 0; i < n; i++) moved.push(await status(i, 'VERIFY_RESIZE'));
    await expectBooks(moved);
    for (let i = 0; i < n; i++) await ask(i, i % 2 ? 'confirmResize' : 'revertResize', `end-${i}`);
    const ended: InstanceRecord[] = [];
    for (let i = 0; i < n; i++) ended.push(await status(i, 'ACTIVE'));
    expect(ended.map((r) => r.flavor.vcpus)).toEqual([2, 4, 2, 4, 2, 4]);
    await expectBooks(ended);
  });
});
