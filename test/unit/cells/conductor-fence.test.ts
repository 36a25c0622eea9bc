/**
 * Fencing of the conductor's writes: a leader that lost its lease and goes on working on the jobs
 * in its hands cannot write beside the new leader. The store-level rule first, then on the real
 * conductor (memory adapters, virtual clock): a leader cut off from the coordinator mid-spawn
 * has its next write refused, and the new leader finishes the build, once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConductorFence, FENCE_KEY, isFenced, isFenceLost } from '../../../cells/conductor/fence.ts';
import { InstanceStore, newInstanceRecord } from '../../../cells/instances.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { type ConductorWorld, conductorWorld, M1, uuidOf } from './conductor-world.ts';

function record(n: number) {
  return newInstanceRecord(
    {
      uuid: uuidOf(n),
      name: `vm-${n}`,
      projectId: 'p',
      userId: 'u',
      flavor: M1,
      imageRef: 'i',
      requestId: `r${n}`,
    },
    '2026-01-01T00:00:00.000Z',
  );
}

describe('conductor fence (store level)', () => {
  it('a write of an earlier holder fails with a retryable fenced conflict; the holder of the day writes', async () => {
    const store = new MemoryStore();
    const a = new ConductorFence(store, 'a', () => 0);
    const b = new ConductorFence(store, 'b', () => 0);
    const viaA = new InstanceStore(store, a);
    const viaB = new InstanceStore(store, b);
    await a.take();
    expect(await viaA.create(record(0))).toBe(true);
    await b.take(); // b leads now
    const cur = (await viaA.get(uuidOf(0)))!;
    const stale = await viaA.update(cur, { ...cur.value, taskState: 'spawning' }).catch((e: unknown) => e);
    expect(isFenced(stale)).toBe(true);
    expect(stale).toMatchObject({ code: 'conflict', retryable: true });
    expect(isFenceLost(stale)).toBe(false);
    expect((await viaB.update(cur, { ...cur.value, taskState: 'spawning' })).ok).toBe(true);
  });

  it('a fence the store lost is told apart (the leader takes it again), and writes go on after', async () => {
    const store = new MemoryStore();
    const a = new ConductorFence(store, 'a', () => 0);
    const viaA = new InstanceStore(store, a);
    await a.take();
    await viaA.create(record(0));
    await store.commit([{ op: 'delete', key: FENCE_KEY }]); // as a store that lost its data
    const cur = (await viaA.get(uuidOf(0)))!;
    const err = await viaA.update(cur, { ...cur.value, taskState: 'spawning' }).catch((e: unknown) => e);
    expect(isFenceLost(err)).toBe(true);
    await a.take();
    expect((await viaA.update(cur, { ...cur.value, taskState: 'spawning' })).ok).toBe(true);
  });
});

describe('conductor fence (memory world)', () => {
  let w: ConductorWorld;
  afterEach(async () => {
    await w?.close();
  });

  it('a leader cut off from the coordinator mid-spawn has its next write refused; the new leader finishes the build once', async () => {
    w = await conductorWorld({ driver: { latency: { spawn: { minMs: 4_500, maxMs: 4_500 } } } });
    const standby = await w.replica('c2');
    await w.boot(0);
    await w.until('spawning', async () => (await w.get(0))?.taskState === 'spawning');
    w.first.stall(); // its lease lapses in 3 s, its spawn ends at 4.5 s (the agent call times out at 5 s): then it writes ACTIVE
    await w.until('standby leads', () => standby.roles.conductor!.serving);
    await w.until('ACTIVE', async () => (await w.get(0))?.status === 'ACTIVE', 60_000);
    const fenced = w.roleEvents.filter((r) => (r.e as { type: string }).type === 'fenced');
    expect(fenced.map((r) => (r.e as { job: string }).job)).toEqual([`build ${uuidOf(0)}`]);
    expect(w.events.filter((e) => e.type === 'active').map((e) => e.uuid)).toEqual([uuidOf(0)]);
    const vms = w.roles.registrar!.hosts().flatMap((h) => w.fleet.fake(h.host)!.listInstances());
    expect(vms).toHaveLength(1);
    const used = (await w.providers()).filter((p) => Object.values(p.usages).some((u) => u > 0));
    expect(used).toHaveLength(1);
  });
});
