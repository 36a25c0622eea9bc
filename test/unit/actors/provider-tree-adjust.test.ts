/**
 * An operator's Placement writes on a host's providers (actors/provider-tree-overrides.ts, the
 * tree actor's `adjust`): generation-checked, recorded in the tree's record, and laid over the
 * host's view at every register so its agent does not undo them; what only the host may change
 * (classes, totals) is refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadTree } from '../../../actors/provider-tree.ts';
import { claimConflictOf } from '../../../actors/provider-tree-messages.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { makeInventory } from '../../../core/model/inventory.ts';
import { hostTrees, NUMA0, ROOT, tree } from './provider-tree-fixture.ts';

const HOST = () =>
  tree(ROOT)
    .inv('VCPU', 4)
    .inv('MEMORY_MB', 4096)
    .trait('HW_CPU_X86_AVX2')
    .child(NUMA0, 'numa0', (c) => c.inv('VGPU', 2))
    .build();

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function world() {
  const clock = new VirtualClock(0);
  const broker = new MemoryBroker({ clock });
  const [bus, clientBus] = [broker.connect(), broker.connect()];
  const store = new MemoryStore();
  const { host, trees } = await hostTrees({
    bus,
    clientBus,
    store,
    clock,
    scope: 'cell1',
    askTimeoutMs: 2_000,
  });
  cleanup.push(async () => {
    await host.shutdown();
    await Promise.all([bus.close(), clientBus.close()]);
  });
  await trees.register(ROOT, HOST());
  return { trees, store };
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error & { code: string },
  );

describe('tree actor: an operator adjusts a provider', () => {
  it('traits and reserved are set against the generation, and a later register of the host keeps them', async () => {
    const { trees, store } = await world();
    const snap = await trees.snapshot(ROOT);
    const gen = snap.providers.find((p) => p.uuid === ROOT)!.generation;
    const traits = await trees.adjust(ROOT, {
      provider: ROOT,
      generation: gen,
      traits: ['HW_CPU_X86_AVX2', 'CUSTOM_X'],
    });
    expect(traits.generations[ROOT]).toBe(gen + 1);
    const inventories = {
      VCPU: makeInventory({ total: 4, reserved: 4 }),
      MEMORY_MB: makeInventory({ total: 4096, allocationRatio: 1.5 }),
    };
    const inv = await trees.adjust(ROOT, { provider: ROOT, generation: gen + 1, inventories });
    expect(inv.generations[ROOT]).toBe(gen + 2);

    // The host registers its own view again (its agent restarted): the operator's changes stay.
    const again = await trees.register(ROOT, HOST());
    expect(again.changed).toBe(false);
    const root = (await trees.snapshot(ROOT)).providers.find((p) => p.uuid === ROOT)!;
    expect(root.traits).toEqual(['CUSTOM_X', 'HW_CPU_X86_AVX2']);
    expect([root.inventories.VCPU!.reserved, root.inventories.MEMORY_MB!.allocationRatio]).toEqual([4, 1.5]);
    // And they are in the record: a reload (another process) has them.
    const loaded = await loadTree(store, ROOT);
    expect([...loaded.placement.provider(ROOT)!.traits].sort()).toEqual(['CUSTOM_X', 'HW_CPU_X86_AVX2']);
    expect(loaded.overrides.get(ROOT)?.inventories?.VCPU?.reserved).toBe(4);
  });

  it("the host growing keeps the operator's reserved (clamped to the new total) and its own total", async () => {
    const { trees } = await world();
    const gen = (await trees.snapshot(ROOT)).providers.find((p) => p.uuid === ROOT)!.generation;
    await trees.adjust(ROOT, {
      provider: ROOT,
      generation: gen,
      inventories: {
        VCPU: makeInventory({ total: 4, reserved: 2 }),
        MEMORY_MB: makeInventory({ total: 4096 }),
      },
    });
    const bigger = tree(ROOT)
      .inv('VCPU', 16)
      .inv('MEMORY_MB', 4096)
      .trait('HW_CPU_X86_AVX2')
      .child(NUMA0, 'numa0', (c) => c.inv('VGPU', 2))
      .build();
    await trees.register(ROOT, bigger);
    const root = (await trees.snapshot(ROOT)).providers.find((p) => p.uuid === ROOT)!;
    expect([root.inventories.VCPU!.total, root.inventories.VCPU!.reserved]).toEqual([16, 2]);
  });

  it('refusals: a stale generation (conflict), another class or total (invalid), a provider not in the tree', async () => {
    const { trees } = await world();
    const gen = (await trees.snapshot(ROOT)).providers.find((p) => p.uuid === ROOT)!.generation;
    const stale = await refusal(trees.adjust(ROOT, { provider: ROOT, generation: gen + 7, traits: [] }));
    expect(stale?.code).toBe('conflict');
    const total = await refusal(
      trees.adjust(ROOT, {
        provider: ROOT,
        generation: gen,
        inventories: { VCPU: makeInventory({ total: 8 }), MEMORY_MB: makeInventory({ total: 4096 }) },
      }),
    );
    expect([total?.code, total?.message]).toEqual([
      'invalid',
      "the total of VCPU on provider host-11111111 is its host's (4)",
    ]);
    const cls = await refusal(
      trees.adjust(ROOT, {
        provider: ROOT,
        generation: gen,
        inventories: { VCPU: makeInventory({ total: 4 }) },
      }),
    );
    expect(cls?.message).toMatch(/are its host's \(MEMORY_MB, VCPU\)/);
    const other = await refusal(
      trees.adjust(ROOT, { provider: '99999999-9999-4999-8999-999999999999', generation: 0, traits: [] }),
    );
    expect(other?.code).toBe('notFound');
    expect(claimConflictOf(stale)).toBeUndefined();
  });
});
