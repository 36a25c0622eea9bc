/**
 * Scheduler-shard failover across processes: two replica processes of one shard on real NATS,
 * etcd and Redis; the provider trees live in this process. When the leader dies (SIGKILL) or
 * hangs (SIGSTOP: its lease lapses), the standby resyncs from Redis and answers selects within
 * the lease TTL + 1 s, with the usage claimed while it was a standby. Takeover times are printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorClient } from '../../actors/runtime/client.ts';
import { shardAddress } from '../../actors/scheduler-shard.ts';
import { type SelectReply, selectHosts } from '../../actors/scheduler-shard-messages.ts';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { hasCode } from '../../core/errors.ts';
import { services, uniquePrefix } from '../real/services.ts';
import { consumer, hostTrees, tree } from '../unit/actors/provider-tree-fixture.ts';
import { request, rootUuid } from '../unit/actors/scheduler-shard-fixture.ts';

const TTL_MS = 2_000;
const TAKEOVER_BOUND_MS = TTL_MS + 1_000;
/** Generous: a child process under tsx starts in about a second on a busy 2-core machine. */
const START_DEADLINE_MS = 15_000;
const ASK_MS = 500;

interface Replica {
  id: string;
  proc: ChildProcess;
  events: Array<{ event: string; seenAt: number }>;
}

const children: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];

function startReplica(prefix: string, id: string): Replica {
  const { nats, etcd, redis } = services();
  const script = 'test/e2e/fixtures/scheduler-shard-replica.ts';
  const args = ['--import', 'tsx', script, nats, etcd, redis, prefix, id, String(TTL_MS)];
  const proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(proc);
  const r: Replica = { id, proc, events: [] };
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const ev = JSON.parse(line) as { event: string };
    r.events.push({ event: ev.event, seenAt: Date.now() });
  });
  return r;
}

async function waitFor<T>(
  what: string,
  withinMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
) {
  const end = Date.now() + withinMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`not within ${withinMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const has = (r: Replica, event: string) => r.events.some((e) => e.event === event) || undefined;

afterEach(async () => {
  const live = children.splice(0).filter((p) => p.exitCode === null && p.signalCode === null);
  await Promise.all(
    live.map(
      (p) =>
        new Promise<void>((resolve) => {
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
});

/** Trees in this process, a leader and a queued standby, and a client. */
async function setup() {
  const prefix = uniquePrefix('schedfo');
  const bus = async () => {
    const b = await NatsBus.connect({ servers: services().nats, prefix, name: 'sched-e2e' });
    closers.push(() => b.close());
    return b;
  };
  const store = await RedisStore.open({ url: services().redis, prefix });
  closers.push(() => store.close());
  const hosted = await hostTrees({
    bus: await bus(),
    clientBus: await bus(),
    store,
    clock: systemClock,
    scope: 'cell1',
  });
  closers.push(() => hosted.host.shutdown());
  const [A, B] = [rootUuid(1), rootUuid(2)];
  await hosted.trees.register(A, tree(A, 'hostA').inv('VCPU', 8).inv('MEMORY_MB', 8192).build());
  await hosted.trees.register(B, tree(B, 'hostB').inv('VCPU', 16).inv('MEMORY_MB', 8192).build());
  const client = new ActorClient(await bus(), { scope: 'cell1', askTimeoutMs: ASK_MS });
  const select = (id: string, vcpus: number) => client.ask(shardAddress(0), selectHosts, request(id, vcpus));

  const first = startReplica(prefix, 'first');
  await waitFor('first serves', START_DEADLINE_MS, () => has(first, 'serving'));
  const second = startReplica(prefix, 'second');
  // Its candidacy lands within milliseconds of this; the takeover waits for the lease TTL anyway.
  await waitFor('second campaigns', START_DEADLINE_MS, () => has(second, 'campaigning'));
  expect((await select('warm', 1)).outcome).toBe('selected');
  // Claimed while `second` is a standby: it must learn it from Redis on takeover.
  await hosted.trees.claim(B, {
    consumer: consumer(1),
    project: 'p',
    user: 'u',
    allocations: { [B]: { VCPU: 16 } },
  });
  return { first, second, select };
}

/** Polls select until a standby answers; returns the reply and the time it took. */
async function answeredAfter(select: (id: string, vcpus: number) => Promise<SelectReply>, since: number) {
  const reply = await waitFor('a select is answered', TAKEOVER_BOUND_MS + 5_000, async () => {
    try {
      return await select(`fo-${Date.now()}`, 1);
    } catch (err) {
      if (hasCode(err, 'noResponders') || hasCode(err, 'timeout') || hasCode(err, 'leaseLost'))
        return undefined;
      throw err;
    }
  });
  return { reply, ms: Date.now() - since };
}

describe('scheduler shard failover across processes (NATS + etcd + Redis)', () => {
  it.each([
    ['SIGKILL', 'dies'],
    ['SIGSTOP', 'hangs'],
  ] as const)(
    'a leader that %s (%s): the standby answers within TTL + 1 s, resynced from Redis',
    async (signal, _what) => {
      const { first, second, select } = await setup();
      const at = Date.now();
      first.proc.kill(signal);
      const { reply, ms } = await answeredAfter(select, at);
      console.log(`[scheduler failover] ${signal}: standby answered after ${ms} ms (TTL ${TTL_MS} ms)`);
      expect(ms).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
      expect(has(second, 'serving')).toBe(true);
      // B was filled while `second` stood by: only A is offered.
      expect(reply.selections[0]).toMatchObject({ host: 'hostA', alternates: [] });
      if (signal === 'SIGSTOP') {
        first.proc.kill('SIGCONT');
        await waitFor('the resumed leader reports the loss', 5_000, () => has(first, 'lost'));
        expect((await select('after-resume', 1)).selections[0]?.host).toBe('hostA');
      }
    },
  );
});
