/**
 * A delete that runs while another job of the same instance is claiming or spawning. The
 * conductor runs jobs concurrently, so a delete can read the record (naming the new placement or
 * move target), free every claim and destroy every VM it names, and purge the record, all between
 * the other job's record write and its claim or spawn landing. Neither may outlive the record:
 * the claimer looks at the record again after claiming and frees what it claimed for an instance
 * that is going away; a spawn the record will not take because of a delete is destroyed again.
 * (A real-time simulator run showed it: a provider holding a deleted server's 1 VCPU, 2 GiB and
 * 20 GB after a cold migration raced its delete.)
 * ConductorOps alone, with trees that keep their claims and hosts that keep their VMs.
 */
import { describe, expect, it } from 'vitest';
import { ConductorOps } from '../../../cells/conductor/ops.ts';
import { buildJob, type ConductorJob } from '../../../cells/conductor-jobs.ts';
import { type InstanceRecord, InstanceStore, newInstanceRecord } from '../../../cells/instances.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { fakeCell, pick, reply } from './conductor-fakes.ts';
import { M1, uuidOf } from './conductor-world.ts';

const deleteJob: ConductorJob = {
  op: 'delete',
  uuid: uuidOf(0),
  requestId: 'del',
  userId: 'u',
  projectId: 'p',
  acceptedAt: '2026-01-01T00:00:01.000Z',
};

/** A conductor whose scheduler always picks `host`, over fresh stores and fakes. */
function world(host: string) {
  const instances = new InstanceStore(new MemoryStore());
  const cell = fakeCell();
  const ops = new ConductorOps({
    cell: 'cell1',
    instances,
    shardCount: 1,
    trees: cell.trees,
    hosts: cell.hosts,
    clock: new VirtualClock(0),
    select: async () => reply(pick(host)),
  });
  /** The delete, run just before the claim on `host` (or the spawn) lands. */
  const raceDelete = (at: 'claim' | 'spawn') => {
    const del = () => ops.run(deleteJob);
    if (at === 'claim') cell.beforeClaim(`root-${host}`, del);
    else cell.beforeSpawn(del);
  };
  return { instances, ops, cell, raceDelete };
}

const record = (more: Partial<InstanceRecord> = {}): InstanceRecord => ({
  ...newInstanceRecord(
    { uuid: uuidOf(0), name: 'vm', projectId: 'p', userId: 'u', flavor: M1, imageRef: 'i', requestId: 'r0' },
    '2026-01-01T00:00:00.000Z',
  ),
  ...more,
});

describe('a delete racing a claim or a spawn of the same instance', () => {
  it.each(['claim', 'spawn'] as const)(
    'a build whose %s lands after the delete leaves nothing behind',
    async (at) => {
      const w = world('h2');
      const rec = record();
      await w.instances.create(rec);
      w.raceDelete(at);
      await w.ops.run(buildJob(rec));
      expect(await w.instances.get(uuidOf(0))).toBeUndefined();
      expect([w.cell.claims(), w.cell.vms()]).toEqual([[], []]);
    },
  );

  it.each(['claim', 'spawn'] as const)(
    'a cold migration whose %s on the target lands after the delete leaves nothing behind',
    async (at) => {
      const w = world('h1');
      const p = pick('h2');
      // ACTIVE on h2; the API has asked for a cold migration (task resize_prep, its request id).
      await w.instances.create(
        record({
          status: 'RESIZE',
          vmState: 'active',
          taskState: 'resize_prep',
          requestId: 'mig',
          placement: { host: p.host, node: p.node, root: p.root, allocations: p.allocations },
        }),
      );
      w.cell.runs('h2', uuidOf(0));
      w.raceDelete(at);
      await w.ops.run({ ...deleteJob, op: 'migrate', requestId: 'mig' });
      expect(await w.instances.get(uuidOf(0))).toBeUndefined();
      expect([w.cell.claims(), w.cell.vms()]).toEqual([[], []]);
    },
  );
});
