/**
 * The Bus contract (STYLE.md §2): one suite, run against the in-process adapter on virtual
 * time (bus.memory.test.ts) and against NATS + JetStream (bus.real.test.ts). It states the
 * real system's semantics — wildcards, queue groups, `noResponders` apart from `timeout`,
 * per-subscriber order, redelivery after a consumer dies, retention — not only happy paths.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus, BusMessage } from '../../core/ports/bus.ts';
import {
  type BusContractTarget,
  type BusTestContext,
  bytes,
  elapse,
  eventually,
  rejectionCode,
  text,
  thrownCode,
  track,
} from './bus-helpers.ts';
import { eventStreamContract, workQueueContract } from './bus-jetstream.contract.ts';

export type { BusContractTarget, BusFixture, BusTestContext } from './bus-helpers.ts';

export function busContract(label: string, target: BusContractTarget): void {
  describe(`Bus contract: ${label}`, () => {
    const ctx = {} as BusTestContext;
    ctx.target = target;
    beforeEach(async () => {
      ctx.fx = await target.setup();
    });
    afterEach(async () => {
      await ctx.fx.cleanup();
    });
    pubSubContract(ctx);
    requestContract(ctx);
    lifecycleContract(ctx);
    workQueueContract(ctx);
    eventStreamContract(ctx);
  });
}

/** Subscribes and records subjects and payloads as text. */
async function collect(bus: Bus, subject: string, queue?: string): Promise<string[]> {
  const got: string[] = [];
  const opts = queue ? { queue } : {};
  await bus.subscribe(subject, (m) => void got.push(`${m.subject}=${text(m.data)}`), opts);
  return got;
}

function pubSubContract(ctx: BusTestContext): void {
  describe('publish/subscribe', () => {
    it('delivers to exact, `*` (one token) and `>` (one or more tokens) subscribers only', async () => {
      const [pub, sub] = [await ctx.fx.make(), await ctx.fx.make()];
      const exact = await collect(sub, 'a.b');
      const star = await collect(sub, 'a.*');
      const tail = await collect(sub, 'a.>');
      const mid = await collect(sub, '*.b.*');
      await sub.flush();
      for (const s of ['a', 'a.b', 'a.b.c', 'x.b.y', 'a.c', 'b.b']) pub.publish(s, bytes('1'));
      pub.publish('a.end', bytes('sentinel'));
      await eventually(() => expect(tail).toContain('a.end=sentinel'));
      await eventually(() => expect(star).toContain('a.end=sentinel'));
      // Sentinels arrive after everything published before them on the same subscription.
      expect(tail).toEqual(['a.b=1', 'a.b.c=1', 'a.c=1', 'a.end=sentinel']);
      expect(star).toEqual(['a.b=1', 'a.c=1', 'a.end=sentinel']);
      expect(exact).toEqual(['a.b=1']);
      await eventually(() => expect(mid).toEqual(['a.b.c=1', 'x.b.y=1']));
    });

    it('never calls a handler inside publish', async () => {
      const bus = await ctx.fx.make();
      const got = await collect(bus, 'sync.check');
      bus.publish('sync.check', bytes('x'));
      expect(got).toEqual([]);
      await eventually(() => expect(got).toEqual(['sync.check=x']));
    });

    it('keeps publish order per subscriber', async () => {
      const [pub, sub] = [await ctx.fx.make(), await ctx.fx.make()];
      const got = await collect(sub, 'ord.*');
      const n = 200;
      for (let i = 0; i < n; i++) pub.publish(`ord.${i % 3}`, bytes(String(i)));
      await eventually(() => expect(got).toHaveLength(n));
      expect(got.map((g) => Number(g.split('=')[1]))).toEqual([...Array(n).keys()]);
    });

    it('gives each message to exactly one member of a queue group, and to every plain subscriber', async () => {
      const [pub, s1, s2] = [await ctx.fx.make(), await ctx.fx.make(), await ctx.fx.make()];
      const m1 = await collect(s1, 'work.*', 'g');
      const m2 = await collect(s2, 'work.*', 'g');
      const other = await collect(s2, 'work.*', 'h');
      const plainA = await collect(s1, 'work.*');
      const plainB = await collect(s2, 'work.>');
      const n = 40;
      for (let i = 0; i < n; i++) pub.publish('work.x', bytes(String(i)));
      await eventually(() => expect(m1.length + m2.length).toBe(n));
      await eventually(() => expect([other.length, plainA.length, plainB.length]).toEqual([n, n, n]));
      const seen = [...m1, ...m2].map((g) => Number(g.split('=')[1])).sort((a, b) => a - b);
      expect(seen).toEqual([...Array(n).keys()]);
      // Both members take part (all 40 to one member has probability 2^-39 with random choice).
      expect(m1.length).toBeGreaterThan(0);
      expect(m2.length).toBeGreaterThan(0);
    });

    it('stops delivery after unsubscribe (idempotent), other subscriptions unaffected', async () => {
      const [pub, sub] = [await ctx.fx.make(), await ctx.fx.make()];
      const gone: string[] = [];
      const s = await sub.subscribe('uns.a', (m) => void gone.push(text(m.data)));
      const kept = await collect(sub, 'uns.a');
      pub.publish('uns.a', bytes('1'));
      await eventually(() => expect(gone).toEqual(['1']));
      await s.unsubscribe();
      await s.unsubscribe();
      await sub.flush();
      pub.publish('uns.a', bytes('2'));
      // Both subscriptions sit on one connection: once `kept` has 2, `gone` would have it too.
      await eventually(() => expect(kept).toEqual(['uns.a=1', 'uns.a=2']));
      expect(gone).toEqual(['1']);
      expect(s.subject).toBe('uns.a');
    });

    it('rejects invalid subjects with `invalid`', async () => {
      const bus = await ctx.fx.make();
      for (const bad of ['', 'a..b', 'a.*', 'a.>', 'a b', '.a', 'a.'])
        expect(thrownCode(() => bus.publish(bad, bytes('x')))).toBe('invalid');
      for (const bad of ['', 'a.>.b', 'a..b', 'a.b*', '>x'])
        expect(await rejectionCode(bus.subscribe(bad, () => {}))).toBe('invalid');
      expect(await rejectionCode(bus.request('a.*', bytes('x'), { timeoutMs: 100 }))).toBe('invalid');
      expect(await rejectionCode(bus.subscribe('a.b', () => {}, { queue: 'bad queue' }))).toBe('invalid');
    });
  });
}

