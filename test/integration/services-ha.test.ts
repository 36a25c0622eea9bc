/**
 * `cellplane services up --ha` (deploy/services.ts, deploy/services-ha.ts) and stream replicas on the
 * NATS adapter: three NATS nodes with JetStream and three etcd members, each with its own data
 * directory; streams with one copy per node; an existing stream's replica count only grows.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import {
  isRunning,
  type ServicesState,
  servicesDown,
  servicesStatus,
  servicesUp,
} from '../../deploy/services.ts';
import { etcdLeader } from '../real/etcd-leader.ts';
import { services, uniquePrefix } from '../real/services.ts';

/** Concurrent readers while the etcd leader dies. */
const READERS = 8;

/** Running, not merely not yet reaped by this process (the servers are its children). */
const isAlive = isRunning;

describe('cellplane services up --ha', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cp-svc-ha-'));
  let state: ServicesState;
  const buses: NatsBus[] = [];
  const bus = async (streamReplicas: number, prefix: string) => {
    const b = await NatsBus.connect({ servers: state.urls.nats, prefix, streamReplicas });
    buses.push(b);
    return b;
  };

  beforeAll(async () => {
    state = await servicesUp({ dir, ha: true, randomPorts: true });
  });
  afterAll(async () => {
    for (const b of buses) await b.close();
    await servicesDown(dir, { purge: true });
  });

  it('runs three NATS nodes and three etcd members, each with its own data, and one Redis', async () => {
    const rows = await servicesStatus(dir);
    expect(rows.map((r) => [r.name, r.ready])).toEqual([
      ['nats1', true],
      ['nats2', true],
      ['nats3', true],
      ['etcd1', true],
      ['etcd2', true],
      ['etcd3', true],
      ['redis', true],
    ]);
    for (const unit of ['nats1', 'nats2', 'nats3', 'etcd1', 'etcd2', 'etcd3'])
      expect(existsSync(join(dir, unit)), unit).toBe(true);
    expect(state.urls.nats.split(',')).toHaveLength(3);
    expect(state.urls.etcd.split(',')).toHaveLength(3);
    expect(state.urls.redis).not.toContain(',');

    // Idempotent, and a directory's mode does not change under it.
    expect((await servicesUp({ dir, ha: true })).pids).toEqual(state.pids);
    await expect(servicesUp({ dir })).rejects.toThrow(/holds clustered \(--ha\) services: stop them first/);

    // The etcd client takes the list and works against the cluster.
    const c = new EtcdCoordinator({ hosts: state.urls.etcd, prefix: `/${uniquePrefix('ha')}` });
    await c.put('k', new Uint8Array([1]));
    expect((await c.get('k'))?.value).toEqual(new Uint8Array([1]));
    await c.close();
  });

  it('places a stream on every node with 3 replicas, and refuses more replicas than nodes', async () => {
    const prefix = uniquePrefix('r3');
    const b = await bus(3, prefix);
    await b.workQueue('jobs', { ackWaitMs: 5_000 });
    const info = await b.jsm.streams.info(b.names.workQueue('jobs').stream);
    expect(info.config.num_replicas).toBe(3);
    expect(info.cluster?.replicas).toHaveLength(2); // and the leader: 3 servers

    const five = await bus(5, prefix);
    await expect(five.workQueue('wide', { ackWaitMs: 5_000 })).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/cannot place 5 replicas .* fewer than 5 JetStream servers/),
    });
  });

  it('scales an existing one-copy queue up to 3, jobs kept, and refuses to scale it down', async () => {
    const prefix = uniquePrefix('grow');
    const one = await bus(1, prefix);
    const q1 = await one.workQueue('ops', { ackWaitMs: 5_000 });
    for (const n of [1, 2, 3]) await q1.enqueue(new Uint8Array([n]));
    const stream = one.names.workQueue('ops').stream;
    expect((await one.jsm.streams.info(stream)).config.num_replicas).toBe(1);

    const three = await bus(3, prefix);
    const q3 = await three.workQueue('ops', { ackWaitMs: 5_000 });
    const info = await three.jsm.streams.info(stream);
    expect(info.config.num_replicas).toBe(3);
    expect(info.state.messages).toBe(3);
    const seen: number[] = [];
    const consumer = await q3.consume(
      async (job) => {
        seen.push(job.data[0]!);
        await job.ack();
      },
      { maxInFlight: 8 },
    );
    const deadline = Date.now() + 10_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await consumer.stop();
    expect(seen.sort()).toEqual([1, 2, 3]);

    await expect(one.workQueue('ops', { ackWaitMs: 5_000 })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/has 3 replicas, this process asks for 1; set the stream replicas to 3/),
    });
  });

  it('refuses stream replicas on a single NATS server at connect', async () => {
    await expect(
      NatsBus.connect({ servers: services().nats, prefix: uniquePrefix('one'), streamReplicas: 3 }),
    ).rejects.toMatchObject({ code: 'invalid', message: expect.stringMatching(/is a single server/) });
  });

  it('run again after a NATS node and an etcd member died, restarts just those two, which rejoin', async () => {
    const before = { ...state.pids };
    for (const unit of ['nats2', 'etcd3']) process.kill(before[unit]!, 'SIGKILL');
    while (isAlive(before.nats2!) || isAlive(before.etcd3!)) await new Promise((r) => setTimeout(r, 20));
    state = await servicesUp({ dir, ha: true });
    for (const [unit, pid] of Object.entries(state.pids))
      if (unit === 'nats2' || unit === 'etcd3') expect(pid, unit).not.toBe(before[unit]);
      else expect(pid, unit).toBe(before[unit]);
    expect((await servicesStatus(dir)).every((r) => r.ready)).toBe(true);
  });

  it('reads ride out the loss of the etcd leader: no read fails while the others elect a new one', async () => {
    const members = state.urls.etcd.split(',');
    const leaderUrl = await etcdLeader(members);
    // Through a follower: asked a linearizable read while the leader is gone, it answers 'leader
    // changed' or 'no leader' (seen in ha-e2e as a 503 on POST /servers).
    const follower = members.find((m) => m !== leaderUrl)!;
    const c = new EtcdCoordinator({ hosts: follower, prefix: `/${uniquePrefix('lead')}` });
    await c.put('k', new Uint8Array([7]));
    const unit = `etcd${members.indexOf(leaderUrl) + 1}`;
    const failures: string[] = [];
    let reads = 0;
    let stop = false;
    const reader = async () => {
      while (!stop) {
        await c.get('k').then(
          () => reads++,
          (e: Error) => failures.push(e.message),
        );
      }
    };
    const readers = Promise.all(Array.from({ length: READERS }, reader));
    while (reads < 20) await new Promise((r) => setTimeout(r, 10));
    process.kill(state.pids[unit]!, 'SIGKILL');
    const at = reads;
    // A new leader is elected among the two left; reads go on meanwhile.
    for (const end = Date.now() + 20_000; Date.now() < end; ) {
      if (reads > at + 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    stop = true;
    await readers;
    await c.close();
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(at + 200);
    state = await servicesUp({ dir, ha: true }); // the member comes back for the next test
  });

  it('services down stops all seven', async () => {
    const pids = Object.values(state.pids) as number[];
    expect(pids).toHaveLength(7);
    for (const b of buses.splice(0)) await b.close();
    await servicesDown(dir);
    for (const pid of pids) expect(isAlive(pid), String(pid)).toBe(false);
    expect(await servicesStatus(dir)).toEqual([]);
  });
});
