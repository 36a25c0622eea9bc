/**
 * The actor runtime's behaviour on a Bus, as one suite run against the in-process bus on
 * virtual time (actors.memory.test.ts) and against NATS on real time
 * (test/integration/actors-nats.test.ts). Host and client always use separate connections.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActorClient } from '../../../actors/runtime/client.ts';
import type { ActorEvent } from '../../../actors/runtime/events.ts';
import { ActorHost, type ActorHostOptions } from '../../../actors/runtime/host.ts';
import type { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { defineMessage } from '../../../core/codec/envelope.ts';
import type { Bus } from '../../../core/ports/bus.ts';
import type { Clock } from '../../../core/ports/clock.ts';
import { eventually, rejectionCode } from '../../contract/bus-helpers.ts';
import { largeScaleContract } from './actor-runtime-scale.contract.ts';
import { add, boom, counterActor, get, Probe, refuse, work } from './counter-fixture.ts';

export interface ActorTestFixture {
  /** A new connection to the same broker/server. */
  connect(): Promise<Bus>;
  readonly clock: Clock;
  /** Set when running on virtual time: tests advance it instead of waiting. */
  readonly virtual?: VirtualClock;
  cleanup(): Promise<void>;
}

export interface ActorTarget {
  setup(): Promise<ActorTestFixture>;
}

export const SCOPE = 'cell1';
/** Short idle time for passivation tests (virtual, or real on NATS). */
export const IDLE_MS = 150;
const SWEEP_MS = 50;
/** Long enough that nothing passivates during tests that do not want it. */
const NEVER_MS = 3_600_000;

export interface World {
  host: ActorHost;
  client: ActorClient;
  probe: Probe;
  events: ActorEvent[];
}

export interface Ctx {
  fx: ActorTestFixture;
  hosts: ActorHost[];
  world(opts?: Partial<ActorHostOptions>): Promise<World>;
}

/** Lets time pass until `check` holds: advances a virtual clock in steps, or polls real time. */
export async function waitFor<T>(fx: ActorTestFixture, check: () => T, stepMs = SWEEP_MS): Promise<T> {
  if (!fx.virtual) return eventually(check);
  for (let i = 0; ; i++) {
    try {
      return check();
    } catch (err) {
      if (i >= 1_000) throw err;
      await fx.virtual.advance(stepMs);
    }
  }
}

const A = (id: string) => ({ kind: 'counter', id });

export function actorRuntimeContract(label: string, target: ActorTarget): void {
  describe(`actor runtime on ${label}`, () => {
    const ctx = { hosts: [] as ActorHost[] } as unknown as Ctx;
    beforeEach(async () => {
      ctx.fx = await target.setup();
      ctx.hosts = [];
      ctx.world = async (opts = {}) => {
        const probe = new Probe();
        const events: ActorEvent[] = [];
        const host = new ActorHost({
          bus: await ctx.fx.connect(),
          clock: ctx.fx.clock,
          scope: SCOPE,
          idleAfterMs: NEVER_MS,
          sweepIntervalMs: NEVER_MS,
          onEvent: (e) => events.push(e),
          ...opts,
        });
        ctx.hosts.push(host);
        await host.register(counterActor(probe));
        const client = new ActorClient(await ctx.fx.connect(), { scope: SCOPE });
        return { host, client, probe, events };
      };
    });
    afterEach(async () => {
      await Promise.all(ctx.hosts.map((h) => h.shutdown()));
      await ctx.fx.cleanup();
    });
    messagingCases(ctx);
    lifecycleCases(ctx);
    supervisionCases(ctx);
    errorCases(ctx);
    largeScaleContract(ctx);
  });
}

