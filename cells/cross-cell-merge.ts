/**
 * K-way merge of already-sorted lists (one per cell) with a small binary heap holding the
 * head of each list: O(limit · log k) for k cells, however long the lists are.
 */

interface Head {
  readonly list: number;
  pos: number;
}

/**
 * The first `limit` items of the merged order of `lists`, each of which must already be
 * sorted by `compare`. Items with the same `id` are kept once (the first one met), so an
 * instance reported by two cells (mid-move) is not listed twice.
 */
export function mergeSorted<T>(
  lists: readonly (readonly T[])[],
  compare: (a: T, b: T) => number,
  limit: number,
  id: (item: T) => string,
): T[] {
  const heap: Head[] = [];
  const at = (h: Head) => lists[h.list]?.[h.pos] as T;
  const before = (a: Head, b: Head) => {
    const c = compare(at(a), at(b));
    return c < 0 || (c === 0 && a.list < b.list);
  };
  for (let i = 0; i < lists.length; i++) {
    if ((lists[i]?.length ?? 0) > 0) push(heap, { list: i, pos: 0 }, before);
  }
  const out: T[] = [];
  const seen = new Set<string>();
  while (out.length < limit && heap.length > 0) {
    const top = heap[0] as Head;
    const item = at(top);
    if (!seen.has(id(item))) {
      seen.add(id(item));
      out.push(item);
    }
    top.pos++;
    if (top.pos < (lists[top.list]?.length ?? 0)) siftDown(heap, 0, before);
    else popTop(heap, before);
  }
  return out;
}

/** True when `list` is sorted strictly by `compare` (each item after the one before it). */
export function isStrictlySorted<T>(list: readonly T[], compare: (a: T, b: T) => number): boolean {
  for (let i = 1; i < list.length; i++) {
    if (compare(list[i - 1] as T, list[i] as T) >= 0) return false;
  }
  return true;
}

function push(heap: Head[], h: Head, before: (a: Head, b: Head) => boolean): void {
  heap.push(h);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i] as Head, heap[parent] as Head)) break;
    swap(heap, i, parent);
    i = parent;
  }
}

function popTop(heap: Head[], before: (a: Head, b: Head) => boolean): void {
  const last = heap.pop() as Head;
  if (heap.length === 0) return;
  heap[0] = last;
  siftDown(heap, 0, before);
}

function siftDown(heap: Head[], start: number, before: (a: Head, b: Head) => boolean): void {
  let i = start;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && before(heap[l] as Head, heap[m] as Head)) m = l;
    if (r < heap.length && before(heap[r] as Head, heap[m] as Head)) m = r;
    if (m === i) return;
    swap(heap, i, m);
    i = m;
  }
}

function swap(heap: Head[], i: number, j: number): void {
  const t = heap[i] as Head;
  heap[i] = heap[j] as Head;
  heap[j] = t;
}
