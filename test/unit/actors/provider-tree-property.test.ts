/**
 * Safety of the provider-tree actor under any interleaving: several clients race claims and
 * releases (one op per client per round, all in flight at once, some with their last-seen
 * generations), with injected store faults (before or after the commit — the client retries the
 * same request, as a conductor would) and passivations between rounds. After every round:
 *  - no provider is over capacity;
 *  - the persisted usages equal the sum of the live consumers' allocations, and the live
 *    consumers are exactly those whose last definite answer was a successful claim;
 *  - the actor's snapshot equals what the store holds.
 * fast-check prints the seed and the shrunk rounds of a failure; replay with `{ seed, path }`.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderTreeClient } from '../../../actors/provider-tree-client.ts';
import type { Allocations, ClaimRequest, Generations } from '../../../actors/provider-tree-messages.ts';
import { stateOf, treeRecordMessage, treeRecords } from '../../../actors/provider-tree-store.ts';
import { ActorClient } from '../../../actors/runtime/client.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { decode } from '../../../core/codec/envelope.ts';
import { hasCode } from '../../../core/errors.ts';
import { capacity } from '../../../core/model/inventory.ts';
import { consumer, FaultyStore, hostTrees, NUMA0, ROOT, tree } from './provider-tree-fixture.ts';

const SCOPE = 'cell1';
const CLIENTS = 3;
const CONSUMERS_PER_CLIENT = 3;
const IDLE_MS = 1_000;
/** A retry after `unavailable` (one injected fault per round, so the second try is definite). */
const MAX_TRIES = 3;

/** ROOT: 4 VCPU, 2048 MB in 512 MB steps · NUMA0: 2 VGPU. */
const HOST = tree(ROOT)
  .inv('VCPU', 4)
  .inv('MEMORY_MB', 2048, { stepSize: 512 })
  .child(NUMA0, 'numa0', (c) => c.inv('VGPU', 2))
  .build();

type Op =
  | { kind: 'claim'; k: number; vcpu: number; memSteps: number; vgpu: number; withGens: boolean }
  | { kind: 'release'; k: number }
  | { kind: 'idle' };

interface Round {
  ops: Op[];
  fault: 'throwBefore' | 'throwAfter' | null;
  passivate: boolean;
}

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('claim' as const),
    k: fc.nat(CONSUMERS_PER_CLIENT - 1),
    vcpu: fc.integer({ min: 1, max: 3 }),
    memSteps: fc.nat(2),
    vgpu: fc.nat(1),
    withGens: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('release' as const), k: fc.nat(CONSUMERS_PER_CLIENT - 1) }),
  fc.constant({ kind: 'idle' as const }),
);
const round: fc.Arbitrary<Round> = fc.record({
  ops: fc.array(op, { minLength: CLIENTS, maxLength: CLIENTS }),
  fault: fc.constantFrom(null, null, 'throwBefore' as const, 'throwAfter' as const),
  passivate: fc.boolean(),
});

function allocationsOf(o: Extract<Op, { kind: 'claim' }>): Allocations {
  const onRoot: Record<string, number> = { VCPU: o.vcpu };
  if (o.memSteps > 0) onRoot.MEMORY_MB = 512 * o.memSteps;
  return o.vgpu > 0 ? { [ROOT]: onRoot, [NUMA0]: { VGPU: o.vgpu } } : { [ROOT]: onRoot };
}

/** Retries the same request while its outcome is unknown (`unavailable`). */
async function definite<T>(call: () => Promise<T>): Promise<{ value: T; tries: number }> {
  for (let i = 1; ; i++) {
    try {
      return { value: await call(), tries: i };
    } catch (err) {
      if (!hasCode(err, 'unavailable') || i >= MAX_TRIES) throw err;
    }
  }
}

describe('provider-tree safety properties (memory)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('safety: no interleaving of claims and releases overfills a provider or loses/duplicates an allocation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(round, { minLength: 1, maxLength: 10 }), async (rounds) => {
        const clock = new VirtualClock(0);
        const broker = new MemoryBroker({ clock });
        const hostBus = broker.connect();
        const buses = Array.from({ length: CLIENTS }, () => broker.connect());
        const store = new FaultyStore(new MemoryStore());
        const { host } = await hostTrees({
          bus: hostBus,
          clientBus: buses[0]!,
          store,
          clock,
          scope: SCOPE,
          idleAfterMs: IDLE_MS,
        });
        try {
          const clients = buses.map((b) => new ProviderTreeClient(new ActorClient(b, { scope: SCOPE })));
          const { generations } = await clients[0]!.register(ROOT, HOST);
          const seen: Generations[] = clients.map(() => generations);
          const live = new Map<string, Allocations>(); // the model
          for (const r of rounds) {
            if (r.fault) store.plan.push(r.fault);
            await Promise.all(r.ops.map((o, c) => step(clients[c]!, c, o, seen, live)));
            store.plan.length = 0; // a fault no commit consumed does not leak into the next round
            if (r.passivate) await clock.advance(IDLE_MS + 2_000);
            await checkInvariants(store, clients[0]!, live);
          }
        } finally {
          await host.shutdown();
          await Promise.all([hostBus, ...buses].map((b) => b.close()));
        }
      }),
      { numRuns: 100 },
    );
  });
});

async function step(
  client: ProviderTreeClient,
  c: number,
  o: Op,
  seen: Generations[],
  live: Map<string, Allocations>,
): Promise<void> {
  if (o.kind === 'idle') return;
  const uuid = consumer(c * CONSUMERS_PER_CLIENT + o.k + 1);
  if (o.kind === 'release') {
    const { value: r, tries } = await definite(() => client.release(ROOT, uuid));
    // After a failed try the first one may have released it already.
    if (tries === 1) expect(r.released).toBe(live.has(uuid));
    live.delete(uuid);
    seen[c] = r.generations;
    return;
  }
  const req: ClaimRequest = {
    consumer: uuid,
    project: 'p',
    user: 'u',
    allocations: allocationsOf(o),
    ...(o.withGens ? { expectedGenerations: seen[c]! } : {}),
  };
  const { value: out } = await definite(() => client.claim(ROOT, req));
  if (out.ok) {
    live.set(uuid, req.allocations);
    seen[c] = out.reply.generations;
  } else seen[c] = out.conflict.generations;
}

async function checkInvariants(
  store: FaultyStore,
  client: ProviderTreeClient,
  live: Map<string, Allocations>,
): Promise<void> {
  const entry = await store.get(treeRecords(store).key(ROOT));
  const record = decode(treeRecordMessage, entry!.value);
  const persisted = new Map(record.consumers.map((c) => [c.uuid, c.allocations]));
  expect(persisted).toEqual(live);
  const state = stateOf(record);
  const snap = await client.snapshot(ROOT);
  for (const p of snap.providers) {
    const rp = state.provider(p.uuid as never)!;
    for (const [rc, inv] of rp.inventories) {
      let sum = 0;
      for (const a of live.values()) sum += a[p.uuid]?.[rc] ?? 0;
      expect(rp.usages.get(rc) ?? 0).toBe(sum);
      expect(sum).toBeLessThanOrEqual(capacity(inv));
      expect(p.usages[rc]).toBe(sum);
    }
    expect(p.generation).toBe(rp.generation);
  }
}