function messagingCases(ctx: Ctx): void {
  it('handles the tells of one client to one actor in order, each actor its own', async () => {
    const { client } = await ctx.world();
    const ids = ['a', 'b.with.dots', 'c/slash_ü'];
    for (let seq = 0; seq < 200; seq++) client.tell(A(ids[seq % 3]!), add, { by: 1, seq });
    for (const [i, id] of ids.entries()) {
      const expected = Array.from({ length: 200 }, (_, s) => s).filter((s) => s % 3 === i);
      // The ask travels behind the tells on the same connection: it sees all of them.
      expect(await client.ask(A(id), get, {})).toEqual({ n: expected.length, seqs: expected });
    }
  });

  it('runs different actors concurrently but one message at a time per actor', async () => {
    const { client, probe } = await ctx.world();
    const ids = ['w1', 'w2', 'w3', 'w4'];
    // Nothing leaves `work` until all four actors are inside at once: a runtime that
    // serialised actors would never get there (and the test would time out).
    const open = probe.hold();
    probe.onEnter = () => {
      if (probe.inside.size === ids.length) open();
    };
    const asks = ids.flatMap((id) => [1, 2, 3].map(() => client.ask(A(id), work, {})));
    await Promise.all(asks);
    expect(probe.maxInside).toBe(ids.length);
    expect(probe.overlap).toBe(false);
  });

  it('answers an ask of a plain message with an acknowledgement once it ran', async () => {
    const { client } = await ctx.world();
    await expect(client.ask(A('ack'), add, { by: 7 })).resolves.toBeUndefined();
    expect((await client.ask(A('ack'), get, {})).n).toBe(7);
  });
}

