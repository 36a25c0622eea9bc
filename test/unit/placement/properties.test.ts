/**
 * Safety properties of the placement engine over random sequences of operations. Each run draws
 * ops against small pools of provider and consumer names (so ops collide), with current, stale
 * or absent generations. fast-check prints the seed and path of a failing run; replay it with
 * `fc.assert(..., { seed, path })`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Uuid } from '../../../core/model/ids.ts';
import { capacity, type Inventory, makeInventory } from '../../../core/model/inventory.ts';
import { allocationCandidates } from '../../../core/placement/candidates.ts';
import {
  type ConsumerWrite,
  createProvider,
  deleteAllocations,
  deleteProvider,
  type Outcome,
  PlacementCodes,
  type PlacementState,
  placementCodeOf,
  providerUsages,
  setInventories,
  setTraits,
  unwrap,
  writeAllocations,
} from '../../../core/placement/operations.ts';
import { makeProvider, makeState, uuidFor } from '../../builders.ts';

const PROVIDERS = ['cn1', 'cn2', 'cn1_numa0', 'cn1_gpu0', 'cn2_gpu0'].map(uuidFor);
const CONSUMERS = ['vm1', 'vm2', 'vm3', 'vm4'].map(uuidFor);
const CLASSES = ['VCPU', 'MEMORY_MB', 'VGPU'] as const;
const TRAITS = ['HW_CPU_X86_AVX2', 'COMPUTE_STATUS_DISABLED', 'HW_GPU_API_VULKAN'];
const RUNS = { numRuns: 150 };

/** 'current' uses the right generation, 'stale' a wrong one, 'none' skips the check. */
type GenMode = 'current' | 'stale' | 'none';
const genMode = fc.constantFrom<GenMode>('current', 'current', 'current', 'stale', 'none');

const inventoryArb: fc.Arbitrary<Inventory> = fc
  .record({
    total: fc.integer({ min: 1, max: 20 }),
    reservedPart: fc.integer({ min: 0, max: 100 }),
    allocationRatio: fc.constantFrom(0.5, 1, 1.5, 4),
    minUnit: fc.integer({ min: 1, max: 2 }),
    maxUnit: fc.integer({ min: 2, max: 20 }),
    stepSize: fc.integer({ min: 1, max: 3 }),
  })
  .map(({ reservedPart, total, ...rest }) =>
    makeInventory({ total, reserved: Math.floor((total * reservedPart) / 100), ...rest }),
  );

/** Provider index and class pairs that the start state has inventory for. */
const STOCKED: ReadonlyArray<readonly [number, (typeof CLASSES)[number]]> = [
  [0, 'VCPU'],
  [0, 'MEMORY_MB'],
  [1, 'VCPU'],
  [3, 'VGPU'],
  [4, 'VGPU'],
];
const allocationsArb = fc.array(
  fc
    .tuple(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...STOCKED) },
        { weight: 1, arbitrary: fc.tuple(fc.nat(PROVIDERS.length - 1), fc.constantFrom(...CLASSES)) },
      ),
      fc.integer({ min: 1, max: 8 }),
    )
    .map(([[rp, rc], n]) => [rp, rc, n] as const),
  { maxLength: 3 },
);

const opArb = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('create' as const), rp: fc.nat(4), parent: fc.option(fc.nat(4)) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), rp: fc.nat(4) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('inventories' as const),
      rp: fc.nat(4),
      gen: genMode,
      inv: fc.dictionary(fc.constantFrom(...CLASSES), inventoryArb, { minKeys: 1, maxKeys: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('traits' as const),
      rp: fc.nat(4),
      gen: genMode,
      traits: fc.subarray(TRAITS),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('allocate' as const),
      writes: fc.uniqueArray(fc.record({ consumer: fc.nat(3), gen: genMode, allocs: allocationsArb }), {
        minLength: 1,
        maxLength: 2,
        selector: (w) => w.consumer,
      }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('free' as const), consumer: fc.nat(3) }) },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

