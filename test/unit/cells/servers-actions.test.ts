/**
 * The use cases on an existing server (cells/servers/delete.ts, power.ts, move.ts): each refusal
 * is a coded error and writes nothing; an accepted one sets the task (or the migration's status)
 * by compare-and-set, then queues the job; a job that cannot be queued puts the record back.
 * Real ServerBackend and quota ledger over memory adapters; no conductor runs, so the tests play
 * its part by writing the records it would (servers-fixture.ts).
 */
import { describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../../../cells/instances.ts';
import { bootServers } from '../../../cells/servers/boot.ts';
import { deleteServer } from '../../../cells/servers/delete.ts';
import { type MoveRequest, moveServer } from '../../../cells/servers/move.ts';
import { powerServer } from '../../../cells/servers/power.ts';
import { bootRequest, FLAVOR, type Region, region, uuidOf } from './servers-fixture.ts';

const WHO = { requestId: 'req-op', userId: 'u2', projectId: 'p2' };
const ID = uuidOf(1);
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error & { code: string },
  );

/** One server, placed on cn1 by the conductor the test plays: `change` adjusts the record. */
async function server(change: Partial<InstanceRecord> = {}): Promise<Region> {
  const r = await region();
  await bootServers(r.ports, bootRequest(1));
  const store = await r.backend.instances(r.cell('cell1'));
  const cur = (await store.get(ID))!;
  const placement = { host: 'cn1', node: 'cn1', root: uuidOf(500), allocations: {} };
  const out = await store.update(cur, {
    ...cur.value,
    status: 'ACTIVE',
    vmState: 'active',
    taskState: null,
    powerState: 1,
    placement,
    ...change,
  });
  expect(out.ok).toBe(true);
  r.jobs.length = 0;
  return r;
}

describe('power: reboot, stop, start', () => {
  // action, vm_state, expected: task set, or the 409's words
  const table: Array<[Parameters<typeof powerServer>[2]['action'], boolean, string, string]> = [
    ['stop', false, 'active', 'task powering-off'],
    ['stop', false, 'stopped', "Cannot 'stop' instance … while it is in vm_state stopped"],
    ['start', false, 'stopped', 'task powering-on'],
    ['start', false, 'active', "Cannot 'start' instance … while it is in vm_state active"],
    ['reboot', false, 'active', 'task rebooting'],
    ['reboot', false, 'error', "Cannot 'reboot' instance … while it is in vm_state error"],
    ['reboot', true, 'error', 'task rebooting_hard'],
  ];
  for (const [action, hard, vmState, expected] of table)
    it(`${action}${hard ? ' HARD' : ''} in ${vmState}: ${expected}`, async () => {
      const r = await server({ vmState: vmState as InstanceRecord['vmState'] });
      const e = await refusal(powerServer(r.ports, ID, { ...WHO, action, hard }));
      if (expected.startsWith('task ')) {
        expect(e).toBeUndefined();
        expect((await r.record(ID))?.taskState).toBe(expected.slice(5));
        expect(r.jobs.map((j) => j.job)).toMatchObject([
          { op: action, uuid: ID, requestId: 'req-op', userId: 'u2', projectId: 'p2' },
        ]);
      } else {
        expect(e?.code).toBe('conflict');
        expect(e?.message).toBe(expected.replace('…', ID));
        expect(r.jobs).toEqual([]);
      }
    });

  it('another task runs: 409 naming it; a job that cannot be queued takes the task back', async () => {
    const r = await server({ taskState: 'spawning' });
    const busy = await refusal(powerServer(r.ports, ID, { ...WHO, action: 'stop' }));
    expect(busy?.message).toBe(`Cannot 'stop' instance ${ID} while it is in task_state spawning`);
    const idle = await server();
    idle.fail('enqueue');
    expect((await refusal(powerServer(idle.ports, ID, { ...WHO, action: 'stop' })))?.code).toBe(
      'unavailable',
    );
    expect((await idle.record(ID))?.taskState).toBeNull();
  });
});

describe('delete', () => {
  it('any state: task deleting, the job, the server leaves its group; a second delete is asked again', async () => {
    const r = await server({ taskState: 'spawning', group: { uuid: uuidOf(900), policy: 'anti-affinity' } });
    await r.ports.groups.addMembers(uuidOf(900), [ID]);
    await deleteServer(r.ports, ID, WHO);
    await deleteServer(r.ports, ID, WHO);
    expect((await r.record(ID))?.taskState).toBe('deleting');
    expect(r.jobs.map((j) => j.job.op)).toEqual(['delete', 'delete']);
    expect(await r.ports.groups.members(uuidOf(900))).toEqual([]);
    // The claim stays until the conductor has purged the record.
    expect((await r.quota.usage('p1')).instances).toBe(1);
  });

  it('an unknown server: notFound as Nova words it', async () => {
    const r = await region();
    const e = await refusal(deleteServer(r.ports, uuidOf(7), WHO));
    expect([e?.code, e?.message]).toEqual(['notFound', `Instance ${uuidOf(7)} could not be found.`]);
  });
});

