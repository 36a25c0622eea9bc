/**
 * The election half of the Coordinator contract (see coordinator.contract.ts): first come
 * first served, resign hands over at once, a leader whose keep-alives stop loses
 * leadership and a standby takes over, an aborted campaign leaves no candidacy.
 */
import { describe, expect, it } from 'vitest';
import type { Leadership } from '../../core/ports/coordinator.ts';
import { type CoordinatorWorldFactory, useWorld } from './coordinator-world.ts';

/** A campaign's outcome, observable without awaiting it. */
function track(p: Promise<Leadership>) {
  const t: { leadership?: Leadership; error?: unknown; settled: boolean } = { settled: false };
  p.then(
    (l) => Object.assign(t, { leadership: l, settled: true }),
    (e) => Object.assign(t, { error: e, settled: true }),
  );
  return t;
}

/** Time a correct adapter needs to notice a delete and elect the next candidate. */
const HANDOVER_MS = 2000;

export function electionContract(factory: CoordinatorWorldFactory): void {
  describe('election', () => {
    const ctx = useWorld(factory);

    it('the first candidate leads, the second waits; resign hands over promptly', async () => {
      const { world } = ctx;
      const a = ctx.open().election('e1');
      const b = ctx.open().election('e1');
      expect(await a.leader()).toBeUndefined();
      const la = await a.campaign('alice', { ttlMs: world.ttlMs });
      expect(la.candidateId).toBe('alice');
      expect(la.lost).toBe(false);
      const second = track(b.campaign('bob', { ttlMs: world.ttlMs }));
      await world.pass(300);
      expect(second.settled).toBe(false);
      expect(await b.leader()).toBe('alice');
      let lostCalls = 0;
      la.onLost(() => lostCalls++);
      await la.resign();
      await la.resign();
      expect(la.lost).toBe(true);
      await world.eventually('bob leads after the resign', HANDOVER_MS, () => second.settled);
      expect(second.leadership?.candidateId).toBe('bob');
      expect(await a.leader()).toBe('bob');
      expect(lostCalls).toBe(0);
      await second.leadership?.resign();
      expect(await a.leader()).toBeUndefined();
    });

    it('candidates take over in the order they arrived', async () => {
      const { world } = ctx;
      const clients = ['c1', 'c2', 'c3'].map(() => ctx.open().election('fifo'));
      const first = await clients[0]!.campaign('c1', { ttlMs: world.ttlMs });
      const second = track(clients[1]!.campaign('c2', { ttlMs: world.ttlMs }));
      // Let c2's candidacy be recorded before c3 arrives.
      await world.pass(300);
      expect(second.settled).toBe(false);
      const third = track(clients[2]!.campaign('c3', { ttlMs: world.ttlMs }));
      await world.pass(300);
      await first.resign();
      await world.eventually('c2 leads', HANDOVER_MS, () => second.settled);
      expect(third.settled).toBe(false);
      await second.leadership!.resign();
      await world.eventually('c3 leads', HANDOVER_MS, () => third.settled);
      expect(await clients[0]!.leader()).toBe('c3');
      await third.leadership!.resign();
    });

    it('observe reports the current leader now and on every change', async () => {
      const { world } = ctx;
      const watcher = ctx.open().election('obs');
      const a = ctx.open().election('obs');
      const b = ctx.open().election('obs');
      const seen: Array<string | undefined> = [];
      const w = await watcher.observe((id) => seen.push(id));
      expect(seen).toEqual([undefined]);
      const la = await a.campaign('a', { ttlMs: world.ttlMs });
      await world.eventually('a observed', HANDOVER_MS, () => seen.at(-1) === 'a');
      const lb = track(b.campaign('b', { ttlMs: world.ttlMs }));
      await world.pass(300); // let b's candidacy register, so the handover has no leaderless gap
      await la.resign();
      await world.eventually('b observed', HANDOVER_MS, () => seen.at(-1) === 'b' && lb.settled);
      await lb.leadership!.resign();
      await world.eventually('no leader observed', HANDOVER_MS, () => seen.at(-1) === undefined);
      expect(seen).toEqual([undefined, 'a', 'b', undefined]);
      await w.cancel();
    });

    it('a leader whose keep-alives stop loses leadership and the standby takes over', async () => {
      const { world } = ctx;
      const dyingClient = ctx.open();
      const leader = await dyingClient.election('fo').campaign('dying', { ttlMs: world.ttlMs });
      const standbyElection = ctx.open().election('fo');
      const standby = track(standbyElection.campaign('standby', { ttlMs: world.ttlMs }));
      const seen: Array<string | undefined> = [];
      await standbyElection.observe((id) => seen.push(id));
      let lostCalls = 0;
      leader.onLost(() => lostCalls++);
      await world.pass(world.ttlMs);
      expect(standby.settled).toBe(false);
      world.crash(dyingClient);
      const within = world.ttlMs + world.expirySlackMs;
      await world.eventually('standby takes over', within, () => standby.settled);
      expect(standby.leadership?.candidateId).toBe('standby');
      expect(await standbyElection.leader()).toBe('standby');
      await world.eventually('the old leader knows', world.expirySlackMs, () => leader.lost);
      await world.eventually('observer saw the change', HANDOVER_MS, () => seen.at(-1) === 'standby');
      expect(lostCalls).toBe(1);
      expect(seen).toEqual(['dying', 'standby']);
      expect(standby.leadership!.lost).toBe(false);
      await standby.leadership!.resign();
    });

    it('an aborted campaign rejects with the reason and leaves no candidacy', async () => {
      const { world } = ctx;
      const a = ctx.open().election('ab');
      const b = ctx.open().election('ab');
      const c = ctx.open().election('ab');
      const pre = new AbortController();
      pre.abort(new Error('never mind'));
      await expect(b.campaign('early', { ttlMs: world.ttlMs, signal: pre.signal })).rejects.toThrow(
        'never mind',
      );
      const la = await a.campaign('a', { ttlMs: world.ttlMs });
      const ac = new AbortController();
      const waiting = track(b.campaign('b', { ttlMs: world.ttlMs, signal: ac.signal }));
      await world.pass(300);
      ac.abort(new Error('stop waiting'));
      await world.eventually('aborted campaign settles', HANDOVER_MS, () => waiting.settled);
      expect((waiting.error as Error).message).toBe('stop waiting');
      await la.resign();
      // Neither the aborted nor the pre-aborted candidate became leader: nobody leads now.
      await world.pass(300);
      expect(await a.leader()).toBeUndefined();
      const lc = await c.campaign('c', { ttlMs: world.ttlMs });
      expect(await a.leader()).toBe('c');
      await lc.resign();
    });
  });
}
