/**
 * A tour of the actor runtime for the CLI: N counter actors on any Bus and Clock.
 * Sends messages by tell and ask, reads every count back, lets idle actors passivate
 * (the one sweep timer), shows a reactivation and a supervised restart reloading persisted
 * state, then shuts down with messages still queued and checks none was lost.
 * State is "persisted" in a Map standing in for a store.
 */
import { defineMessage } from '../core/codec/envelope.ts';
import { asInt, asObject, int } from '../core/codec/fields.ts';
import { CellplaneError, hasCode } from '../core/errors.ts';
import type { Bus } from '../core/ports/bus.ts';
import type { Clock } from '../core/ports/clock.ts';
import { defineActor } from './runtime/actor.ts';
import { type ActorAddress, formatAddress } from './runtime/address.ts';
import { ActorClient } from './runtime/client.ts';
import { ActorHost } from './runtime/host.ts';
import { defineAsk } from './runtime/protocol.ts';

export interface ActorDemoOptions {
  readonly bus: Bus;
  readonly clock: Clock;
  readonly actors: number;
  readonly messages: number;
  readonly log: (line: string) => void;
  /** Idle time before passivation (default DEMO_IDLE_AFTER_MS). */
  readonly idleAfterMs?: number;
}

export interface ActorDemoSummary {
  actors: number;
  messages: number;
  told: number;
  asked: number;
  activations: number;
  passivations: number;
  failures: number;
  restarts: number;
  expectedTotal: number;
  persistedTotal: number;
  /** Every count read back and persisted matched what was sent. */
  ok: boolean;
  timingsMs: {
    send: number;
    readBack: number;
    passivate: number;
    restart: number;
    shutdown: number;
    total: number;
  };
}

export const DEMO_IDLE_AFTER_MS = 200;
/** Asks the demo keeps in flight at once. */
export const DEMO_ASKS_IN_FLIGHT = 256;
/** Longest the demo waits for passivation or delivery before giving up. */
export const DEMO_WAIT_LIMIT_MS = 30_000;

const add = defineMessage<{ by: number }>({
  type: 'cp.demo.counter.add',
  major: 1,
  minor: 0,
  parse: (b) => ({ by: int(asObject(b, 'add'), 'by', 'add') }),
});
const count = defineMessage<number>({
  type: 'cp.demo.counter.count',
  major: 1,
  minor: 0,
  parse: (b) => asInt(b, 'count'),
});
const none = (type: string) =>
  defineMessage<Record<string, never>>({ type, major: 1, minor: 0, parse: () => ({}) });
const get = defineAsk(none('cp.demo.counter.get'), count);
const crash = defineAsk(none('cp.demo.counter.crash'), count);

function counterKind(store: Map<string, number>) {
  return defineActor<{ n: number }>({
    kind: 'counter',
    activate: async (id) => ({ n: store.get(id) ?? 0 }),
    deactivate: async (id, s) => void store.set(id, s.n),
  })
    .on(add, (ctx, { by }) => {
      ctx.state.n += by;
    })
    .on(get, (ctx) => ctx.state.n)
    .on(crash, () => {
      throw new Error('demo crash');
    });
}

export async function runActorDemo(opts: ActorDemoOptions): Promise<ActorDemoSummary> {
  if (
    !Number.isInteger(opts.actors) ||
    opts.actors < 1 ||
    !Number.isInteger(opts.messages) ||
    opts.messages < 0
  )
    throw new CellplaneError('invalid', 'actors must be >= 1 and messages >= 0 (integers)');
  const demo = new Demo(opts);
  await demo.host.register(counterKind(demo.store));
  const t0 = opts.clock.now();
  const { told, asked } = await demo.timed('send', () => demo.send());
  opts.log(`sent ${opts.messages} messages to ${opts.actors} actors (${told} tell, ${asked} ask)`);
  await demo.timed('readBack', () => demo.readBack());
  await demo.timed('passivate', () => demo.passivation());
  await demo.timed('restart', () => demo.restart());
  await demo.timed('shutdown', () => demo.shutdown());
  const s = demo.host.stats();
  const persistedTotal = [...demo.store.values()].reduce((a, b) => a + b, 0);
  const expectedTotal = opts.messages + opts.actors;
  demo.check(
    persistedTotal === expectedTotal,
    `persisted total ${persistedTotal}, expected ${expectedTotal}`,
  );
  const { activations, passivations, failures, restarts } = s;
  const timingsMs = { ...demo.timings, total: opts.clock.now() - t0 };
  return {
    actors: opts.actors,
    messages: opts.messages,
    told,
    asked,
    activations,
    passivations,
    failures,
    restarts,
    expectedTotal,
    persistedTotal,
    ok: demo.ok,
    timingsMs,
  };
}

/** The demo's steps and what they share. */
class Demo {
  readonly store = new Map<string, number>();
  readonly host: ActorHost;
  readonly timings = { send: 0, readBack: 0, passivate: 0, restart: 0, shutdown: 0 };
  ok = true;
  private readonly client: ActorClient;
  private readonly sweepMs: number;

