/**
 * Slot filters of the query's first steps, over the scratch bitsets: aggregate rules applied to
 * a slot or its root, and mapping a bitset of slots to the bitset of their roots.
 */
import type { Uuid } from '../../model/ids.ts';
import type { RequestGroup } from '../candidates.ts';
import { andInto, type Bitset, hasBit, orInto, setBit } from './bitset.ts';
import type { CandidateIndex } from './candidate-index.ts';
import type { Scratch } from './scratch.ts';

/** Sets in `into` the roots of the live slots set in `b`. */
export function rootsOfInto(ix: CandidateIndex, b: Bitset | undefined, into: Bitset, words: number): void {
  if (!b) return;
  for (let i = 0; i < words; i++) {
    let w = b[i]! & ix.alive[i]!;
    while (w !== 0) {
      const low = w & -w;
      w ^= low;
      setBit(into, ix.rootOf[(i << 5) | (31 - Math.clz32(low))]!);
    }
  }
}

/** mask = slots in one aggregate of every any-of set; keep eligible slots whose self or root is. */
export function applyMemberOf(
  ix: CandidateIndex,
  sc: Scratch,
  memberOf: RequestGroup['memberOf'] & {},
  words: number,
): void {
  sc.mask.set(ix.alive.subarray(0, words));
  for (const anyOf of memberOf) {
    sc.hit.fill(0, 0, words);
    for (const a of anyOf) {
      const b = ix.aggregateBits.get(a);
      if (b) orInto(sc.hit, b, words);
    }
    andInto(sc.mask, sc.hit, words);
  }
  keepBy(ix, sc, words, true);
}

/** mask = slots in any forbidden aggregate; drop eligible slots whose self or root is. */
export function applyForbiddenAggregates(
  ix: CandidateIndex,
  sc: Scratch,
  aggs: readonly Uuid[],
  words: number,
): void {
  sc.mask.fill(0, 0, words);
  for (const a of aggs) {
    const b = ix.aggregateBits.get(a);
    if (b) orInto(sc.mask, b, words);
  }
  keepBy(ix, sc, words, false);
  sc.mask.fill(0, 0, words);
}

/** Keeps eligible slots for which (mask has the slot or its root) === `wanted`. */
function keepBy(ix: CandidateIndex, sc: Scratch, words: number, wanted: boolean): void {
  for (let i = 0; i < words; i++) {
    let w = sc.eligible[i]!;
    while (w !== 0) {
      const low = w & -w;
      w ^= low;
      const slot = (i << 5) | (31 - Math.clz32(low));
      const inMask = hasBit(sc.mask, slot) || hasBit(sc.mask, ix.rootOf[slot]!);
      if (inMask !== wanted) sc.eligible[i]! &= ~low;
    }
  }
}