/**
 * Every run starts from two hosts with nested children and room for a few allocations, so
 * that most ops act on something: cn1 VCPU (8 * 2 = 16), MEMORY_MB 16 in steps of 2;
 * cn1_gpu0 VGPU 4; cn2 VCPU 4; cn2_gpu0 VGPU 2 (max_unit 1). cn1_numa0 starts empty.
 */
function startState(): PlacementState {
  return makeState(
    makeProvider('cn1')
      .inventory('VCPU', 8, { allocationRatio: 2 })
      .inventory('MEMORY_MB', 16, { stepSize: 2 })
      .child(makeProvider('cn1_numa0'), makeProvider('cn1_gpu0').inventory('VGPU', 4)),
    makeProvider('cn2')
      .inventory('VCPU', 4)
      .child(makeProvider('cn2_gpu0').inventory('VGPU', 2, { maxUnit: 1 })),
  );
}

function providerGen(state: PlacementState, uuid: Uuid, mode: GenMode): number | undefined {
  const g = state.provider(uuid)?.generation ?? 0;
  return mode === 'none' ? undefined : mode === 'current' ? g : g + 1;
}

function consumerGen(state: PlacementState, uuid: Uuid, mode: GenMode): number | null | undefined {
  const g = state.consumer(uuid)?.generation ?? null;
  if (mode === 'none') return undefined;
  if (mode === 'current') return g;
  return g === null ? 7 : g === 1 ? null : g - 1;
}

function apply(state: PlacementState, op: Op): Outcome<unknown> {
  switch (op.op) {
    case 'create': {
      const parent = op.parent === null ? null : PROVIDERS[op.parent]!;
      return createProvider(state, { uuid: PROVIDERS[op.rp]!, name: `rp-${op.rp}`, parentUuid: parent });
    }
    case 'delete':
      return deleteProvider(state, PROVIDERS[op.rp]!);
    case 'inventories':
      return setInventories(state, PROVIDERS[op.rp]!, providerGen(state, PROVIDERS[op.rp]!, op.gen), op.inv);
    case 'traits':
      return setTraits(state, PROVIDERS[op.rp]!, providerGen(state, PROVIDERS[op.rp]!, op.gen), op.traits);
    case 'allocate': {
      const writes: ConsumerWrite[] = [];
      for (const w of op.writes) {
        const allocations: Record<string, Record<string, number>> = {};
        for (const [rp, rc, n] of w.allocs)
          allocations[PROVIDERS[rp]!] = { ...allocations[PROVIDERS[rp]!], [rc]: n };
        const uuid = CONSUMERS[w.consumer]!;
        const expectedGeneration = consumerGen(state, uuid, w.gen);
        writes.push({ consumerUuid: uuid, projectId: 'p', userId: 'u', expectedGeneration, allocations });
      }
      return writeAllocations(state, writes);
    }
    case 'free':
      return deleteAllocations(state, CONSUMERS[op.consumer]!);
  }
}

function isStale(op: Op): boolean {
  if (op.op === 'inventories' || op.op === 'traits') return op.gen === 'stale';
  if (op.op === 'allocate') return op.writes.some((w) => w.gen === 'stale');
  return false;
}

/** Everything observable, in a stable order: two equal dumps mean two equal states. */
function dump(state: PlacementState): string {
  const rps = [...state.providers()].map((rp) => ({
    ...rp,
    children: [...rp.children].sort(),
    traits: [...rp.traits].sort(),
    aggregates: [...rp.aggregates].sort(),
    inventories: [...rp.inventories].sort(),
    usages: [...rp.usages].sort(),
    consumers: [...rp.consumers].sort(),
  }));
  const consumers = [...state.consumers()].map((c) => ({
    ...c,
    allocations: [...c.allocations].map(([rp, m]) => [rp, [...m]]),
  }));
  return JSON.stringify({ rps, consumers });
}

