/**
 * The Coordinator contract (core/ports/coordinator.ts), run once per adapter. It tests
 * etcd's semantics, not only the happy paths: CAS only against the expected modRevision,
 * watches in revision order with replay, keys vanishing with their lease, and leadership
 * lost when a leader's keep-alives stop. Time passes through the world (`eventually`,
 * `pass`): virtual time for the memory adapter, polling with deadlines on a real server.
 */
import { describe, expect, it } from 'vitest';
import type { WatchEvent } from '../../core/ports/coordinator.ts';
import { electionContract } from './coordinator-election.contract.ts';
import { type CoordinatorWorldFactory, useWorld } from './coordinator-world.ts';

export type { CoordinatorWorld, CoordinatorWorldFactory } from './coordinator-world.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

export function coordinatorContract(label: string, factory: CoordinatorWorldFactory): void {
  describe(`Coordinator contract: ${label}`, () => {
    kvContract(factory);
    watchContract(factory);
    leaseContract(factory);
    electionContract(factory);
  });
}

function kvContract(factory: CoordinatorWorldFactory): void {
  describe('kv', () => {
    const ctx = useWorld(factory);

    it('put/get track create and mod revisions and the version; revisions strictly increase', async () => {
      const c = ctx.open();
      expect(await c.get('a')).toBeUndefined();
      const r1 = await c.put('a', enc('one'));
      const r2 = await c.put('a', enc('two'));
      const r3 = await c.put('b', new Uint8Array([0, 255, 128]));
      expect(r2).toBeGreaterThan(r1);
      expect(r3).toBeGreaterThan(r2);
      const a = await c.get('a');
      expect(a).toMatchObject({ key: 'a', createRevision: r1, modRevision: r2, version: 2 });
      expect(dec(a!.value)).toBe('two');
      expect(a!.leaseId).toBeUndefined();
      expect([...(await c.get('b'))!.value]).toEqual([0, 255, 128]);
    });

    it('cas writes only against the expected modRevision; 0 means "must not exist"', async () => {
      const c = ctx.open();
      const created = await c.cas('k', enc('v1'), 0);
      expect(created.ok).toBe(true);
      const rev1 = created.ok ? created.revision : -1;
      // A second create loses and is told what is there.
      const again = await c.cas('k', enc('other'), 0);
      expect(again.ok).toBe(false);
      if (!again.ok) expect(again.current).toMatchObject({ key: 'k', modRevision: rev1, version: 1 });
      const updated = await c.cas('k', enc('v2'), rev1);
      expect(updated.ok).toBe(true);
      // The revision just used is stale now.
      const stale = await c.cas('k', enc('v3'), rev1);
      expect(stale.ok).toBe(false);
      if (!stale.ok && updated.ok) {
        expect(stale.current).toMatchObject({
          modRevision: updated.revision,
          createRevision: rev1,
          version: 2,
        });
        expect(dec(stale.current!.value)).toBe('v2');
      }
      expect(dec((await c.get('k'))!.value)).toBe('v2');
      // Against a key that does not exist, any non-zero expectation fails with no current entry.
      expect(await c.cas('missing', enc('x'), rev1)).toEqual({ ok: false, current: undefined });
      expect(await c.get('missing')).toBeUndefined();
    });

    it('delete, unconditional and against an expected modRevision', async () => {
      const c = ctx.open();
      const r = await c.put('d', enc('x'));
      expect(await c.delete('d', { expectedModRevision: r + 1000 })).toBe(false);
      expect(await c.get('d')).toBeDefined();
      expect(await c.delete('d', { expectedModRevision: r })).toBe(true);
      expect(await c.get('d')).toBeUndefined();
      expect(await c.delete('d')).toBe(false);
      await c.put('e', enc('y'));
      expect(await c.delete('e')).toBe(true);
      // Re-created keys start over: new createRevision, version 1.
      const again = await c.put('d', enc('z'));
      expect(await c.get('d')).toMatchObject({ createRevision: again, version: 1 });
    });

    it('lists by prefix in key order', async () => {
      const c = ctx.open();
      for (const k of ['b', 'a/2', 'a10', 'a/1', 'a/10', 'c']) await c.put(k, enc(k));
      expect((await c.list('a/')).map((e) => e.key)).toEqual(['a/1', 'a/10', 'a/2']);
      expect((await c.list('a')).map((e) => e.key)).toEqual(['a/1', 'a/10', 'a/2', 'a10']);
      expect((await c.list('')).map((e) => e.key)).toEqual(['a/1', 'a/10', 'a/2', 'a10', 'b', 'c']);
      expect(await c.list('zz')).toEqual([]);
    });

    it('clients of one service see each other’s writes; a closed client refuses work', async () => {
      const a = ctx.open();
      const b = ctx.open();
      const rev = await a.put('shared', enc('from a'));
      expect(await b.get('shared')).toMatchObject({ modRevision: rev });
      await a.close();
      await expect(a.get('shared')).rejects.toMatchObject({ code: 'closed' });
      await expect(a.grantLease(ctx.world.ttlMs)).rejects.toMatchObject({ code: 'closed' });
    });
  });
}

