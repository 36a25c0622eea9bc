/**
 * One resource class's columns over provider slots: which slots have inventory of it (a bitset)
 * and, per slot, capacity = int((total - reserved) * allocation_ratio) (Float64: the product can
 * pass 2^31), used (Float64, so `used + amount <= capacity` is the same double arithmetic as
 * core/model/inventory.ts), min_unit, max_unit, step_size (Int32: Placement stores them as
 * signed 32-bit integers). A slot without inventory has its `present` bit clear; its other
 * cells are left stale and never read.
 */
import { capacity, type Inventory } from '../../model/inventory.ts';
import { type Bitset, clearBit, grown, setBit, wordsFor } from './bitset.ts';

export class ClassColumn {
  present: Bitset;
  capacity: Float64Array;
  used: Float64Array;
  minUnit: Int32Array;
  maxUnit: Int32Array;
  stepSize: Int32Array;

  constructor(slots: number) {
    this.present = new Uint32Array(wordsFor(slots));
    this.capacity = new Float64Array(slots);
    this.used = new Float64Array(slots);
    this.minUnit = new Int32Array(slots);
    this.maxUnit = new Int32Array(slots);
    this.stepSize = new Int32Array(slots);
  }

  /** Makes room for `slots` slots, keeping the cells. */
  grow(slots: number): void {
    this.present = grown(this.present, wordsFor(slots));
    this.capacity = grownF64(this.capacity, slots);
    this.used = grownF64(this.used, slots);
    this.minUnit = grownI32(this.minUnit, slots);
    this.maxUnit = grownI32(this.maxUnit, slots);
    this.stepSize = grownI32(this.stepSize, slots);
  }

  set(slot: number, inv: Inventory, used: number): void {
    setBit(this.present, slot);
    this.capacity[slot] = capacity(inv);
    this.used[slot] = used;
    this.minUnit[slot] = inv.minUnit;
    this.maxUnit[slot] = inv.maxUnit;
    this.stepSize[slot] = inv.stepSize;
  }

  clear(slot: number): void {
    clearBit(this.present, slot);
  }

  /** The reference's rule for one slot that has inventory: units, then capacity. */
  canGive(slot: number, amount: number): boolean {
    return (
      amount >= this.minUnit[slot]! &&
      amount <= this.maxUnit[slot]! &&
      amount % this.stepSize[slot]! === 0 &&
      this.used[slot]! + amount <= this.capacity[slot]!
    );
  }
}

function grownF64(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  out.set(a);
  return out;
}

function grownI32(a: Int32Array, n: number): Int32Array {
  const out = new Int32Array(n);
  out.set(a);
  return out;
}
