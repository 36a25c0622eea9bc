import { describe, expect, it } from 'vitest';
import { hasCode } from '../../../core/errors.ts';
import { makeInventory } from '../../../core/model/inventory.ts';
import {
  createResourceClass,
  deleteResourceClass,
  deleteTrait,
  ensureResourceClass,
  ensureTrait,
  PlacementCodes,
  placementCodeOf,
  providerFree,
  providerUsages,
  putAllocations,
  setAggregates,
  setInventories,
  setTraits,
  unwrap,
} from '../../../core/placement/operations.ts';
import { makeConsumer, makeProvider, makeState, uuidFor } from '../../builders.ts';

const u = uuidFor;
const inv = makeInventory;

describe('setting inventories', () => {
  it('replaces all classes and bumps the generation once, even for an identical set', () => {
    const state = makeState(makeProvider('cn1'));
    const r = unwrap(
      setInventories(state, u('cn1'), 0, { VCPU: inv({ total: 8 }), MEMORY_MB: inv({ total: 4096 }) }),
    );
    expect(r.provider.generation).toBe(1);
    expect([...r.provider.inventories.keys()]).toEqual(['VCPU', 'MEMORY_MB']);
    unwrap(setInventories(state, u('cn1'), 1, { VCPU: inv({ total: 8 }), MEMORY_MB: inv({ total: 4096 }) }));
    unwrap(setInventories(state, u('cn1'), 2, { DISK_GB: inv({ total: 100 }) }));
    expect(state.provider(u('cn1'))?.generation).toBe(3);
    expect([...(state.provider(u('cn1'))?.inventories.keys() ?? [])]).toEqual(['DISK_GB']);
  });

  it('accepts a Map as well as a record', () => {
    const state = makeState(makeProvider('cn1'));
    unwrap(setInventories(state, u('cn1'), 0, new Map([['VGPU', inv({ total: 4 })]])));
    expect(state.provider(u('cn1'))?.inventories.get('VGPU')?.total).toBe(4);
  });

  it.each([
    ['a stale generation', 7, { VCPU: inv({ total: 8 }) }, 'conflict', PlacementCodes.concurrentUpdate],
    ['an unknown class', 0, { CUSTOM_NOPE: inv({ total: 8 }) }, 'invalid', PlacementCodes.undefined],
    ['reserved > total', 0, { VCPU: inv({ total: 8, reserved: 9 }) }, 'invalid', PlacementCodes.undefined],
  ] as const)('refuses %s and changes nothing', (_what, generation, inventories, code, placementCode) => {
    const state = makeState(makeProvider('cn1'));
    const out = setInventories(state, u('cn1'), generation, inventories);
    expect(!out.ok && hasCode(out.error, code)).toBe(true);
    expect(!out.ok && placementCodeOf(out.error)).toBe(placementCode);
    expect(state.provider(u('cn1'))).toMatchObject({ generation: 0 });
    expect(state.provider(u('cn1'))?.inventories.size).toBe(0);
  });

  it('marks a stale generation as retryable, a validation error as not', () => {
    const state = makeState(makeProvider('cn1'));
    const stale = setInventories(state, u('cn1'), 3, {});
    const bad = setInventories(state, u('cn1'), 0, { VCPU: inv({ total: 0 }) });
    expect(!stale.ok && stale.error.retryable).toBe(true);
    expect(!bad.ok && bad.error.retryable).toBe(false);
  });

  it('is 404 for an unknown provider', () => {
    const out = setInventories(makeState(), u('x'), 0, {});
    expect(!out.ok && out.error.code).toBe('notFound');
  });

  it('skips the generation check when none is given (DELETE /inventories, POST one class)', () => {
    const state = makeState(makeProvider('cn1').inventory('VCPU', 8));
    unwrap(setInventories(state, u('cn1'), undefined, {}));
    expect(state.provider(u('cn1'))?.generation).toBe(2);
  });

  it('refuses to remove a class that has allocations: placement.inventory.inuse', () => {
    const state = makeState(makeProvider('cn1').inventory('VCPU', 8).inventory('MEMORY_MB', 1024));
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 2 }).write(null)));
    const gen = state.provider(u('cn1'))!.generation;
    const out = setInventories(state, u('cn1'), gen, { MEMORY_MB: inv({ total: 1024 }) });
    expect(!out.ok && placementCodeOf(out.error)).toBe(PlacementCodes.inventoryInUse);
    expect(!out.ok && out.error.code).toBe('conflict');
    expect(!out.ok && out.error.details?.resourceClasses).toEqual(['VCPU']);
    // removing the class without allocations is fine
    unwrap(setInventories(state, u('cn1'), gen, { VCPU: inv({ total: 8 }) }));
  });

  it('accepts shrinking below usage, as Placement does, and reports the class over capacity', () => {
    // capacity (8 - 0) * 1 = 8, used 6; then reserved 8 → capacity 0 < 6
    const state = makeState(makeProvider('cn1').inventory('VCPU', 8));
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 6 }).write(null)));
    const gen = state.provider(u('cn1'))!.generation;
    const r = unwrap(setInventories(state, u('cn1'), gen, { VCPU: inv({ total: 8, reserved: 8 }) }));
    expect(r.overCapacity).toEqual(['VCPU']);
    expect(providerFree(r.provider)).toEqual({ VCPU: -6 });
    expect(providerUsages(r.provider)).toEqual({ VCPU: 6 });
  });
});