function watchContract(factory: CoordinatorWorldFactory): void {
  describe('watch', () => {
    const ctx = useWorld(factory);

    it('delivers puts and deletes under the prefix, in revision order, until cancelled', async () => {
      const c = ctx.open();
      const seen: WatchEvent[] = [];
      const w = await c.watch('w/', (ev) => seen.push(ev));
      const r1 = await c.put('w/1', enc('a'));
      await c.put('other', enc('ignored'));
      const r2 = await c.put('w/2', enc('b'));
      await c.delete('w/1');
      await ctx.world.eventually('three events', 2000, () => seen.length >= 3);
      expect(seen.map((e) => [e.type, e.key])).toEqual([
        ['put', 'w/1'],
        ['put', 'w/2'],
        ['delete', 'w/1'],
      ]);
      expect(seen[0]!.revision).toBe(r1);
      expect(seen[1]!.revision).toBe(r2);
      expect(seen[2]!.revision).toBeGreaterThan(r2);
      const first = seen[0]!;
      expect(first.type === 'put' && dec(first.value)).toBe('a');
      await w.cancel();
      await c.put('w/3', enc('late'));
      const marker: WatchEvent[] = [];
      const w2 = await c.watch('w/', (ev) => marker.push(ev));
      await c.put('w/4', enc('marker'));
      await ctx.world.eventually('marker seen by a new watch', 2000, () => marker.length >= 1);
      await w2.cancel();
      expect(seen).toHaveLength(3);
    });

    it('replays events from `fromRevision` (inclusive), then continues live', async () => {
      const c = ctx.open();
      await c.put('r/0', enc('before'));
      const from = await c.put('r/1', enc('x'));
      await c.put('r/2', enc('y'));
      await c.delete('r/1');
      const seen: WatchEvent[] = [];
      const w = await c.watch('r/', (ev) => seen.push(ev), { fromRevision: from });
      const live = await c.put('r/3', enc('z'));
      await ctx.world.eventually('replay and live event', 2000, () => seen.length >= 4);
      await w.cancel();
      expect(seen.map((e) => `${e.type} ${e.key}`)).toEqual(['put r/1', 'put r/2', 'delete r/1', 'put r/3']);
      expect(seen[0]!.revision).toBe(from);
      expect(seen[3]!.revision).toBe(live);
      const revs = seen.map((e) => e.revision);
      expect([...revs].sort((x, y) => x - y)).toEqual(revs);
    });
  });
}

function leaseContract(factory: CoordinatorWorldFactory): void {
  describe('leases', () => {
    const ctx = useWorld(factory);

    it('revoke deletes attached keys (watchers see it), fires onLost once, and is idempotent', async () => {
      const c = ctx.open();
      const lease = await c.grantLease(ctx.world.ttlMs);
      expect(lease.ttlMs).toBe(ctx.world.ttlMs);
      await c.put('l/a', enc('1'), { lease });
      const cas = await c.cas('l/b', enc('2'), 0, { lease });
      expect(cas.ok).toBe(true);
      expect((await c.get('l/a'))!.leaseId).toBe(lease.id);
      const deletes: string[] = [];
      await c.watch('l/', (ev) => ev.type === 'delete' && deletes.push(ev.key));
      let lost = 0;
      lease.onLost(() => lost++);
      await lease.revoke();
      await lease.revoke();
      expect(lease.lost).toBe(true);
      expect(await c.list('l/')).toEqual([]);
      await ctx.world.eventually('watcher sees both deletes', 2000, () => deletes.length >= 2);
      expect(deletes.sort()).toEqual(['l/a', 'l/b']);
      expect(lost).toBe(1);
      await expect(c.put('l/c', enc('3'), { lease })).rejects.toMatchObject({ code: 'leaseLost' });
    });

    it('a lease without keep-alive expires after its TTL, taking its keys', async () => {
      const { world } = ctx;
      const c = ctx.open();
      const lease = await c.grantLease(world.ttlMs, { keepAlive: false });
      await c.put('x/k', enc('v'), { lease });
      let lost = 0;
      lease.onLost(() => lost++);
      expect(await c.get('x/k')).toBeDefined();
      await world.eventually('key expires with its lease', world.ttlMs + world.expirySlackMs, async () => {
        return (await c.get('x/k')) === undefined;
      });
      await world.eventually('lease reported lost', world.expirySlackMs, () => lease.lost);
      await world.pass(100);
      expect(lost).toBe(1);
    });

    it('keep-alive holds a lease well past its TTL', async () => {
      const { world } = ctx;
      const c = ctx.open();
      const lease = await c.grantLease(world.ttlMs);
      await c.put('held', enc('v'), { lease });
      await world.pass(world.ttlMs * 2.5);
      expect(lease.lost).toBe(false);
      expect(await c.get('held')).toMatchObject({ leaseId: lease.id });
      await lease.revoke();
    });

    it('a crashed client’s leases expire: its keys vanish for others and it sees the loss', async () => {
      const { world } = ctx;
      const dying = ctx.open();
      const other = ctx.open();
      const lease = await dying.grantLease(world.ttlMs);
      await dying.put('svc/dying', enc('here'), { lease });
      const deletes: string[] = [];
      await other.watch('svc/', (ev) => ev.type === 'delete' && deletes.push(ev.key));
      world.crash(dying);
      await world.eventually('other sees the key go', world.ttlMs + world.expirySlackMs, () => {
        return deletes.includes('svc/dying');
      });
      expect(await other.get('svc/dying')).toBeUndefined();
      await world.eventually('the crashed client sees its lease lost', world.expirySlackMs, () => lease.lost);
    });
  });
}