/** Usages and the provider→consumer index agree with the consumers' allocations. */
function checkConsistency(state: PlacementState): void {
  const sums = new Map<string, number>();
  const holders = new Map<Uuid, Set<Uuid>>();
  for (const c of state.consumers()) {
    expect(c.allocations.size).toBeGreaterThan(0);
    for (const [rp, byClass] of c.allocations) {
      if (!holders.has(rp)) holders.set(rp, new Set());
      holders.get(rp)!.add(c.uuid);
      for (const [rc, n] of byClass) sums.set(`${rp}/${rc}`, (sums.get(`${rp}/${rc}`) ?? 0) + n);
    }
  }
  for (const rp of state.providers()) {
    for (const [rc, used] of rp.usages) expect(used).toBe(sums.get(`${rp.uuid}/${rc}`));
    for (const rc of CLASSES) expect(rp.usages.get(rc) ?? 0).toBe(sums.get(`${rp.uuid}/${rc}`) ?? 0);
    expect(rp.consumers).toEqual(holders.get(rp.uuid) ?? new Set());
    const parent = rp.parentUuid === null ? undefined : state.provider(rp.parentUuid);
    expect(rp.rootUuid).toBe(parent ? parent.rootUuid : rp.uuid);
  }
}

function fingerprint(state: PlacementState, uuid: Uuid): string {
  const rp = state.provider(uuid)!;
  return JSON.stringify([[...rp.inventories], [...rp.traits].sort(), [...rp.aggregates].sort()]);
}

/** True when some class's usage on the provider grew (or appeared) since `before`. */
function usageGrew(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): boolean {
  for (const [rc, used] of after) if (used > (before.get(rc) ?? 0)) return true;
  return false;
}

