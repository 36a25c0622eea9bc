/**
 * HostRegistrar's contracts with a scripted tree client (each register ask is held until the
 * test settles it): at most `maxInFlight` asks at once; one ask per host at a time, a newer
 * registration replacing a waiting one; errors, bad messages and other cells reported, never
 * thrown; a host mapped to another cell is refused before its tree is registered.
 */
import { describe, expect, it } from 'vitest';
import {
  HostRegistrar,
  REGISTRAR_REREGISTER_MIN_INTERVAL_MS,
  type RegistrarEvent,
} from '../../../actors/host-registrar.ts';
import type { RegisterReply } from '../../../actors/provider-tree-messages.ts';
import { MemoryBus } from '../../../core/adapters/memory/bus.ts';
import { decode, encode } from '../../../core/codec/envelope.ts';
import { CellplaneError } from '../../../core/errors.ts';
import { agentSubjects } from '../../../host-agent/agent.ts';
import { describeFakeHost } from '../../../host-agent/drivers/fake-host.ts';
import { type RegisterHost, registerHost } from '../../../host-agent/messages.ts';
import { smallHost } from '../host-agent/helpers.ts';

const CELL = 'cell1';
const route = { scope: `${CELL}-agents`, hostKind: 'host-agent', instanceKind: 'host-instance' };

function registration(host: string, incarnation = 1, cell = CELL): RegisterHost {
  const d = describeFakeHost(smallHost(host, { gpus: [{ units: 2 }] }));
  return {
    host,
    cell,
    hypervisorType: d.hypervisorType,
    route,
    providers: d.providers,
    capabilities: d.capabilities,
    incarnation,
    atMs: 0,
  };
}

/** A tree client whose register asks wait until settled by the test. */
class HeldTrees {
  readonly calls: Array<{ root: string; providers: number; settle: (err?: Error) => void }> = [];
  inFlight = 0;
  maxInFlight = 0;

  register = (root: string, providers: readonly unknown[]): Promise<RegisterReply> => {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve, reject) => {
      this.calls.push({
        root,
        providers: providers.length,
        settle: (err) => {
          this.inFlight--;
          if (err) reject(err);
          else resolve({ changed: true, version: 1, generations: {} });
        },
      });
    });
  };

  /** Settles every call made so far (and those they trigger) until nothing is pending. */
  async settleAll(registrar: HostRegistrar, err?: (root: string) => Error | undefined): Promise<void> {
    for (let done = 0; ; ) {
      await new Promise((r) => setImmediate(r));
      const pending = this.calls.slice(done);
      if (pending.length === 0) break;
      done = this.calls.length;
      for (const c of pending) c.settle(err?.(c.root));
    }
    await registrar.idle();
  }
}

function make(opts: { maxInFlight?: number } = {}) {
  const trees = new HeldTrees();
  const events: RegistrarEvent[] = [];
  const registrar = new HostRegistrar({
    bus: new MemoryBus(),
    cell: CELL,
    trees,
    registrations: { subject: agentSubjects(CELL).register, parse: (d) => decode(registerHost, d) },
    onEvent: (e) => events.push(e),
    ...(opts.maxInFlight ? { maxInFlight: opts.maxInFlight } : {}),
  });
  return { trees, events, registrar };
}

