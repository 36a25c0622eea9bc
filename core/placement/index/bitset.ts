/**
 * Bitsets over provider slots: a Uint32Array, bit `s` of word `s >>> 5`. The index keeps one per
 * trait, aggregate and resource class (which slots have it), so a query combines them a word
 * (32 providers) at a time: required = AND, forbidden = ANDNOT, any-of = OR.
 */

export type Bitset = Uint32Array;

export function wordsFor(slots: number): number {
  return (slots + 31) >>> 5;
}

export function setBit(b: Bitset, slot: number): void {
  b[slot >>> 5]! |= 1 << (slot & 31);
}

export function clearBit(b: Bitset, slot: number): void {
  b[slot >>> 5]! &= ~(1 << (slot & 31));
}

export function hasBit(b: Bitset, slot: number): boolean {
  return ((b[slot >>> 5]! >>> (slot & 31)) & 1) === 1;
}

/** A copy of `b` with room for `words` words (the extra words zero). */
export function grown(b: Bitset, words: number): Bitset {
  const out = new Uint32Array(words);
  out.set(b.length <= words ? b : b.subarray(0, words));
  return out;
}

/** `into = into | b` over the first `words` words. */
export function orInto(into: Bitset, b: Bitset, words: number): void {
  for (let i = 0; i < words; i++) into[i]! |= b[i]!;
}

/** `into = into & b`. */
export function andInto(into: Bitset, b: Bitset, words: number): void {
  for (let i = 0; i < words; i++) into[i]! &= b[i]!;
}

/** `into = into & ~b`. */
export function andNotInto(into: Bitset, b: Bitset, words: number): void {
  for (let i = 0; i < words; i++) into[i]! &= ~b[i]!;
}

/** True when no bit is set in the first `words` words. */
export function isEmpty(b: Bitset, words: number): boolean {
  for (let i = 0; i < words; i++) if (b[i] !== 0) return false;
  return true;
}
