import { describe, expect, it } from 'vitest';
import { hasCode } from '../../../core/errors.ts';
import { isExternalId, isUuid, parseUuid, tryParseUuid } from '../../../core/model/ids.ts';
import {
  capacity,
  fits,
  INVENTORY_DEFAULTS,
  inventoryProblem,
  MAX_INT,
  makeInventory,
  unitViolation,
} from '../../../core/model/inventory.ts';
import {
  isCustomResourceClassName,
  isResourceClassName,
  isStandardResourceClass,
  STANDARD_RESOURCE_CLASSES,
} from '../../../core/model/resource-classes.ts';
import {
  isCustomTraitName,
  isStandardTrait,
  STANDARD_TRAIT_NAMES,
  Traits,
} from '../../../core/model/traits.ts';

describe('uuids', () => {
  it.each([
    ['c0ffee00-1234-4abc-8def-0123456789ab', 'c0ffee00-1234-4abc-8def-0123456789ab'],
    ['C0FFEE00-1234-4ABC-8DEF-0123456789AB', 'c0ffee00-1234-4abc-8def-0123456789ab'],
    ['c0ffee0012344abc8def0123456789ab', 'c0ffee00-1234-4abc-8def-0123456789ab'],
  ])('normalises %s to the canonical lowercase dashed form', (input, canonical) => {
    expect(tryParseUuid(input)).toBe(canonical);
    expect(isUuid(parseUuid(input))).toBe(true);
  });

  it.each([
    '',
    'not-a-uuid',
    'c0ffee00-1234-4abc-8def-0123456789a',
    'g0ffee00-1234-4abc-8def-0123456789ab',
    42,
    null,
  ])('refuses %s', (input) => {
    expect(tryParseUuid(input)).toBeUndefined();
    expect(() => parseUuid(input, 'body.uuid')).toThrow(/body\.uuid must be a UUID/);
    try {
      parseUuid(input);
    } catch (e) {
      expect(hasCode(e, 'invalid')).toBe(true);
    }
  });

  it('accepts project and user ids of 1..255 characters', () => {
    expect(isExternalId('p')).toBe(true);
    expect(isExternalId('p'.repeat(255))).toBe(true);
    expect(isExternalId('')).toBe(false);
    expect(isExternalId('p'.repeat(256))).toBe(false);
  });
});

describe('resource classes and traits', () => {
  it('knows the 21 standard classes of os-resource-classes 1.1.0, VCPU first', () => {
    expect(STANDARD_RESOURCE_CLASSES).toHaveLength(21);
    expect(STANDARD_RESOURCE_CLASSES[0]).toBe('VCPU');
    for (const rc of ['MEMORY_MB', 'DISK_GB', 'VGPU', 'PCPU', 'FPGA', 'PGPU', 'MEM_ENCRYPTION_CONTEXT']) {
      expect(isStandardResourceClass(rc)).toBe(true);
    }
    expect(isStandardResourceClass('CUSTOM_GOLD')).toBe(false);
  });

  it.each([
    ['CUSTOM_GOLD', true, true],
    ['CUSTOM_A_1', true, true],
    ['CUSTOM_', false, true],
    ['CUSTOM_gold', false, false],
    ['VCPU', false, true],
    ['custom_gold', false, false],
    [`CUSTOM_${'X'.repeat(248)}`, true, true], // 7 + 248 = 255 characters: the longest allowed
    [`CUSTOM_${'X'.repeat(249)}`, false, false], // 7 + 249 = 256 characters: one too many
  ])('%s: custom name %s, class name %s', (name, custom, className) => {
    expect(isCustomResourceClassName(name)).toBe(custom);
    expect(isResourceClassName(name)).toBe(className);
  });

  it('knows the 345 os-traits 2.9.0 names, including the ones the control plane uses', () => {
    expect(STANDARD_TRAIT_NAMES).toHaveLength(345);
    expect(new Set(STANDARD_TRAIT_NAMES).size).toBe(345);
    for (const t of Object.values(Traits)) expect(isStandardTrait(t)).toBe(true);
    expect(isStandardTrait('HW_CPU_X86_SSE42')).toBe(true);
    expect(isStandardTrait('CUSTOM_FOO')).toBe(false);
    expect(isCustomTraitName('CUSTOM_FOO')).toBe(true);
    expect(isCustomTraitName('HW_CPU_X86_AVX2')).toBe(false);
  });
});

