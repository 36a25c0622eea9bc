/**
 * Races inside one build. A build whose record changed under it never writes over what it finds:
 * a placement that appeared meanwhile (an unexpected hand: fencing keeps stale leaders out) is
 * finished, not replaced by the build's own pick. And a server group member whose first pick
 * keeps conflicting goes on to its next pick in the same round: undoing the first pick moved the
 * group's generation, which used to fail every next pick as a "race", for ever (the livelock a
 * cells-e2e run showed: 'server group kept changing' on every delivery).
 * ConductorOps alone, with the scheduler, trees and hosts as small fakes that record calls.
 */
import { describe, expect, it } from 'vitest';
import { ConductorOps } from '../../../cells/conductor/ops.ts';
import { buildJob } from '../../../cells/conductor-jobs.ts';
import { InstanceStore, newInstanceRecord } from '../../../cells/instances.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { fakeCell, pick, reply } from './conductor-fakes.ts';
import { M1, uuidOf } from './conductor-world.ts';

describe('build: races inside one build', () => {
  it('a group member whose first pick keeps conflicting lands on its next pick, in one delivery', async () => {
    const instances = new InstanceStore(new MemoryStore());
    const group = { uuid: 'f0000000-0000-4000-8000-000000000001', policy: 'anti-affinity' as const };
    const rec = newInstanceRecord(
      {
        uuid: uuidOf(0),
        name: 'vm',
        projectId: 'p',
        userId: 'u',
        flavor: M1,
        imageRef: 'i',
        requestId: 'r0',
        group,
      },
      '2026-01-01T00:00:00.000Z',
    );
    await instances.create(rec);
    const f = fakeCell(new Set(['root-h1'])); // a view stale about h1: every claim there conflicts
    let selects = 0;
    const ops = new ConductorOps({
      cell: 'cell1',
      instances,
      shardCount: 1,
      trees: f.trees,
      hosts: f.hosts,
      clock: new VirtualClock(0),
      select: async () => {
        selects++;
        const r = reply(pick('h1'));
        return { ...r, selections: [{ ...r.selections[0]!, alternates: [pick('h2')] }] };
      },
    });
    await ops.run(buildJob(rec));
    const after = (await instances.get(uuidOf(0)))!.value;
    expect([after.status, after.placement?.host]).toEqual(['ACTIVE', 'h2']);
    expect(f.spawned).toEqual(['h2']);
    expect(selects).toBe(1);
    expect((await instances.groups.get(group.uuid))?.value.hosts).toEqual({ [uuidOf(0)]: 'h2' });
  });

  it('a placement that appeared meanwhile is finished, not replaced by the pick', async () => {
    const instances = new InstanceStore(new MemoryStore());
    const rec = newInstanceRecord(
      {
        uuid: uuidOf(0),
        name: 'vm',
        projectId: 'p',
        userId: 'u',
        flavor: M1,
        imageRef: 'i',
        requestId: 'r0',
      },
      '2026-01-01T00:00:00.000Z',
    );
    await instances.create(rec);
    const f = fakeCell();
    const ops = new ConductorOps({
      cell: 'cell1',
      instances,
      shardCount: 1,
      trees: f.trees,
      hosts: f.hosts,
      clock: new VirtualClock(0),
      // While the scheduler answers, another hand places the instance on h1.
      select: async () => {
        const cur = (await instances.get(uuidOf(0)))!;
        if (!cur.value.placement) {
          const p = pick('h1');
          await instances.update(cur, {
            ...cur.value,
            placement: { host: p.host, node: p.node, root: p.root, allocations: p.allocations },
            taskState: 'spawning',
          });
        }
        return reply(pick('h2'));
      },
    });
    await ops.run(buildJob(rec));
    const after = (await instances.get(uuidOf(0)))!.value;
    expect([after.status, after.placement?.host]).toEqual(['ACTIVE', 'h1']);
    expect(f.spawned).toEqual(['h1']);
    expect(f.claimed).toEqual(['root-h1']);
  });
});
