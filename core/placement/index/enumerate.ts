/**
 * Step 4 of the query: for each surviving root in slot order, the tree's givers per class (in
 * subtree order: eligible slots whose inventory can give the amount) and their combinations —
 * first class varying slowest, as in the reference — keeping those whose providers together meet
 * every `required` any-of set, up to `stopAt`. A tree without a giver for some class is skipped.
 * Like the reference, at most MAX_COMBINATIONS_PER_TREE combinations are visited per tree (kept
 * or not). The loops use the scratch buffers; kept candidates go into `out` as slots (slots.ts),
 * so nothing is allocated per candidate.
 */
import { MAX_COMBINATIONS_PER_TREE } from '../candidates.ts';
import { type Bitset, hasBit } from './bitset.ts';
import type { CandidateIndex } from './candidate-index.ts';
import type { ClassColumn } from './columns.ts';
import type { Scratch } from './scratch.ts';
import type { CandidateSlots } from './slots.ts';

export interface EnumerationPlan {
  /** Per requested class, its column and amount. */
  readonly columns: readonly ClassColumn[];
  readonly amounts: readonly number[];
  /** Per `required` any-of set, its traits' bitsets. */
  readonly required: readonly (readonly Bitset[])[];
  readonly words: number;
  readonly stopAt: number;
}

export function enumerate(ix: CandidateIndex, sc: Scratch, plan: EnumerationPlan, out: CandidateSlots): void {
  if (out.count >= plan.stopAt) return;
  for (let i = 0; i < plan.words; i++) {
    let w = sc.survivors[i]!;
    while (w !== 0) {
      const low = w & -w;
      w ^= low;
      if (!enumerateTree(ix, sc, plan, (i << 5) | (31 - Math.clz32(low)), out)) return;
    }
  }
}

/** Adds one tree's candidates; false once `stopAt` is reached. */
function enumerateTree(
  ix: CandidateIndex,
  sc: Scratch,
  plan: EnumerationPlan,
  root: number,
  out: CandidateSlots,
): boolean {
  const n = plan.columns.length;
  const tree = ix.treeOf(root);
  if (tree.length === 1) return enumerateAlone(sc, plan, root, out);
  sc.fitTree(tree.length, n);
  const eligible = sc.eligible;
  for (let c = 0; c < n; c++) {
    const col = plan.columns[c]!;
    const amount = plan.amounts[c]!;
    const list = sc.lists[c]!;
    let k = 0;
    for (let m = 0; m < tree.length; m++) {
      const slot = tree[m]!;
      if (hasBit(eligible, slot) && hasBit(col.present, slot) && col.canGive(slot, amount)) list[k++] = slot;
    }
    if (k === 0) return true;
    sc.counts[c] = k;
    sc.idx[c] = 0;
  }
  for (let visited = 1; ; visited++) {
    for (let c = 0; c < n; c++) sc.combo[c] = sc.lists[c]![sc.idx[c]!]!;
    if (traitsMet(sc.combo, n, plan.required)) {
      out.push(root, sc.combo);
      if (out.count >= plan.stopAt) return false;
    }
    let c = n - 1;
    while (c >= 0 && ++sc.idx[c]! === sc.counts[c]!) sc.idx[c--] = 0;
    if (c < 0 || visited === MAX_COMBINATIONS_PER_TREE) return true;
  }
}

/**
 * A tree of one provider (a flat compute node): its one combination, if it gives every class
 * and meets the traits; what enumerateTree would find, without the per-class giver lists.
 */
function enumerateAlone(sc: Scratch, plan: EnumerationPlan, slot: number, out: CandidateSlots): boolean {
  if (!hasBit(sc.eligible, slot)) return true;
  const n = plan.columns.length;
  for (let c = 0; c < n; c++) {
    const col = plan.columns[c]!;
    if (!hasBit(col.present, slot) || !col.canGive(slot, plan.amounts[c]!)) return true;
    sc.combo[c] = slot;
  }
  if (!traitsMet(sc.combo, n, plan.required)) return true;
  out.push(slot, sc.combo);
  return out.count < plan.stopAt;
}

/** Every any-of set has a trait held by one of the combination's providers. */
function traitsMet(combo: Int32Array, n: number, required: readonly (readonly Bitset[])[]): boolean {
  for (let r = 0; r < required.length; r++) {
    const anyOf = required[r]!;
    let met = false;
    for (let t = 0; t < anyOf.length && !met; t++) {
      for (let c = 0; c < n && !met; c++) met = hasBit(anyOf[t]!, combo[c]!);
    }
    if (!met) return false;
  }
  return true;
}