const PINNED_REFUSAL =
  'Flavor m1.pinned has extra specs cellplane does not act on: ' +
  'hw:cpu_policy=dedicated: CPU pinning (dedicated CPUs) is not supported by cellplane yet; ' +
  'hw:numa_nodes=2: guest NUMA topologies are not supported by cellplane yet. ' +
  'Remove them from the flavor or use another flavor.';

describe('moves', () => {
  const resize = (flavorRef: string): MoveRequest => ({ ...WHO, action: 'resize', flavorRef });

  it('resize: RESIZE/resize_prep with the request id, the job carries the new flavor; upsize claimed', async () => {
    const r = await server();
    await moveServer(r.ports, ID, resize('4'));
    expect(await r.record(ID)).toMatchObject({
      status: 'RESIZE',
      taskState: 'resize_prep',
      requestId: 'req-op',
    });
    expect(r.jobs.map((j) => j.job)).toMatchObject([{ op: 'resize', flavor: { id: '4', vcpus: 4 } }]);
    // The claim holds the larger flavor until the move settles: 4 cores, 8192 MiB.
    expect(await r.quota.usage('p1')).toEqual({ instances: 1, cores: 4, ram: 8192 });
  });

  it('refusals, each coded and writing nothing', async () => {
    const r = await server();
    r.limits = { cores: 2 };
    const cases: Array<[MoveRequest, string, string]> = [
      [resize('9'), 'invalid', 'Unable to locate requested flavor.'],
      [resize(FLAVOR.id), 'invalid', 'When resizing, instances must change flavor!'],
      [resize('5'), 'invalid', PINNED_REFUSAL],
      [resize('4'), 'quotaExceeded', 'Quota exceeded for cores: Requested 3, but already used 1 of 2 cores'],
      [{ ...WHO, action: 'migrate', host: 'nowhere' }, 'invalid', 'Compute host nowhere could not be found.'],
      [
        { ...WHO, action: 'migrate', host: 'cn1' },
        'invalid',
        `Unable to migrate instance (${ID}) to current host (cn1).`,
      ],
      [{ ...WHO, action: 'evacuate', host: 'nowhere' }, 'notFound', 'Compute host nowhere not found.'],
      [{ ...WHO, action: 'evacuate' }, 'conflict', 'Compute service of cn1 is still in use.'],
      [
        { ...WHO, action: 'confirmResize' },
        'conflict',
        `Cannot 'confirmResize' instance ${ID} while it is in vm_state active`,
      ],
    ];
    const before = await r.record(ID);
    for (const [req, code, message] of cases) {
      const e = await refusal(moveServer(r.ports, ID, req));
      expect([e?.code, e?.message], JSON.stringify(req)).toEqual([code, message]);
    }
    expect(await r.record(ID)).toEqual(before);
    expect(r.jobs).toEqual([]);
  });

  it('evacuate from a host that is down: REBUILD/rebuilding, the job names the target', async () => {
    const r = await server();
    r.down.add('cn1');
    await moveServer(r.ports, ID, { ...WHO, action: 'evacuate', host: 'cn2' });
    expect(await r.record(ID)).toMatchObject({ status: 'REBUILD', taskState: 'rebuilding' });
    expect(r.jobs.map((j) => j.job)).toMatchObject([{ op: 'evacuate', host: 'cn2' }]);
  });

  it('revertResize of a finished move; a job that cannot be queued puts status, task, migration back', async () => {
    const r = await server();
    await moveServer(r.ports, ID, { ...WHO, action: 'migrate' });
    // The conductor moved it: VERIFY_RESIZE with a finished migration.
    const store = await r.backend.instances(r.cell('cell1'));
    const cur = (await store.get(ID))!;
    const migration = {
      kind: 'migration' as const,
      requestId: 'req-op',
      status: 'finished' as const,
      source: cur.value.placement!,
      target: { ...cur.value.placement!, host: 'cn2', node: 'cn2' },
      oldFlavor: FLAVOR,
      newFlavor: FLAVOR,
      triedHosts: [],
      previousVmState: 'active' as const,
      startedAt: new Date(r.clock.now()).toISOString(),
    };
    await store.update(cur, {
      ...cur.value,
      status: 'VERIFY_RESIZE',
      vmState: 'resized',
      taskState: null,
      migration,
    });
    const waiting = await r.record(ID);
    r.fail('enqueue');
    expect((await refusal(moveServer(r.ports, ID, { ...WHO, action: 'revertResize' })))?.code).toBe(
      'unavailable',
    );
    expect(await r.record(ID)).toMatchObject({ status: 'VERIFY_RESIZE', taskState: null, migration });
    await moveServer(r.ports, ID, { ...WHO, action: 'revertResize' });
    expect(await r.record(ID)).toMatchObject({
      status: 'REVERT_RESIZE',
      taskState: 'resize_reverting',
      migration: { status: 'reverting' },
      requestId: waiting?.requestId, // confirm/revert keep the move's request id
    });
  });
});