function requestContract(ctx: BusTestContext): void {
  describe('request/reply', () => {
    it('returns the reply of a responder on another connection', async () => {
      const [client, server] = [await ctx.fx.make(), await ctx.fx.make()];
      const seen: BusMessage[] = [];
      await server.subscribe('svc.echo', (m) => {
        seen.push(m);
        m.respond(bytes(`echo:${text(m.data)}`));
      });
      expect(text(await client.request('svc.echo', bytes('hi'), { timeoutMs: 5_000 }))).toBe('echo:hi');
      expect(seen[0]?.expectsReply).toBe(true);
    });

    it('takes the first reply when several responders answer, and serves queue-group responders', async () => {
      const [client, a, b] = [await ctx.fx.make(), await ctx.fx.make(), await ctx.fx.make()];
      await a.subscribe('svc.q', (m) => m.respond(bytes('a')), { queue: 'workers' });
      await b.subscribe('svc.q', (m) => m.respond(bytes('b')), { queue: 'workers' });
      const replies = new Set<string>();
      for (let i = 0; i < 10; i++)
        replies.add(text(await client.request('svc.q', bytes(''), { timeoutMs: 5_000 })));
      expect([...replies].every((r) => r === 'a' || r === 'b')).toBe(true);
    });

    it('a published (non-request) message cannot be responded to: `invalid`', async () => {
      const bus = await ctx.fx.make();
      const codes: string[] = [];
      await bus.subscribe('plain.msg', (m) => {
        codes.push(m.expectsReply ? 'request' : thrownCode(() => m.respond(bytes('x'))));
      });
      bus.publish('plain.msg', bytes('x'));
      await eventually(() => expect(codes).toEqual(['invalid']));
    });

    it('fails with `timeout` when the responder stays silent, not before the timeout', async () => {
      const [client, server] = [await ctx.fx.make(), await ctx.fx.make()];
      const got: string[] = [];
      await server.subscribe('svc.silent', (m) => void got.push(text(m.data)));
      const timeoutMs = ctx.fx.clock ? 1_000 : 300;
      const req = track(client.request('svc.silent', bytes('q'), { timeoutMs }));
      await eventually(() => expect(got).toEqual(['q']));
      if (ctx.fx.clock) {
        await ctx.fx.clock.advance(timeoutMs - 1);
        expect(req.settled()).toBe(false);
        await ctx.fx.clock.advance(1);
      }
      expect(await rejectionCode(req.promise)).toBe('timeout');
    });

    it('fails with `noResponders` (not `timeout`) at once when nobody subscribes', async () => {
      const client = await ctx.fx.make();
      const other = await ctx.fx.make();
      const s = await other.subscribe('svc.gone', (m) => m.respond(bytes('x')));
      await s.unsubscribe();
      await other.flush();
      // A long timeout: only an immediate no-responders answer settles this on virtual time.
      const req = track(client.request('svc.gone', bytes('q'), { timeoutMs: 60_000 }));
      const nobody = track(client.request('svc.never', bytes('q'), { timeoutMs: 60_000 }));
      expect(await rejectionCode(req.promise)).toBe('noResponders');
      expect(await rejectionCode(nobody.promise)).toBe('noResponders');
    });
  });
}

function lifecycleContract(ctx: BusTestContext): void {
  describe('close', () => {
    it('delivers what was already published to its subscriptions, then rejects everything with `closed`', async () => {
      const bus = await ctx.fx.make();
      const got = await collect(bus, 'cl.x');
      for (let i = 0; i < 5; i++) bus.publish('cl.x', bytes(String(i)));
      await bus.close();
      await bus.close(); // idempotent
      expect(got).toHaveLength(5);
      expect(thrownCode(() => bus.publish('cl.x', bytes('late')))).toBe('closed');
      expect(await rejectionCode(bus.subscribe('cl.x', () => {}))).toBe('closed');
      expect(await rejectionCode(bus.request('cl.x', bytes(''), { timeoutMs: 100 }))).toBe('closed');
      expect(await rejectionCode(bus.workQueue('clq', { ackWaitMs: 1_000 }))).toBe('closed');
      expect(await rejectionCode(bus.eventStream('cls', { maxEvents: 10 }))).toBe('closed');
      expect(await rejectionCode(bus.flush())).toBe('closed');
    });

    it('a closed connection no longer receives, others go on', async () => {
      const [pub, a, b] = [await ctx.fx.make(), await ctx.fx.make(), await ctx.fx.make()];
      const gotA = await collect(a, 'cl.y');
      const gotB = await collect(b, 'cl.y');
      await a.close();
      pub.publish('cl.y', bytes('1'));
      await eventually(() => expect(gotB).toEqual(['cl.y=1']));
      await elapse(ctx.fx, 10);
      expect(gotA).toEqual([]);
    });
  });
}
