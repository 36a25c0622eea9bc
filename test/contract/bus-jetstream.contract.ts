/**
 * The durable half of the Bus contract: work queues (JetStream work-queue retention) and
 * event streams (limits retention). Included by bus.contract.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Job, StreamEvent } from '../../core/ports/bus.ts';
import { type BusTestContext, bytes, elapse, eventually, rejectionCode, text } from './bus-helpers.ts';

/** Records every delivery as `data#deliveryCount`, keeping the jobs for the test to settle. */
function recorder() {
  const jobs: Job[] = [];
  const log: string[] = [];
  const handler = async (job: Job) => {
    jobs.push(job);
    log.push(`${text(job.data)}#${job.deliveryCount}`);
  };
  return { jobs, log, handler };
}

export function workQueueContract(ctx: BusTestContext): void {
  const ackWaitMs = () => ctx.target.ackWaitMs;
  const open = async (maxDeliver?: number) => {
    const bus = await ctx.fx.make();
    const opts =
      maxDeliver === undefined ? { ackWaitMs: ackWaitMs() } : { ackWaitMs: ackWaitMs(), maxDeliver };
    return { bus, q: await bus.workQueue('jobs', opts) };
  };

  describe('work queue', () => {
    it('numbers jobs, delivers them once each and forgets them on ack', async () => {
      const { q } = await open();
      const seqs = [];
      for (const s of ['a', 'b', 'c']) seqs.push((await q.enqueue(bytes(s))).seq);
      expect(seqs[1]! - seqs[0]!).toBe(1);
      expect(seqs[2]! - seqs[1]!).toBe(1);
      expect(await q.depth()).toBe(3);
      const r = recorder();
      const c = await q.consume(r.handler, { maxInFlight: 10 });
      await eventually(() => expect(r.log).toEqual(['a#1', 'b#1', 'c#1']));
      expect(r.jobs.map((j) => j.seq)).toEqual(seqs);
      for (const j of r.jobs) await j.ack();
      await eventually(async () => expect(await q.depth()).toBe(0));
      await c.stop();
    });

    it('redelivers a job not acked within ackWait to another consumer (a crashed worker loses nothing)', async () => {
      const a = await open();
      const b = await open();
      const { seq } = await a.q.enqueue(bytes('job'));
      const ra = recorder();
      await a.q.consume(ra.handler, { maxInFlight: 1 });
      await eventually(() => expect(ra.log).toEqual(['job#1']));
      await a.bus.close(); // the worker dies holding the job
      const rb = recorder();
      await b.q.consume(rb.handler, { maxInFlight: 1 });
      if (ctx.fx.clock) {
        await elapse(ctx.fx, ackWaitMs() - 1);
        expect(rb.log).toEqual([]);
        await elapse(ctx.fx, 1);
      }
      await eventually(() => expect(rb.log).toEqual(['job#2']));
      expect(rb.jobs[0]!.seq).toBe(seq);
      await rb.jobs[0]!.ack();
      await eventually(async () => expect(await b.q.depth()).toBe(0));
    });

    it('working() restarts the ack-wait timer', async () => {
      if (!ctx.fx.clock) return; // needs exact time control; the real adapter maps it to JetStream's +WPI
      const { q } = await open();
      await q.enqueue(bytes('long'));
      const r = recorder();
      await q.consume(r.handler, { maxInFlight: 5 });
      await eventually(() => expect(r.log).toEqual(['long#1']));
      await elapse(ctx.fx, ackWaitMs() - 10);
      await r.jobs[0]!.working();
      await elapse(ctx.fx, ackWaitMs() - 10);
      expect(r.log).toEqual(['long#1']);
      await elapse(ctx.fx, 10);
      await eventually(() => expect(r.log).toEqual(['long#1', 'long#2']));
    });

    it('redelivers at once on nak, after the delay on nak(delayMs), and on a throwing handler', async () => {
      const { q } = await open();
      await q.enqueue(bytes('n'));
      const log: string[] = [];
      await q.consume(
        async (job) => {
          log.push(`${text(job.data)}#${job.deliveryCount}`);
          if (job.deliveryCount === 1) await job.nak();
          else if (job.deliveryCount === 2) await job.nak(ctx.fx.clock ? 5_000 : 200);
          else if (job.deliveryCount === 3) throw new Error('handler bug');
          else await job.ack();
        },
        { maxInFlight: 1 },
      );
      await eventually(() => expect(log).toEqual(['n#1', 'n#2']));
      if (ctx.fx.clock) {
        await elapse(ctx.fx, 4_999);
        expect(log).toEqual(['n#1', 'n#2']);
        await elapse(ctx.fx, 1);
      }
      await eventually(() => expect(log).toEqual(['n#1', 'n#2', 'n#3', 'n#4']));
      await eventually(async () => expect(await q.depth()).toBe(0));
    });

    it('drops a job for good on term, and keeps serving the rest', async () => {
      const { q } = await open();
      await q.enqueue(bytes('poison'));
      await q.enqueue(bytes('ok'));
      const log: string[] = [];
      await q.consume(
        async (job) => {
          log.push(`${text(job.data)}#${job.deliveryCount}`);
          await (text(job.data) === 'poison' ? job.term() : job.ack());
        },
        { maxInFlight: 1 },
      );
      await eventually(async () => expect(await q.depth()).toBe(0));
      await elapse(ctx.fx, ackWaitMs() * 3);
      expect(log).toEqual(['poison#1', 'ok#1']);
    });

    it('delivers at most maxDeliver times, whether naked or left to time out', async () => {
      const { q } = await open(2);
      await q.enqueue(bytes('nakked'));
      await q.enqueue(bytes('ignored'));
      const log: string[] = [];
      await q.consume(
        async (job) => {
          log.push(`${text(job.data)}#${job.deliveryCount}`);
          if (text(job.data) === 'nakked') await job.nak();
        },
        { maxInFlight: 5 },
      );
      await eventually(() => expect([...log].sort()).toEqual(['ignored#1', 'nakked#1', 'nakked#2']));
      await elapse(ctx.fx, ackWaitMs());
      await eventually(() => expect(log).toContain('ignored#2'));
      await elapse(ctx.fx, ackWaitMs());
      await eventually(async () => expect(await q.depth()).toBe(0));
      await elapse(ctx.fx, ackWaitMs() * 2);
      expect(log.filter((l) => l.startsWith('ignored'))).toEqual(['ignored#1', 'ignored#2']);
      expect(log.filter((l) => l.startsWith('nakked'))).toEqual(['nakked#1', 'nakked#2']);
    });

    it('de-duplicates enqueues by msgId', async () => {
      const { q } = await open();
      const first = await q.enqueue(bytes('x'), { msgId: 'req-1' });
      const again = await q.enqueue(bytes('x'), { msgId: 'req-1' });
      const other = await q.enqueue(bytes('y'), { msgId: 'req-2' });
      expect(first.duplicate).toBe(false);
      expect(again).toEqual({ seq: first.seq, duplicate: true });
      expect(other.duplicate).toBe(false);
      expect(await q.depth()).toBe(2);
    });

    it('shares jobs between consumers on different connections without duplicates', async () => {
      const a = await open();
      const b = await open();
      const n = 30;
      for (let i = 0; i < n; i++) await a.q.enqueue(bytes(String(i)));
      const done: number[] = [];
      const handler = async (job: Job) => {
        done.push(Number(text(job.data)));
        await job.ack();
      };
      await a.q.consume(handler, { maxInFlight: 4 });
      await b.q.consume(handler, { maxInFlight: 4 });
      await eventually(() => expect(done).toHaveLength(n));
      expect([...done].sort((x, y) => x - y)).toEqual([...Array(n).keys()]);
      await eventually(async () => expect(await b.q.depth()).toBe(0));
    });

    it('never hands a consumer more than maxInFlight unacked jobs', async () => {
      const { q } = await open();
      for (let i = 0; i < 6; i++) await q.enqueue(bytes(String(i)));
      let inFlight = 0;
      let peak = 0;
      const held: Job[] = [];
      await q.consume(
        async (job) => {
          peak = Math.max(peak, ++inFlight);
          held.push(job);
        },
        { maxInFlight: 2 },
      );
      // Both slots fill before anything is acked; then each ack lets exactly one more in.
      await eventually(() => expect(held).toHaveLength(2));
      let acked = 0;
      while (acked < 6) {
        await eventually(() => expect(held.length).toBeGreaterThan(0));
        const job = held.shift()!;
        inFlight--;
        await job.ack();
        acked++;
      }
      expect(peak).toBe(2);
      await eventually(async () => expect(await q.depth()).toBe(0));
    });

    it('stop() takes no new jobs; invalid options are rejected', async () => {
      const { bus, q } = await open();
      const r = recorder();
      const c = await q.consume(r.handler, { maxInFlight: 1 });
      await c.stop();
      await q.enqueue(bytes('after'));
      const r2 = recorder();
      await q.consume(r2.handler, { maxInFlight: 1 });
      await eventually(() => expect(r2.log).toEqual(['after#1']));
      expect(r.log).toEqual([]);
      expect(await rejectionCode(bus.workQueue('bad name', { ackWaitMs: 1_000 }))).toBe('invalid');
      expect(await rejectionCode(bus.workQueue('jobs2', { ackWaitMs: 0 }))).toBe('invalid');
      expect(await rejectionCode(q.consume(r.handler, { maxInFlight: 0 }))).toBe('invalid');
    });
  });
}