  constructor(private readonly opts: ActorDemoOptions) {
    const idleAfterMs = opts.idleAfterMs ?? DEMO_IDLE_AFTER_MS;
    this.sweepMs = Math.max(1, Math.floor(idleAfterMs / 4));
    this.host = new ActorHost({
      bus: opts.bus,
      clock: opts.clock,
      scope: 'demo',
      idleAfterMs,
      sweepIntervalMs: this.sweepMs,
      onEvent: (e) => {
        if (e.type === 'failed') opts.log(`event failed ${formatAddress(e.address)}: ${e.error.message}`);
        if (e.type === 'restarted' || e.type === 'stopped')
          opts.log(`event ${e.type} ${formatAddress(e.address)}`);
      },
    });
    this.client = new ActorClient(opts.bus, { scope: 'demo' });
  }

  async timed<T>(step: keyof Demo['timings'], fn: () => Promise<T>): Promise<T> {
    const start = this.opts.clock.now();
    const out = await fn();
    this.timings[step] = this.opts.clock.now() - start;
    return out;
  }

  check(cond: boolean, problem: string): void {
    if (cond) return;
    this.ok = false;
    this.opts.log(`MISMATCH: ${problem}`);
  }

  /** Messages for actor i % actors: even ones by tell, odd ones by ask, asks a bounded number at a time. */
  async send(): Promise<{ told: number; asked: number }> {
    let told = 0;
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < this.opts.messages; i++) {
      if (i % 2 === 0) {
        this.client.tell(this.to(i), add, { by: 1 });
        told++;
        continue;
      }
      const p: Promise<void> = this.client.ask(this.to(i), add, { by: 1 }).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= DEMO_ASKS_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return { told, asked: this.opts.messages - told };
  }

  /** Every count, by ask (an ask sent behind tells on the same connection sees them). */
  async readBack(): Promise<void> {
    const counts = await askAll(this.opts.actors, (i) => this.client.ask(this.to(i), get, {}));
    const wrong = counts.filter((n, i) => n !== this.expected(i)).length;
    this.check(wrong === 0, `${wrong} of ${counts.length} counts differ from what was sent`);
    this.opts.log(`read back ${counts.length} counts: ${wrong === 0 ? 'all correct' : `${wrong} wrong`}`);
  }

  /** Idle actors go away through the one sweep timer; a reactivation reloads what they persisted. */
  async passivation(): Promise<void> {
    await this.waitUntil('passivation', () => this.host.stats().active === 0);
    this.opts.log(`all ${this.host.stats().passivations} actors passivated (persisted ${this.store.size})`);
    const reloaded = await this.client.ask(this.to(0), get, {});
    this.check(reloaded === this.expected(0), `reactivated count ${reloaded}, expected ${this.expected(0)}`);
  }

  /** A crash is reported and answered 'internal'; the actor reloads its state and carries on. */
  async restart(): Promise<void> {
    const crashed = await this.client.ask(this.to(0), crash, {}).then(
      () => false,
      (err: unknown) => hasCode(err, 'internal'),
    );
    const after = await this.client.ask(this.to(0), get, {});
    this.check(crashed && after === this.expected(0), `after the restart: count ${after}`);
    this.opts.log(`restart: crash answered 'internal', count after restart ${after}`);
  }

  /** One more message for every actor, accepted but not yet handled, then a graceful shutdown. */
  async shutdown(): Promise<void> {
    const accepted = this.host.stats().accepted;
    for (let i = 0; i < this.opts.actors; i++) this.client.tell(this.to(i), add, { by: 1 });
    await this.opts.bus.flush();
    await this.waitUntil('delivery', () => this.host.stats().accepted >= accepted + this.opts.actors);
    await this.host.shutdown();
    this.opts.log(`shutdown drained every mailbox and persisted ${this.store.size} actors`);
  }

  private to(i: number): ActorAddress {
    return { kind: 'counter', id: `c-${i % this.opts.actors}` };
  }

  private expected(i: number): number {
    const { messages, actors } = this.opts;
    return Math.floor(messages / actors) + (i < messages % actors ? 1 : 0);
  }

  private async waitUntil(what: string, cond: () => boolean): Promise<void> {
    const deadline = this.opts.clock.now() + DEMO_WAIT_LIMIT_MS;
    while (!cond()) {
      if (this.opts.clock.now() > deadline)
        throw new CellplaneError('timeout', `demo: gave up waiting for ${what}`);
      await this.opts.clock.sleep(this.sweepMs);
    }
  }
}

async function askAll(n: number, ask: (i: number) => Promise<number>): Promise<number[]> {
  const out: number[] = new Array(n);
  for (let start = 0; start < n; start += DEMO_ASKS_IN_FLIGHT) {
    const batch = [];
    for (let i = start; i < Math.min(n, start + DEMO_ASKS_IN_FLIGHT); i++) {
      batch.push(
        ask(i).then((v) => {
          out[i] = v;
        }),
      );
    }
    await Promise.all(batch);
  }
  return out;
}
