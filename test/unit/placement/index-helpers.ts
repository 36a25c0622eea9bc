/**
 * Shared by the index tests: random worlds, random request groups and a strict, order-keeping
 * rendering of `Candidates` for comparing the index with the reference scan.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Uuid } from '../../../core/model/ids.ts';
import { makeInventory } from '../../../core/model/inventory.ts';
import type { Candidates, RequestGroup } from '../../../core/placement/candidates.ts';
import {
  createProvider,
  deleteAllocations,
  deleteProvider,
  type Outcome,
  type PlacementState,
  setAggregates,
  setInventories,
  setTraits,
  updateProvider,
  writeAllocations,
} from '../../../core/placement/operations.ts';
import { uuidFor } from '../../builders.ts';

export const CLASSES = ['VCPU', 'MEMORY_MB', 'DISK_GB', 'VGPU'] as const;
export const TRAITS = ['HW_CPU_X86_AVX2', 'HW_GPU_API_VULKAN', 'COMPUTE_STATUS_DISABLED'] as const;
export const AGGS = ['agg1', 'agg2', 'agg3'].map(uuidFor);
/** Provider pool: ops pick by index, so they collide. */
export const RPS = Array.from({ length: 16 }, (_, i) => uuidFor(`rp${i}`));
const CONSUMERS = Array.from({ length: 6 }, (_, i) => uuidFor(`vm${i}`));

export const inventoryArb = fc
  .record({
    total: fc.integer({ min: 1, max: 16 }),
    reserved: fc.constantFrom(0, 0, 0, 1, 2),
    allocationRatio: fc.constantFrom(0.5, 1, 1, 2),
    minUnit: fc.constantFrom(1, 1, 1, 2),
    maxUnit: fc.integer({ min: 2, max: 16 }),
    stepSize: fc.constantFrom(1, 1, 1, 2),
  })
  .map(({ total, reserved, ...rest }) =>
    makeInventory({ total, reserved: Math.min(reserved, total), ...rest }),
  );
const invsArb = fc.dictionary(fc.constantFrom(...CLASSES), inventoryArb, { maxKeys: 4 });
const parentArb = fc.option(fc.nat(RPS.length - 1), { nil: undefined });