describe('traits and aggregates on a provider', () => {
  it('replaces traits with generation checks; custom traits must be created first', () => {
    const state = makeState(makeProvider('cn1'));
    unwrap(setTraits(state, u('cn1'), 0, ['HW_CPU_X86_AVX2', 'COMPUTE_STATUS_DISABLED']));
    expect(state.provider(u('cn1'))?.generation).toBe(1);
    const missing = setTraits(state, u('cn1'), 1, ['CUSTOM_RACK_A', 'HW_CPU_X86_AVX2']);
    expect(!missing.ok && missing.error.message).toBe('No such trait(s): CUSTOM_RACK_A');
    expect(unwrap(ensureTrait(state, 'CUSTOM_RACK_A'))).toEqual({ created: true });
    unwrap(setTraits(state, u('cn1'), 1, ['CUSTOM_RACK_A']));
    expect([...(state.provider(u('cn1'))?.traits ?? [])]).toEqual(['CUSTOM_RACK_A']);
    const stale = setTraits(state, u('cn1'), 1, []);
    expect(!stale.ok && placementCodeOf(stale.error)).toBe(PlacementCodes.concurrentUpdate);
  });

  it('replaces aggregates and bumps the generation', () => {
    const state = makeState(makeProvider('cn1'));
    unwrap(setAggregates(state, u('cn1'), 0, [u('agg1'), u('agg2')]));
    unwrap(setAggregates(state, u('cn1'), undefined, [u('agg2')])); // before 1.19: no generation
    expect(state.provider(u('cn1'))).toMatchObject({ generation: 2 });
    expect([...(state.provider(u('cn1'))?.aggregates ?? [])]).toEqual([u('agg2')]);
    const stale = setAggregates(state, u('cn1'), 0, []);
    expect(!stale.ok && placementCodeOf(stale.error)).toBe(PlacementCodes.concurrentUpdate);
  });
});

describe('custom resource classes and traits', () => {
  it('creates, refuses duplicates and non-CUSTOM names, ensures idempotently', () => {
    const state = makeState();
    unwrap(createResourceClass(state, 'CUSTOM_GOLD'));
    expect(state.hasResourceClass('CUSTOM_GOLD')).toBe(true);
    expect(state.resourceClasses().slice(-1)).toEqual(['CUSTOM_GOLD']);
    const dup = createResourceClass(state, 'CUSTOM_GOLD');
    expect(!dup.ok && dup.error.code).toBe('conflict');
    expect(createResourceClass(state, 'GOLD').ok).toBe(false);
    expect(createResourceClass(state, 'VCPU').ok).toBe(false);
    expect(unwrap(ensureResourceClass(state, 'CUSTOM_GOLD'))).toEqual({ created: false });
    expect(unwrap(ensureResourceClass(state, 'CUSTOM_SILVER'))).toEqual({ created: true });
  });

  it.each([
    ['a standard class', 'VCPU', 'invalid'],
    ['an unknown class', 'CUSTOM_NOPE', 'notFound'],
    ['a class in some inventory', 'CUSTOM_GOLD', 'conflict'],
  ] as const)('refuses to delete %s', (_what, name, code) => {
    const state = makeState(makeProvider('cn1').inventory('CUSTOM_GOLD', 1));
    const out = deleteResourceClass(state, name);
    expect(!out.ok && out.error.code).toBe(code);
  });

  it('deletes an unused custom class', () => {
    const state = makeState();
    unwrap(createResourceClass(state, 'CUSTOM_GOLD'));
    unwrap(deleteResourceClass(state, 'CUSTOM_GOLD'));
    expect(state.hasResourceClass('CUSTOM_GOLD')).toBe(false);
  });

  it.each([
    ['a standard trait', 'HW_CPU_X86_AVX2', 'invalid'],
    ['an unknown trait', 'CUSTOM_NOPE', 'notFound'],
    ['a trait on some provider', 'CUSTOM_RACK_A', 'conflict'],
  ] as const)('refuses to delete %s', (_what, name, code) => {
    const state = makeState(makeProvider('cn1').trait('CUSTOM_RACK_A'));
    const out = deleteTrait(state, name);
    expect(!out.ok && out.error.code).toBe(code);
  });

  it('refuses to PUT a standard trait name (only CUSTOM_ names can be created)', () => {
    const out = ensureTrait(makeState(), 'HW_CPU_X86_AVX2');
    expect(!out.ok && out.error.message).toMatch(/start with the prefix "CUSTOM_"/);
  });

  it('deletes an unused custom trait', () => {
    const state = makeState();
    unwrap(ensureTrait(state, 'CUSTOM_X'));
    expect(state.traitNames()).toContain('CUSTOM_X');
    unwrap(deleteTrait(state, 'CUSTOM_X'));
    expect(state.hasTrait('CUSTOM_X')).toBe(false);
  });
});