function lifecycleCases(ctx: Ctx): void {
  it('activates on the first message with persisted state, once', async () => {
    const { client, probe, events } = await ctx.world();
    probe.store.set('x', { n: 5, seqs: [] });
    client.tell(A('x'), add, { by: 1 });
    client.tell(A('x'), add, { by: 1 });
    expect((await client.ask(A('x'), get, {})).n).toBe(7);
    expect(probe.activations).toEqual(['x']);
    expect(events.filter((e) => e.type === 'activated')).toEqual([{ type: 'activated', address: A('x') }]);
  });

  it('passivates idle actors (persisting them) and reactivates them with the persisted state', async () => {
    const { host, client, probe } = await ctx.world({ idleAfterMs: IDLE_MS, sweepIntervalMs: SWEEP_MS });
    await client.ask(A('p1'), add, { by: 3 });
    await client.ask(A('p2'), add, { by: 4 });
    await waitFor(ctx.fx, () => expect(host.stats()).toMatchObject({ actors: 0, passivations: 2 }));
    expect(probe.store.get('p1')?.n).toBe(3);
    expect([...probe.deactivations].sort()).toEqual(['p1', 'p2']);
    client.tell(A('p1'), add, { by: 1 });
    expect((await client.ask(A('p1'), get, {})).n).toBe(4);
    expect(probe.activations.filter((id) => id === 'p1')).toHaveLength(2);
  });

  it('keeps an actor that is in use: a busy actor is not passivated', async () => {
    const { host, client, probe } = await ctx.world({ idleAfterMs: IDLE_MS, sweepIntervalMs: SWEEP_MS });
    const open = probe.hold();
    const held = client.ask(A('busy'), work, {});
    await waitFor(ctx.fx, () => expect(probe.inside.has('busy')).toBe(true));
    if (ctx.fx.virtual) await ctx.fx.virtual.advance(IDLE_MS * 4);
    expect(host.stats().passivations).toBe(0);
    open();
    await held;
    await waitFor(ctx.fx, () => expect(host.stats().passivations).toBe(1));
  });

  it('shuts down gracefully: stops taking messages, drains every mailbox, persists every actor', async () => {
    const { host, client, probe } = await ctx.world();
    const open = probe.hold();
    const ids = ['s1', 's2', 's3', 's4', 's5'];
    const asks = ids.map((id) => client.ask(A(id), work, {}));
    for (const id of ids) for (let i = 0; i < 4; i++) client.tell(A(id), add, { by: 1 });
    await waitFor(ctx.fx, () => expect(host.stats().accepted).toBe(ids.length * 5));
    let done = false;
    const stopping = host.shutdown().then(() => {
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false); // held by the gate
    open();
    await stopping;
    await Promise.all(asks); // in-flight asks were answered
    for (const id of ids) expect(probe.store.get(id)?.n).toBe(4);
    expect(host.stats()).toMatchObject({ processed: 25, active: 0 });
    expect(await rejectionCode(client.ask(A('s1'), get, {}, { timeoutMs: 1_000 }))).toBe('noResponders');
  });
}

function supervisionCases(ctx: Ctx): void {
  it('reports a crash with address and error, answers `internal`, and restarts from persisted state', async () => {
    const { client, probe, events } = await ctx.world();
    probe.store.set('c', { n: 10, seqs: [] });
    await client.ask(A('c'), add, { by: 1 }); // in memory only: lost by the crash
    const err = await client.ask(A('c'), boom, {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'internal', message: expect.stringMatching(/counter\/c .*boom in c/) });
    const failed = events.find((e) => e.type === 'failed');
    expect(failed).toMatchObject({ address: A('c'), phase: 'handle', error: { message: 'boom in c' } });
    expect(events.some((e) => e.type === 'restarted')).toBe(true);
    expect(await client.ask(A('c'), get, {})).toEqual({ n: 10, seqs: [] });
    expect(probe.activations).toEqual(['c', 'c']);
  });

  it('passes a coded error through as an answer, without restarting the actor', async () => {
    const { client, probe, events } = await ctx.world();
    await client.ask(A('k'), add, { by: 2 });
    expect(await rejectionCode(client.ask(A('k'), refuse, {}))).toBe('conflict');
    expect((await client.ask(A('k'), get, {})).n).toBe(2);
    expect(probe.activations).toEqual(['k']);
    expect(events.some((e) => e.type === 'failed')).toBe(false);
  });

  it('stops an actor whose restart budget is spent; others carry on; resume revives it', async () => {
    const { host, client, events } = await ctx.world({ restart: { maxRestarts: 2, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) expect(await rejectionCode(client.ask(A('bad'), boom, {}))).toBe('internal');
    expect(events.filter((e) => e.type === 'restarted')).toHaveLength(2);
    expect(events.find((e) => e.type === 'stopped')).toMatchObject({ address: A('bad') });
    const err = await client.ask(A('bad'), get, {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'closed', message: expect.stringMatching(/stopped.*restart budget/) });
    expect((await client.ask(A('good'), get, {})).n).toBe(0);
    expect(host.resume(A('bad'))).toBe(true);
    expect((await client.ask(A('bad'), get, {})).n).toBe(0);
  });

  it('fails the message whose activation fails, with its code, and activates on the next one', async () => {
    const { client, probe, events } = await ctx.world();
    probe.failActivate.add('f');
    expect(await rejectionCode(client.ask(A('f'), get, {}))).toBe('unavailable');
    expect(events.find((e) => e.type === 'failed')).toMatchObject({ phase: 'activate', address: A('f') });
    probe.failActivate.delete('f');
    expect((await client.ask(A('f'), get, {})).n).toBe(0);
  });
}

function errorCases(ctx: Ctx): void {
  it('surfaces `timeout` and `noResponders` with their codes', async () => {
    const { client, probe } = await ctx.world();
    const open = probe.hold();
    const late = rejectionCode(client.ask(A('t'), work, {}, { timeoutMs: 300 }));
    if (ctx.fx.virtual) await ctx.fx.virtual.advance(300);
    expect(await late).toBe('timeout');
    open();
    const nobody = { kind: 'nobody', id: 'x' };
    expect(await rejectionCode(client.ask(nobody, get, {}))).toBe('noResponders');
    expect(await rejectionCode(client.ask(A('x'), get, {}, { scope: 'cell2' }))).toBe('noResponders');
  });

  it('answers `overloaded` when the mailbox is full, and handles what it accepted', async () => {
    const { host, client, probe, events } = await ctx.world({ mailboxLimit: 2 });
    const open = probe.hold();
    const first = client.ask(A('o'), work, {});
    await waitFor(ctx.fx, () => expect(probe.inside.has('o')).toBe(true));
    const queued = [client.ask(A('o'), work, {}), client.ask(A('o'), work, {})];
    expect(await rejectionCode(client.ask(A('o'), work, {}))).toBe('overloaded');
    expect(events.find((e) => e.type === 'overloaded')).toMatchObject({ address: A('o') });
    open();
    await Promise.all([first, ...queued]);
    expect(host.stats()).toMatchObject({ overloaded: 1, processed: 3 });
  });

  it('refuses a message type the kind does not handle with `unsupportedVersion`', async () => {
    const { client } = await ctx.world();
    const other = { kind: 'counter', id: 'u' };
    const stray = defineMessage({ type: 'cp.test.stray', major: 1, minor: 0, parse: (b) => b });
    expect(await rejectionCode(client.ask(other, stray, {}))).toBe('unsupportedVersion');
  });
}
