/**
 * The index's candidates as slots, with no object per candidate: per candidate its tree's root
 * slot and, per requested class, the slot giving it. What enumerate.ts fills; `toCandidates`
 * (output.ts) turns it into the reference's `Candidates`, and the Placement API writes its JSON
 * straight from it (api/placement/candidates-slots-text.ts), so a 1,000-candidate answer does
 * not build 1,000 AllocationRequests with their Maps only to print them.
 *
 * Order: candidates in the reference's order; the enumeration visits each surviving root once,
 * in ascending slot order, so a tree's candidates are contiguous and `rootOf(k)` never decreases.
 * Valid until the next write to the state (slots and uuids are the index's).
 */
import type { CandidateIndex } from './candidate-index.ts';

/** Candidates buffered before the first doubling when the query has no limit. */
const INITIAL_CANDIDATES = 64;

export class CandidateSlots {
  /** Candidates found. */
  count = 0;
  private roots: Int32Array;
  private combos: Int32Array;

  constructor(
    readonly index: CandidateIndex,
    /** The requested classes, in the request's order; `amounts[c]` of `classes[c]`. */
    readonly classes: readonly string[],
    readonly amounts: readonly number[],
    /** Candidates expected at most (the limit), to size the buffers once. */
    expected: number,
  ) {
    const room = Number.isFinite(expected) ? Math.max(1, expected) : INITIAL_CANDIDATES;
    this.roots = new Int32Array(room);
    this.combos = new Int32Array(room * classes.length);
  }

  /** Root slot of candidate `k`'s tree. */
  rootOf(k: number): number {
    return this.roots[k]!;
  }

  /** The slot giving `classes[c]` in candidate `k`. */
  giver(k: number, c: number): number {
    return this.combos[k * this.classes.length + c]!;
  }

  /** Appends a candidate: `combo[c]` gives `classes[c]`. */
  push(root: number, combo: Int32Array): void {
    const n = this.classes.length;
    if (this.count === this.roots.length) this.grow(this.roots.length * 2);
    this.roots[this.count] = root;
    const base = this.count * n;
    for (let c = 0; c < n; c++) this.combos[base + c] = combo[c]!;
    this.count++;
  }

  private grow(room: number): void {
    const roots = new Int32Array(room);
    roots.set(this.roots);
    this.roots = roots;
    const combos = new Int32Array(room * this.classes.length);
    combos.set(this.combos);
    this.combos = combos;
  }
}