export const opArb = fc.oneof(
  fc.record({ op: fc.constant('create' as const), rp: fc.nat(RPS.length - 1), parent: parentArb }),
  fc.record({ op: fc.constant('delete' as const), rp: fc.nat(RPS.length - 1) }),
  fc.record({ op: fc.constant('move' as const), rp: fc.nat(RPS.length - 1), parent: parentArb }),
  fc.record({ op: fc.constant('inventories' as const), rp: fc.nat(RPS.length - 1), inv: invsArb }),
  fc.record({
    op: fc.constant('traits' as const),
    rp: fc.nat(RPS.length - 1),
    traits: fc.subarray([...TRAITS]),
  }),
  fc.record({ op: fc.constant('aggregates' as const), rp: fc.nat(RPS.length - 1), aggs: fc.subarray(AGGS) }),
  fc.record({
    op: fc.constant('allocate' as const),
    consumer: fc.nat(CONSUMERS.length - 1),
    rp: fc.nat(RPS.length - 1),
    rc: fc.constantFrom(...CLASSES),
    amount: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({ op: fc.constant('free' as const), consumer: fc.nat(CONSUMERS.length - 1) }),
);
export type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

/** Applies `op` through the checked operations; refusals (a full provider, a parent in use…) are fine. */
export function applyOp(state: PlacementState, op: Op): void {
  const rp = 'rp' in op ? RPS[op.rp]! : undefined;
  const parent = 'parent' in op && op.parent !== undefined ? RPS[op.parent]! : null;
  switch (op.op) {
    case 'create':
      createProvider(state, { uuid: rp!, name: `rp-${op.rp}`, parentUuid: parent });
      return;
    case 'delete':
      deleteProvider(state, rp!);
      return;
    case 'move':
      updateProvider(state, rp!, { name: `rp-${op.rp}`, parentUuid: parent, allowReparenting: true });
      return;
    case 'inventories':
      setInventories(state, rp!, undefined, op.inv);
      return;
    case 'traits':
      setTraits(state, rp!, undefined, op.traits);
      return;
    case 'aggregates':
      setAggregates(state, rp!, undefined, op.aggs);
      return;
    case 'allocate': {
      const allocations = { [rp!]: { [op.rc]: op.amount } };
      const consumerUuid = CONSUMERS[op.consumer]!;
      writeAllocations(state, [{ consumerUuid, projectId: 'p', userId: 'u', allocations }]);
      return;
    }
    case 'free':
      deleteAllocations(state, CONSUMERS[op.consumer]!);
  }
}

/** One provider of a start world: its parent is an earlier provider (`parent % index`) or none. */
const providerArb = fc.record({
  parent: fc.option(fc.nat(RPS.length - 1), { nil: undefined, freq: 2 }),
  inv: invsArb,
  traits: fc.subarray([...TRAITS]),
  aggs: fc.subarray(AGGS),
});
export type WorldProvider = typeof providerArb extends fc.Arbitrary<infer T> ? T : never;

/** A start world: up to 12 providers (rp0, rp1, … in order, nested any depth), then usages. */
export const worldArb = fc.tuple(
  fc.array(providerArb, { minLength: 1, maxLength: 12 }),
  fc.array(
    fc.record({
      op: fc.constant('allocate' as const),
      consumer: fc.nat(CONSUMERS.length - 1),
      rp: fc.nat(11),
      rc: fc.constantFrom(...CLASSES),
      amount: fc.integer({ min: 1, max: 4 }),
    }),
    { maxLength: 8 },
  ),
);

export type World = typeof worldArb extends fc.Arbitrary<infer T> ? T : never;

export function buildWorld(state: PlacementState, [providers, usages]: World): void {
  providers.forEach((p, k) => {
    const parentUuid = p.parent === undefined || k === 0 ? null : RPS[p.parent % k]!;
    createProvider(state, { uuid: RPS[k]!, name: `rp-${k}`, parentUuid });
    applyOp(state, { op: 'inventories', rp: k, inv: p.inv });
    applyOp(state, { op: 'traits', rp: k, traits: p.traits });
    applyOp(state, { op: 'aggregates', rp: k, aggs: p.aggs });
  });
  for (const op of usages) applyOp(state, op);
}

/** Absent three times in four: most groups carry one or two constraints, not all. */
const opt = <T>(a: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });
export const groupArb: fc.Arbitrary<RequestGroup> = fc
  .record({
    resources: fc.dictionary(fc.constantFrom(...CLASSES), fc.integer({ min: 1, max: 3 }), {
      minKeys: 1,
      maxKeys: 3,
    }),
    required: opt(fc.array(fc.subarray([...TRAITS], { minLength: 1, maxLength: 2 }), { maxLength: 2 })),
    forbidden: opt(fc.subarray([...TRAITS], { maxLength: 1 })),
    memberOf: opt(fc.array(fc.subarray(AGGS, { minLength: 1 }), { minLength: 1, maxLength: 2 })),
    forbiddenAggregates: opt(fc.subarray(AGGS, { minLength: 1, maxLength: 1 })),
    inTree: opt(fc.nat(RPS.length - 1).map((i) => RPS[i]!)),
  })
  .map(
    (g) =>
      Object.fromEntries(Object.entries(g).filter(([, v]) => v !== undefined)) as unknown as RequestGroup,
  );

/** Everything in `Candidates`, as arrays in result order (Maps compared entry order included). */
export function shape(c: Candidates) {
  return {
    requests: c.allocationRequests.map((r) => ({
      root: r.rootUuid,
      allocations: [...r.allocations].map(([rp, m]) => [rp, [...m]]),
      mappings: [...r.mappings],
    })),
    summaries: [...c.providerSummaries].map(([uuid, s]) => [uuid, { ...s, resources: [...s.resources] }]),
  };
}

export function rootsOf(c: Candidates): Uuid[] {
  return [...new Set(c.allocationRequests.map((r) => r.rootUuid))];
}

/** Both refused with the same message, or both answered with equal shapes. */
export function expectSame(got: Outcome<Candidates>, want: Outcome<Candidates>): void {
  expect(got.ok).toBe(want.ok);
  if (!got.ok && !want.ok) expect(got.error.message).toBe(want.error.message);
  if (got.ok && want.ok) expect(shape(got.value)).toEqual(shape(want.value));
}
