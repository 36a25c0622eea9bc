/**
 * One inventory record (a provider's amount of one resource class) and its arithmetic, exactly
 * as Placement does it:
 *
 * - capacity = int((total - reserved) * allocation_ratio): a double multiplication truncated
 *   toward zero, so 100 units at ratio 0.29 give 28, not 29 — the same answer Placement gives.
 * - an allocation of `amount` fits when used + amount <= capacity, and respects
 *   min_unit <= amount <= max_unit and amount % step_size == 0 (each allocation on its own).
 * - bounds from Placement's JSON schema: total 1..MAX_INT, reserved 0..MAX_INT, min_unit,
 *   max_unit and step_size 1..MAX_INT, allocation_ratio a number <= SQL_SP_FLOAT_MAX (no lower
 *   bound in the schema: a negative capacity is caught by the capacity rule).
 * - capacity must be >= 0 from microversion 1.26 (reserved may equal total, which takes the
 *   provider out of scheduling) and > 0 before.
 */

/** Largest integer Placement stores (a signed 32-bit column). */
export const MAX_INT = 2_147_483_647;
/** Largest allocation_ratio Placement stores (a single-precision float column). */
export const SQL_SP_FLOAT_MAX = 3.40282e38;

export interface Inventory {
  readonly total: number;
  readonly reserved: number;
  readonly minUnit: number;
  readonly maxUnit: number;
  readonly stepSize: number;
  readonly allocationRatio: number;
}

/** What a caller may leave out; Placement's INVENTORY_DEFAULTS. */
export type InventoryInput = Pick<Inventory, 'total'> & Partial<Omit<Inventory, 'total'>>;

export const INVENTORY_DEFAULTS = Object.freeze({
  reserved: 0,
  minUnit: 1,
  maxUnit: MAX_INT,
  stepSize: 1,
  allocationRatio: 1.0,
});

export function makeInventory(input: InventoryInput): Inventory {
  return Object.freeze({ ...INVENTORY_DEFAULTS, ...stripUndefined(input) });
}

function stripUndefined(input: InventoryInput): InventoryInput {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) out[k] = v;
  return out as unknown as InventoryInput;
}

/** int((total - reserved) * allocation_ratio), truncated toward zero like Python's int(). */
export function capacity(inv: Inventory): number {
  return Math.trunc((inv.total - inv.reserved) * inv.allocationRatio);
}

export interface InventoryRules {
  /** Microversion >= 1.26: capacity 0 (reserved == total) is allowed. Default true. */
  readonly reservedCanBeTotal?: boolean;
}

const INT_FIELDS: ReadonlyArray<[keyof Inventory, number]> = [
  ['total', 1],
  ['reserved', 0],
  ['minUnit', 1],
  ['maxUnit', 1],
  ['stepSize', 1],
];

/** Why `inv` is not a valid inventory, or undefined when it is. */
export function inventoryProblem(inv: Inventory, rules: InventoryRules = {}): string | undefined {
  for (const [field, min] of INT_FIELDS) {
    const v = inv[field];
    if (!Number.isInteger(v) || v < min || v > MAX_INT) {
      return `${field} must be an integer in ${min}..${MAX_INT}, got ${v}`;
    }
  }
  const r = inv.allocationRatio;
  if (typeof r !== 'number' || !Number.isFinite(r) || r > SQL_SP_FLOAT_MAX) {
    return `allocationRatio must be a finite number <= ${SQL_SP_FLOAT_MAX}, got ${r}`;
  }
  const cap = capacity(inv);
  if ((rules.reservedCanBeTotal ?? true) ? cap < 0 : cap <= 0) {
    return (rules.reservedCanBeTotal ?? true)
      ? 'the reserved value is greater than total'
      : 'the reserved value is greater than or equal to total';
  }
  return undefined;
}

export type UnitViolation = 'min_unit' | 'max_unit' | 'step_size';

/** Which of min_unit, max_unit, step_size one allocation of `amount` breaks, if any. */
export function unitViolation(inv: Inventory, amount: number): UnitViolation | undefined {
  if (amount < inv.minUnit) return 'min_unit';
  if (amount > inv.maxUnit) return 'max_unit';
  if (amount % inv.stepSize !== 0) return 'step_size';
  return undefined;
}

/** True when `amount` more fits on top of `used`. */
export function fits(inv: Inventory, used: number, amount: number): boolean {
  return used + amount <= capacity(inv);
}

/** Capacity left after `used` (negative when an inventory was shrunk below its usage). */
export function free(inv: Inventory, used: number): number {
  return capacity(inv) - used;
}

export function sameInventory(a: Inventory, b: Inventory): boolean {
  return (
    a.total === b.total &&
    a.reserved === b.reserved &&
    a.minUnit === b.minUnit &&
    a.maxUnit === b.maxUnit &&
    a.stepSize === b.stepSize &&
    a.allocationRatio === b.allocationRatio
  );
}
