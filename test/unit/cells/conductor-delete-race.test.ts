/**
 * A delete that runs while another job of the same instance is claiming. The conductor runs jobs
 * concurrently, so a delete can read the record (naming the new placement or move target), free
 * every claim it names and purge the record, all between the other job's record write and its
 * claim landing on the tree. The claim must not outlive the record: the claimer looks at the
 * record again after claiming and frees what it claimed for an instance that is going away.
 * (A real-time simulator run showed it: a provider holding a deleted server's 1 VCPU, 2 GiB and
 * 20 GB after a cold migration raced its delete.)
 * ConductorOps alone, with trees that keep their claims and hosts as small fakes.
 */
import { describe, expect, it } from 'vitest';
import type { ProviderTreeClient } from '../../../actors/provider-tree-client.ts';
import type { HostPick, SelectReply } from '../../../actors/scheduler-shard-messages.ts';
import { buildJob, type ConductorJob } from '../../../cells/conductor-jobs.ts';
import { ConductorOps, type InstanceHosts, type SpawnVerdict } from '../../../cells/conductor-ops.ts';
import { InstanceStore, newInstanceRecord } from '../../../cells/instances.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { M1, uuidOf } from './conductor-world.ts';

const pick = (host: string): HostPick => ({
  host,
  node: host,
  root: `root-${host}`,
  allocations: { [`root-${host}`]: { VCPU: 4 } },
  generations: { [`root-${host}`]: 1 },
});

const reply = (p: HostPick): SelectReply => ({
  requestId: 'r',
  shard: 0,
  outcome: 'selected',
  retryable: false,
  message: '',
  selections: [{ ...p, instance: 0, alternates: [] }],
  explain: {
    profile: 'default',
    snapshotGeneration: 1,
    hosts: 2,
    evaluated: 2,
    feasible: 2,
    skipped: [],
    rejected: [],
    resolvableRejections: 0,
  },
});

/**
 * Trees that remember who holds what, per root, and hosts that remember what runs where. The
 * first claim on `raceRoot` lets `beforeClaim` run (the racing delete) before it lands.
 */
function world(raceRoot: string, selectHost: string) {
  const instances = new InstanceStore(new MemoryStore());
  const held = new Map<string, Set<string>>();
  const running = new Map<string, Set<string>>();
  let beforeClaim: (() => Promise<void>) | undefined;
  let beforeSpawn: (() => Promise<void>) | undefined;
  const trees = {
    claim: async (root: string, c: { consumer: string }) => {
      if (root === raceRoot && beforeClaim) {
        const race = beforeClaim;
        beforeClaim = undefined;
        await race();
      }
      held.set(root, (held.get(root) ?? new Set()).add(c.consumer));
      return { ok: true, reply: { replayed: false, version: 2, generations: {} } };
    },
    release: async (root: string, consumer: string) => {
      held.get(root)?.delete(consumer);
      return { released: true };
    },
  } as unknown as ProviderTreeClient;
  const hosts: InstanceHosts = {
    spawn: async (host, spec) => {
      const race = beforeSpawn;
      beforeSpawn = undefined;
      await race?.();
      running.set(host, (running.get(host) ?? new Set()).add(spec.uuid));
    },
    destroy: async (host, uuid) => running.get(host)?.delete(uuid) ?? false,
    reboot: async () => {},
    stop: async () => {},
    start: async () => {},
    spawnVerdict: (): SpawnVerdict => 'fatal',
    vmGone: () => false,
  };
  const ops = new ConductorOps({
    cell: 'cell1',
    instances,
    shardCount: 1,
    trees,
    hosts,
    clock: new VirtualClock(0),
    select: async () => reply(pick(selectHost)),
  });
  const claims = () =>
    [...held].flatMap(([root, who]) => [...who].map((consumer) => `${consumer} on ${root}`));
  const vms = () => [...running].flatMap(([host, who]) => [...who].map((uuid) => `${uuid} on ${host}`));
  return {
    instances,
    ops,
    claims,
    vms,
    /** `f` runs just before the first claim on the race root lands (or, `atSpawn`, the first spawn). */
    raceWith(f: () => Promise<void>, atSpawn = false) {
      if (atSpawn) beforeSpawn = f;
      else beforeClaim = f;
    },
    /** `uuid` runs on `host` and holds its claim there (what a finished build leaves). */
    runs(host: string, uuid: string) {
      running.set(host, (running.get(host) ?? new Set()).add(uuid));
      held.set(`root-${host}`, (held.get(`root-${host}`) ?? new Set()).add(uuid));
    },
  };
}