describe('HostRegistrar', () => {
  it('keeps at most maxInFlight register asks in flight and registers every host', async () => {
    const { trees, events, registrar } = make({ maxInFlight: 4 });
    for (let i = 0; i < 40; i++) registrar.receive(encode(registerHost, registration(`cn${i}`)));
    expect(trees.calls).toHaveLength(4);
    await trees.settleAll(registrar);
    expect(trees.maxInFlight).toBe(4);
    expect(trees.calls).toHaveLength(40);
    expect(registrar.hosts()).toHaveLength(40);
    expect(trees.calls[0]!.providers).toBe(2); // root + one GPU (2 VGPU)
    expect(events.every((e) => e.type === 'registered')).toBe(true);
  });

  it('one ask per host at a time; the newest waiting registration wins', async () => {
    const { trees, registrar } = make();
    registrar.receive(encode(registerHost, registration('cn1', 1)));
    registrar.receive(encode(registerHost, registration('cn1', 2))); // waits
    registrar.receive(encode(registerHost, registration('cn1', 3))); // replaces 2
    expect(trees.calls).toHaveLength(1);
    trees.calls[0]!.settle();
    await trees.settleAll(registrar);
    expect(trees.calls).toHaveLength(2);
    expect(registrar.host('cn1')?.incarnation).toBe(3);
  });

  it('reports failures, bad messages and other cells; keeps serving', async () => {
    const { trees, events, registrar } = make();
    const bad = registration('cn2');
    registrar.receive(new Uint8Array([1, 2, 3]));
    registrar.receive(encode(registerHost, registration('cn9', 1, 'cell2')));
    registrar.receive(
      encode(registerHost, { ...bad, providers: bad.providers.map(({ parentUuid, ...p }) => p) }),
    );
    registrar.receive(encode(registerHost, registration('cn3')));
    const failing = registration('cn4');
    registrar.receive(encode(registerHost, failing));
    await trees.settleAll(registrar, (root) =>
      root === failing.providers[0]!.uuid ? new CellplaneError('unavailable', 'store down') : undefined,
    );
    const kinds = events.map((e) => (e.type === 'failed' ? `failed:${e.host}:${e.error.code}` : e.type));
    expect(kinds).toEqual([
      'invalid',
      'ignored',
      'failed:cn2:invalid',
      'registered',
      'failed:cn4:unavailable',
    ]);
    expect(registrar.hosts().map((h) => h.host)).toEqual(['cn3']);
  });

  it('a host mapped to another cell is refused before its tree is registered', async () => {
    const trees = new HeldTrees();
    const events: RegistrarEvent[] = [];
    const mapped: string[] = [];
    const registrar = new HostRegistrar({
      bus: new MemoryBus(),
      cell: CELL,
      trees,
      registrations: { subject: 'x', parse: (d) => decode(registerHost, d) },
      memberships: {
        mapHost: async (host) => {
          if (host === 'taken') throw new CellplaneError('conflict', 'mapped to cell2');
          mapped.push(host);
          return {};
        },
      },
      cellUuid: 'c1',
      onEvent: (e) => events.push(e),
    });
    registrar.receive(encode(registerHost, registration('taken')));
    registrar.receive(encode(registerHost, registration('free')));
    await trees.settleAll(registrar);
    expect(trees.calls).toHaveLength(1);
    expect(mapped).toEqual(['free']);
    expect(events.map((e) => e.type)).toEqual(['failed', 'registered']);
    expect(
      () => new HostRegistrar({ ...registrarOpts(), memberships: { mapHost: async () => ({}) } }),
    ).toThrow(/cellUuid/);
  });

  it('reregister: asks the host of a lost tree to register again, at most once per interval; an unknown root asks every host', async () => {
    const trees = new HeldTrees();
    const asked: Array<readonly string[] | undefined> = [];
    let now = 0;
    const events: RegistrarEvent[] = [];
    const registrar = new HostRegistrar({
      ...registrarOpts(),
      trees,
      askAgain: (hosts) => asked.push(hosts),
      now: () => now,
      onEvent: (e) => events.push(e),
    });
    const reg = registration('cn1');
    registrar.receive(encode(registerHost, reg));
    await trees.settleAll(registrar);
    const root = reg.providers[0]!.uuid;
    registrar.reregister(root);
    registrar.reregister(root); // every claim on the lost tree says so: one ask is enough
    now += REGISTRAR_REREGISTER_MIN_INTERVAL_MS - 1;
    registrar.reregister(root);
    expect(asked).toEqual([['cn1']]);
    now += 1;
    registrar.reregister(root);
    registrar.reregister('99999999-9999-4999-8999-999999999999'); // no host known for it here
    expect(asked).toEqual([['cn1'], ['cn1'], undefined]);
    expect(events.filter((e) => e.type === 'reregister')).toEqual([
      { type: 'reregister', root, host: 'cn1' },
      { type: 'reregister', root, host: 'cn1' },
      { type: 'reregister', root: '99999999-9999-4999-8999-999999999999', host: undefined },
    ]);
  });

  it('subscribes to the registration subject', async () => {
    const bus = new MemoryBus();
    const trees = new HeldTrees();
    const registrar = new HostRegistrar({ ...registrarOpts(), bus, trees });
    await registrar.start();
    bus.publish(agentSubjects(CELL).register, encode(registerHost, registration('cn1')));
    await new Promise((r) => setImmediate(r));
    await trees.settleAll(registrar);
    expect(registrar.host('cn1')?.root).toBe(trees.calls[0]?.root);
    await registrar.stop();
    bus.publish(agentSubjects(CELL).register, encode(registerHost, registration('cn2')));
    await new Promise((r) => setImmediate(r));
    expect(trees.calls).toHaveLength(1);
    await bus.close();
  });
});

function registrarOpts() {
  return {
    bus: new MemoryBus(),
    cell: CELL,
    trees: new HeldTrees(),
    registrations: {
      subject: agentSubjects(CELL).register,
      parse: (d: Uint8Array) => decode(registerHost, d),
    },
  };
}