describe('placement engine safety properties', () => {
  it('no allocation ever takes a provider over capacity; only an inventory shrink can, and then usage never grows', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60, size: 'max' }), (ops) => {
        const state = startState();
        /** Over-capacity (rp/rc) left by an inventory write → the usage it is allowed, at most. */
        const tolerated = new Map<string, number>();
        for (const op of ops) {
          const out = apply(state, op);
          if (out.ok && op.op === 'inventories') {
            const rp = state.provider(PROVIDERS[op.rp]!)!;
            for (const rc of (out.value as { overCapacity: string[] }).overCapacity) {
              tolerated.set(`${rp.uuid}/${rc}`, rp.usages.get(rc)!);
            }
          }
          for (const rp of state.providers()) {
            for (const [rc, inv] of rp.inventories) {
              const key = `${rp.uuid}/${rc}`;
              const used = rp.usages.get(rc) ?? 0;
              if (used <= capacity(inv)) tolerated.delete(key);
              else expect(used).toBeLessThanOrEqual(tolerated.get(key) ?? Number.NEGATIVE_INFINITY);
            }
          }
          checkConsistency(state);
        }
      }),
      RUNS,
    );
  });

  // Placement leaves a provider's generation alone when it only loses allocations (freeing
  // capacity invalidates no one's check); every other change bumps it.
  it('provider generations never go back and strictly increase on every change but a pure release', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60, size: 'max' }), (ops) => {
        const state = startState();
        const last = new Map<Uuid, { gen: number; print: string; usages: Map<string, number> }>();
        for (const op of ops) {
          const out = apply(state, op);
          for (const rp of state.providers()) {
            const prev = last.get(rp.uuid);
            const print = fingerprint(state, rp.uuid);
            if (prev) {
              expect(rp.generation).toBeGreaterThanOrEqual(prev.gen);
              if (print !== prev.print || usageGrew(prev.usages, rp.usages)) {
                expect(rp.generation).toBeGreaterThan(prev.gen);
              }
            }
            last.set(rp.uuid, { gen: rp.generation, print, usages: new Map(rp.usages) });
          }
          for (const uuid of last.keys()) if (!state.provider(uuid)) last.delete(uuid);
          if (out.ok && (op.op === 'inventories' || op.op === 'traits')) {
            expect(state.provider(PROVIDERS[op.rp]!)!.generation).toBeGreaterThan(0);
          }
        }
      }),
      RUNS,
    );
  });

  it('a write with a stale provider or consumer generation is refused and changes nothing (nor does any refusal)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60, size: 'max' }), (ops) => {
        const state = startState();
        for (const op of ops) {
          const before = dump(state);
          const providerWrite = op.op === 'inventories' || op.op === 'traits';
          const exists = providerWrite ? !!state.provider(PROVIDERS[op.rp]!) : true;
          const out = apply(state, op);
          if (!out.ok) expect(dump(state)).toBe(before);
          if (isStale(op) && exists) {
            expect(out.ok).toBe(false);
            // a provider write checks existence, then the generation, before anything else
            if (!out.ok && providerWrite)
              expect(placementCodeOf(out.error)).toBe(PlacementCodes.concurrentUpdate);
          }
        }
      }),
      RUNS,
    );
  });

  it('deleting allocations restores every usage exactly', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40, size: 'max' }),
        allocationsArb,
        fc.nat(3),
        (ops, allocs, c) => {
          const state = startState();
          for (const op of ops) apply(state, op);
          const consumer = CONSUMERS[c]!;
          if (state.consumer(consumer)) unwrap(deleteAllocations(state, consumer));
          const usages = () => [...state.providers()].map((rp) => [rp.uuid, providerUsages(rp)]);
          const before = JSON.stringify(usages());
          const allocations: Record<string, Record<string, number>> = {};
          for (const [rp, rc, n] of allocs) allocations[PROVIDERS[rp]!] = { [rc]: n };
          const out = writeAllocations(state, [
            { consumerUuid: consumer, projectId: 'p', userId: 'u', expectedGeneration: null, allocations },
          ]);
          if (out.ok && state.consumer(consumer)) unwrap(deleteAllocations(state, consumer));
          expect(JSON.stringify(usages())).toBe(before);
          checkConsistency(state);
        },
      ),
      RUNS,
    );
  });

  it('every allocation candidate can be claimed as returned', () => {
    const groupArb = fc.dictionary(fc.constantFrom(...CLASSES), fc.integer({ min: 1, max: 6 }), {
      minKeys: 1,
      maxKeys: 3,
    });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40, size: 'max' }), groupArb, (ops, resources) => {
        const state = startState();
        for (const op of ops) apply(state, op);
        const claimant = uuidFor('claimant');
        for (const req of unwrap(allocationCandidates(state, { resources })).allocationRequests) {
          const allocations = Object.fromEntries(
            [...req.allocations].map(([rp, m]) => [rp, Object.fromEntries(m)]),
          );
          const write = {
            consumerUuid: claimant,
            projectId: 'p',
            userId: 'u',
            expectedGeneration: null,
            allocations,
          };
          unwrap(writeAllocations(state, [write]));
          unwrap(deleteAllocations(state, claimant));
        }
      }),
      RUNS,
    );
  });

  it('the op generator reaches every outcome the properties are about (so none holds vacuously)', () => {
    const seen = new Map<string, number>();
    const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);
    for (const ops of fc.sample(fc.array(opArb, { maxLength: 60, size: 'max' }), {
      numRuns: 150,
      seed: 42,
    })) {
      const state = startState();
      for (const op of ops) {
        const out = apply(state, op);
        if (out.ok) {
          count(`${op.op}:ok`);
          if (op.op === 'inventories' && (out.value as { overCapacity: string[] }).overCapacity.length > 0) {
            count('shrunk below usage');
          }
        } else count(`${op.op}:${placementCodeOf(out.error)}:${String(out.error.details?.reason ?? '')}`);
      }
    }
    for (const k of [
      'allocate:ok',
      'free:ok',
      'inventories:ok',
      'traits:ok',
      'delete:ok',
      'shrunk below usage',
      'allocate:placement.concurrent_update:',
      'inventories:placement.concurrent_update:',
      'traits:placement.concurrent_update:',
      'allocate:placement.undefined_code:capacity',
      'allocate:placement.undefined_code:step_size',
      'inventories:placement.inventory.inuse:',
      'delete:placement.resource_provider.inuse:',
    ]) {
      expect(seen.get(k) ?? 0, k).toBeGreaterThanOrEqual(5);
    }
  });
});
