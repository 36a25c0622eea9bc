/**
 * bootServers (cells/servers/boot.ts), the one admission path of POST /servers and the simulator:
 * quota claims before anything is mapped, the disabled-cell retry and its bound, group pinning,
 * and what is given back when a step after the claim fails. On the real ServerBackend and quota
 * ledger over memory adapters; faults injected at the ports (servers-fixture.ts).
 */
import { describe, expect, it } from 'vitest';
import { type BootStep, bootServers, MAX_CELL_CHOICES } from '../../../cells/servers/boot.ts';
import { hasCode } from '../../../core/errors.ts';
import { bootRequest, PINNED, region, uuidOf } from './servers-fixture.ts';

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error & { code: string },
  );

describe('bootServers', () => {
  it('maps, queues the build job, writes the BUILD record with its create action; one claim each', async () => {
    const r = await region();
    const steps: string[] = [];
    const onStep = (u: string, s: BootStep) => steps.push(`${u.slice(-1)} ${s.step} ${s.cell.name}`);
    const out = await bootServers(r.ports, bootRequest(1, { uuids: [uuidOf(1), uuidOf(2)], onStep }));
    expect(out.map((b) => [b.record.name, b.cell.name])).toEqual([
      ['vm-1', 'cell1'],
      ['vm-2', 'cell1'],
    ]);
    expect(steps).toEqual([
      '1 routed cell1',
      '1 mapped cell1',
      '1 queued cell1',
      '2 routed cell1',
      '2 mapped cell1',
      '2 queued cell1',
    ]);
    expect(r.jobs.map((j) => [j.job.op, j.job.uuid, j.cell])).toEqual([
      ['build', uuidOf(1), 'cell1'],
      ['build', uuidOf(2), 'cell1'],
    ]);
    expect(await r.record(uuidOf(1))).toMatchObject({
      status: 'BUILD',
      taskState: 'scheduling',
      requestId: 'req-1',
    });
    const store = await r.backend.instances(r.cell('cell1'));
    expect((await store.actionsOf(uuidOf(1))).map((a) => a.action)).toEqual(['create']);
    // m1.small: 1 core, 2048 MiB each.
    expect(await r.quota.usage('p1')).toEqual({ instances: 2, cores: 2, ram: 4096 });
  });

  it('quota: as many as fit between min and max; none fit min → quotaExceeded, nothing mapped', async () => {
    const r = await region();
    r.limits = { instances: 2 };
    const uuids = [1, 2, 3].map(uuidOf);
    expect((await bootServers(r.ports, bootRequest(1, { uuids }))).map((b) => b.record.uuid)).toEqual(
      uuids.slice(0, 2),
    );
    const e = await refusal(bootServers(r.ports, bootRequest(4)));
    expect(e?.code).toBe('quotaExceeded');
    expect(e?.message).toBe('Quota exceeded for instances: Requested 1, but already used 2 of 2 instances');
    expect(await r.backend.cellOf(uuidOf(4))).toBeUndefined();
    expect(r.jobs).toHaveLength(2);
  });

  it('a flavor with specs cellplane does not act on is refused before any claim', async () => {
    const r = await region();
    const e = await refusal(bootServers(r.ports, bootRequest(1, { flavor: PINNED })));
    expect(e?.code).toBe('invalid');
    expect(e?.message).toMatch(
      /^Flavor m1.pinned has extra specs cellplane does not act on: hw:cpu_policy=dedicated/,
    );
    expect(await r.quota.usage('p1')).toEqual({ instances: 0, cores: 0, ram: 0 });
    expect(await r.backend.cellOf(uuidOf(1))).toBeUndefined();
    expect(r.jobs).toHaveLength(0);
  });

  it('a cell disabled between the choice and the mapping: another cell takes the instance', async () => {
    const r = await region();
    let disabled = false;
    r.afterChoice = async (cell) => {
      if (disabled) return;
      disabled = true;
      await r.registry.disable(cell.name, 'maintenance');
    };
    const [b] = await bootServers(r.ports, bootRequest(1));
    expect(b!.cell.name).toBe('cell2');
    expect((await r.backend.cellOf(uuidOf(1)))?.name).toBe('cell2');
    expect(r.jobs.map((j) => j.cell)).toEqual(['cell2']);
  });

  it(`gives up after ${MAX_CELL_CHOICES} cells were disabled under it: conflict, claim given back`, async () => {
    const names = Array.from({ length: MAX_CELL_CHOICES + 1 }, (_, i) => `cell${i + 1}`);
    const r = await region(names);
    const chosen: string[] = [];
    r.afterChoice = async (cell) => {
      chosen.push(cell.name);
      await r.registry.disable(cell.name);
    };
    const e = await refusal(bootServers(r.ports, bootRequest(1)));
    expect(chosen).toEqual(names.slice(0, MAX_CELL_CHOICES)); // the last cell is never tried
    expect(e?.code).toBe('conflict');
    expect(e?.message).toMatch(new RegExp(`^Cell cell${MAX_CELL_CHOICES} does not accept new instances: `));
    expect(await r.backend.cellOf(uuidOf(1))).toBeUndefined();
    expect(await r.quota.usage('p1')).toEqual({ instances: 0, cores: 0, ram: 0 });
  });

  it('the mapping fails otherwise (coordinator unavailable): no other cell is tried, claim given back', async () => {
    const r = await region();
    const chosen: string[] = [];
    r.afterChoice = async (cell) => {
      chosen.push(cell.name);
    };
    r.fail('mapInstance');
    const e = await refusal(bootServers(r.ports, bootRequest(1)));
    expect(e?.code).toBe('unavailable');
    expect(chosen).toEqual(['cell1']);
    expect(await r.quota.usage('p1')).toEqual({ instances: 0, cores: 0, ram: 0 });
  });

  it('no cell accepts new instances: conflict (the router’s notFound, as Nova’s 409)', async () => {
    const r = await region();
    await r.registry.disable('cell1');
    await r.registry.disable('cell2');
    await r.clock.advance(10); // the directory sees both
    const e = await refusal(bootServers(r.ports, bootRequest(1)));
    expect(hasCode(e, 'conflict')).toBe(true);
    expect(e?.message).toMatch(/No cell accepts new instances/);
  });

  it('affinity: members follow the first member still mapped; its cell disabled → conflict, not moved', async () => {
    const r = await region();
    const group = { uuid: uuidOf(900), policy: 'affinity' as const };
    await bootServers(r.ports, bootRequest(1, { group }));
    await r.registry.disable('cell1'); // the router would now pick cell2 …
    await r.clock.advance(10);
    const e = await refusal(bootServers(r.ports, bootRequest(2, { group })));
    expect(e?.code).toBe('conflict'); // … but the group's cell is cell1
    expect(e?.message).toMatch(/^Cell cell1 does not accept new instances/);
    await r.registry.enable('cell1');
    await r.registry.disable('cell2');
    const anti = { uuid: uuidOf(901), policy: 'anti-affinity' as const };
    expect((await bootServers(r.ports, bootRequest(3, { group: anti })))[0]!.cell.name).toBe('cell1');
  });

  it('the job cannot be queued: that mapping is taken back; its claim and the later ones go back', async () => {
    const r = await region();
    const uuids = [1, 2, 3].map(uuidOf);
    let queued = 0;
    r.afterChoice = async () => {
      if (++queued === 2) r.fail('enqueue');
    };
    const e = await refusal(bootServers(r.ports, bootRequest(1, { uuids })));
    expect(e?.code).toBe('unavailable');
    expect((await r.backend.cellOf(uuids[0]!))?.name).toBe('cell1'); // accepted: its job is queued
    expect(await r.backend.cellOf(uuids[1]!)).toBeUndefined();
    expect(await r.backend.cellOf(uuids[2]!)).toBeUndefined();
    expect(await r.quota.usage('p1')).toEqual({ instances: 1, cores: 1, ram: 2048 });
  });

  it('joining the group fails: the instance stands (its job is queued), later claims go back', async () => {
    const r = await region();
    r.fail('addMembers');
    const group = { uuid: uuidOf(900), policy: 'anti-affinity' as const };
    const e = await refusal(bootServers(r.ports, bootRequest(1, { uuids: [uuidOf(1), uuidOf(2)], group })));
    expect(e?.code).toBe('unavailable');
    expect(r.jobs.map((j) => j.job.uuid)).toEqual([uuidOf(1)]);
    expect(await r.quota.usage('p1')).toEqual({ instances: 1, cores: 1, ram: 2048 });
  });

  it('the record write fails: still accepted, the build job carries the record for the conductor', async () => {
    const r = await region();
    r.fail('create');
    let recorded: boolean | undefined;
    await bootServers(
      r.ports,
      bootRequest(1, { onStep: (_, s) => (recorded = s.step === 'queued' ? s.recorded : recorded) }),
    );
    expect(recorded).toBe(false);
    expect(await r.record(uuidOf(1))).toBeUndefined();
    expect(r.jobs[0]!.job.record).toMatchObject({ uuid: uuidOf(1), status: 'BUILD' });
  });
});