export function eventStreamContract(ctx: BusTestContext): void {
  const follow = async (
    stream: { follow: (s: number, h: (e: StreamEvent) => void) => Promise<unknown> },
    from: number,
  ) => {
    const got: StreamEvent[] = [];
    await stream.follow(from, (e) => void got.push(e));
    return got;
  };
  const show = (evs: StreamEvent[]) => evs.map((e) => `${e.seq}:${e.subject}=${text(e.data)}`);

  describe('event stream', () => {
    it('numbers appends from 1, replays from a seq and then follows live, in order, across connections', async () => {
      const [a, b] = [await ctx.fx.make(), await ctx.fx.make()];
      const w = await a.eventStream('events', { maxEvents: 100 });
      const r = await b.eventStream('events', { maxEvents: 100 });
      expect(await r.bounds()).toEqual({ firstSeq: 0, lastSeq: 0 });
      expect(await w.append('instance.created', bytes('i1'))).toBe(1);
      expect(await w.append('instance.deleted', bytes('i1'))).toBe(2);
      expect(await w.append('host.down', bytes('h1'))).toBe(3);
      const all = await follow(r, 1);
      const fromTwo = await follow(r, 2);
      await eventually(() => expect(show(fromTwo)).toEqual(['2:instance.deleted=i1', '3:host.down=h1']));
      for (let i = 0; i < 20; i++) await w.append('tick', bytes(String(i)));
      await eventually(() => expect(all).toHaveLength(23));
      expect(all.map((e) => e.seq)).toEqual([...Array(23).keys()].map((i) => i + 1));
      expect(show(all).slice(0, 3)).toEqual([
        '1:instance.created=i1',
        '2:instance.deleted=i1',
        '3:host.down=h1',
      ]);
      expect(typeof all[0]!.timestampMs).toBe('number');
      if (ctx.fx.clock) expect(all[0]!.timestampMs).toBe(ctx.fx.clock.now());
      expect(await r.bounds()).toEqual({ firstSeq: 1, lastSeq: 23 });
    });

    it('waits for future seqs and stops on unsubscribe', async () => {
      const bus = await ctx.fx.make();
      const s = await bus.eventStream('later', { maxEvents: 10 });
      const got: StreamEvent[] = [];
      const sub = await s.follow(2, (e) => void got.push(e));
      const all = await follow(s, 1);
      await s.append('x', bytes('1'));
      await s.append('x', bytes('2'));
      await eventually(() => expect(show(got)).toEqual(['2:x=2']));
      await sub.unsubscribe();
      await s.append('x', bytes('3'));
      await eventually(() => expect(all).toHaveLength(3));
      expect(show(got)).toEqual(['2:x=2']);
    });

    it('keeps only the newest maxEvents; replay from a dropped seq starts at the oldest retained', async () => {
      const bus = await ctx.fx.make();
      const s = await bus.eventStream('short', { maxEvents: 3 });
      for (let i = 1; i <= 5; i++) expect(await s.append('e', bytes(String(i)))).toBe(i);
      expect(await s.bounds()).toEqual({ firstSeq: 3, lastSeq: 5 });
      const got = await follow(s, 1);
      await eventually(() => expect(show(got)).toEqual(['3:e=3', '4:e=4', '5:e=5']));
      await s.append('e', bytes('6'));
      await eventually(() => expect(got).toHaveLength(4));
      expect(await s.bounds()).toEqual({ firstSeq: 4, lastSeq: 6 });
    });

    it('rejects wildcard subjects, bad names and bad seqs with `invalid`', async () => {
      const bus = await ctx.fx.make();
      const s = await bus.eventStream('strict', { maxEvents: 10 });
      expect(await rejectionCode(s.append('a.*', bytes('x')))).toBe('invalid');
      expect(await rejectionCode(s.append('a.>', bytes('x')))).toBe('invalid');
      expect(await rejectionCode(s.follow(0, () => {}))).toBe('invalid');
      expect(await rejectionCode(bus.eventStream('a b', { maxEvents: 10 }))).toBe('invalid');
      expect(await rejectionCode(bus.eventStream('ok', { maxEvents: 0 }))).toBe('invalid');
    });
  });
}