const record = () =>
  newInstanceRecord(
    { uuid: uuidOf(0), name: 'vm', projectId: 'p', userId: 'u', flavor: M1, imageRef: 'i', requestId: 'r0' },
    '2026-01-01T00:00:00.000Z',
  );

const deleteJob: ConductorJob = {
  op: 'delete',
  uuid: uuidOf(0),
  requestId: 'del',
  userId: 'u',
  projectId: 'p',
  acceptedAt: '2026-01-01T00:00:01.000Z',
};

describe('a delete racing a claim of the same instance', () => {
  it('a build whose claim lands after the delete freed and purged leaves no claim behind', async () => {
    const w = world('root-h2', 'h2');
    const rec = record();
    await w.instances.create(rec);
    w.raceWith(() => w.ops.run(deleteJob));
    await w.ops.run(buildJob(rec));
    expect(await w.instances.get(uuidOf(0))).toBeUndefined();
    expect(w.claims()).toEqual([]);
    expect(w.vms()).toEqual([]);
  });

  it('a build whose spawn lands after the delete destroyed and purged leaves no VM behind', async () => {
    const w = world('root-h2', 'h2');
    const rec = record();
    await w.instances.create(rec);
    w.raceWith(() => w.ops.run(deleteJob), true);
    await w.ops.run(buildJob(rec));
    expect(await w.instances.get(uuidOf(0))).toBeUndefined();
    expect(w.claims()).toEqual([]);
    expect(w.vms()).toEqual([]);
  });

  it('a cold migration whose target claim lands after the delete leaves no claim behind', async () => {
    const w = world('root-h1', 'h1');
    const p = pick('h2');
    // ACTIVE on h2; the API has asked for a cold migration (task resize_prep, its request id).
    await w.instances.create({
      ...record(),
      status: 'RESIZE',
      vmState: 'active',
      taskState: 'resize_prep',
      requestId: 'mig',
      placement: { host: p.host, node: p.node, root: p.root, allocations: p.allocations },
    });
    w.runs('h2', uuidOf(0));
    w.raceWith(() => w.ops.run(deleteJob));
    await w.ops.run({ ...deleteJob, op: 'migrate', requestId: 'mig' });
    expect(await w.instances.get(uuidOf(0))).toBeUndefined();
    expect(w.claims()).toEqual([]);
    expect(w.vms()).toEqual([]);
  });

  it('a cold migration whose spawn on the target lands after the delete leaves no VM behind', async () => {
    const w = world('root-h1', 'h1');
    const p = pick('h2');
    await w.instances.create({
      ...record(),
      status: 'RESIZE',
      vmState: 'active',
      taskState: 'resize_prep',
      requestId: 'mig',
      placement: { host: p.host, node: p.node, root: p.root, allocations: p.allocations },
    });
    w.runs('h2', uuidOf(0));
    w.raceWith(() => w.ops.run(deleteJob), true);
    await w.ops.run({ ...deleteJob, op: 'migrate', requestId: 'mig' });
    expect(await w.instances.get(uuidOf(0))).toBeUndefined();
    expect(w.claims()).toEqual([]);
    expect(w.vms()).toEqual([]);
  });
});