describe('inventory arithmetic', () => {
  it('fills in Placement defaults', () => {
    expect(makeInventory({ total: 8 })).toEqual({ total: 8, ...INVENTORY_DEFAULTS });
    expect(INVENTORY_DEFAULTS.maxUnit).toBe(MAX_INT);
  });

  // capacity = int((total - reserved) * allocation_ratio)
  it.each([
    [16, 0, 4, 64], // 16 * 4
    [16, 2, 4, 56], // (16 - 2) * 4
    [1024, 512, 1.5, 768], // 512 * 1.5
    [10, 0, 1.1, 11], // 11.000000000000002 truncated
    [100, 0, 0.29, 28], // 28.999999999999996 truncated, as Placement's int() does
    [8, 8, 16, 0], // reserved == total: out of scheduling
    [3, 0, 0.5, 1], // 1.5 truncated
  ])('total %d, reserved %d, ratio %d → capacity %d', (total, reserved, allocationRatio, expected) => {
    expect(capacity(makeInventory({ total, reserved, allocationRatio }))).toBe(expected);
  });

  // an allocation fits when used + amount <= capacity
  it.each([
    [64, 60, 4, true], // 60 + 4 = 64
    [64, 60, 5, false], // 60 + 5 = 65
    [0, 0, 1, false],
  ])('capacity %d, used %d, amount %d → fits %s', (cap, used, amount, expected) => {
    expect(fits(makeInventory({ total: cap }), used, amount)).toBe(expected);
  });

  // min_unit <= amount <= max_unit and amount % step_size == 0
  it.each([
    [{ minUnit: 2 }, 1, 'min_unit'],
    [{ minUnit: 2 }, 2, undefined],
    [{ maxUnit: 4 }, 5, 'max_unit'],
    [{ stepSize: 512 }, 1024, undefined],
    [{ stepSize: 512 }, 1000, 'step_size'],
    [{ minUnit: 2, stepSize: 3 }, 3, undefined],
  ])('%o, amount %d → %s', (opts, amount, expected) => {
    expect(unitViolation(makeInventory({ total: 4096, ...opts }), amount)).toBe(expected);
  });

  it.each([
    [{ total: 0 }, /total must be an integer in 1\.\./],
    [{ total: 1.5 }, /total must be an integer/],
    [{ total: MAX_INT + 1 }, /total/],
    [{ total: 4, reserved: -1 }, /reserved/],
    [{ total: 4, stepSize: 0 }, /stepSize/],
    [{ total: 4, allocationRatio: Number.NaN }, /allocationRatio/],
    [{ total: 4, allocationRatio: 1e39 }, /allocationRatio/],
    [{ total: 4, reserved: 5 }, /reserved value is greater than total/],
    [{ total: 4, allocationRatio: -1 }, /reserved value is greater than total/],
  ])('%o is invalid', (input, message) => {
    expect(inventoryProblem(makeInventory(input))).toMatch(message);
  });

  it('allows reserved == total from microversion 1.26, not before', () => {
    const inv = makeInventory({ total: 4, reserved: 4 });
    expect(inventoryProblem(inv)).toBeUndefined();
    expect(inventoryProblem(inv, { reservedCanBeTotal: false })).toMatch(/greater than or equal to total/);
    expect(
      inventoryProblem(makeInventory({ total: 4, reserved: 3 }), { reservedCanBeTotal: false }),
    ).toBeUndefined();
  });
});
