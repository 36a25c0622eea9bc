/**
 * Per-index reusable buffers for queries, so the passes allocate nothing: bitsets over slots,
 * and per requested class a giver list for one tree. Grown, never shrunk.
 * Queries are synchronous, so one set per index is enough.
 */
import type { Bitset } from './bitset.ts';

export class Scratch {
  words = 0;
  eligible: Bitset = new Uint32Array(0);
  /** Aggregate/trait masks built per query. */
  mask: Bitset = new Uint32Array(0);
  /** Roots that still have a candidate. */
  survivors: Bitset = new Uint32Array(0);
  /** Roots hit by the current pass. */
  hit: Bitset = new Uint32Array(0);
  /** Per class: the givers of the tree being enumerated, in tree order. */
  lists: Int32Array[] = [];
  counts = new Int32Array(0);
  idx = new Int32Array(0);
  combo = new Int32Array(0);

  /** Room for `words` words and `classes` classes; bitsets zeroed over the first `words` words. */
  prepare(words: number, classes: number): void {
    if (words > this.words || classes > this.lists.length)
      this.allocate(Math.max(words, this.words), classes);
    this.eligible.fill(0, 0, words);
    this.mask.fill(0, 0, words);
    this.survivors.fill(0, 0, words);
  }

  /** Room for a tree of `size` slots in each class list. */
  fitTree(size: number, classes: number): void {
    for (let c = 0; c < classes; c++) {
      if (this.lists[c]!.length < size)
        this.lists[c] = new Int32Array(Math.max(size, 2 * this.lists[c]!.length));
    }
  }

  private allocate(words: number, classes: number): void {
    const n = Math.max(classes, this.lists.length);
    this.words = words;
    this.eligible = new Uint32Array(words);
    this.mask = new Uint32Array(words);
    this.survivors = new Uint32Array(words);
    this.hit = new Uint32Array(words);
    while (this.lists.length < n) this.lists.push(new Int32Array(8));
    this.counts = new Int32Array(n);
    this.idx = new Int32Array(n);
    this.combo = new Int32Array(n);
  }
}
