/**
 * The order hosts are evaluated in: a seeded shuffle (Nomad's: concurrent schedulers that start
 * from different points collide less on the same hosts, and a request replays exactly from its
 * id), drawn lazily — with a limit of ~log2(n) feasible hosts only the first few positions are ever
 * drawn, so a 10,000-host shard costs one array copy plus a handful of random draws.
 */

import type { Rng } from '../rng.ts';

export interface HostOrder {
  /** The next host, or -1 when every candidate has been drawn. */
  next(): number;
  readonly size: number;
}

/**
 * Lazy Fisher–Yates over `candidates`, with the `preferred` ones (those among the candidates)
 * drawn first, themselves in shuffled order.
 */
export function shuffledOrder(candidates: Int32Array, preferred: readonly number[], rng: Rng): HostOrder {
  const a = candidates;
  let front = 0;
  if (preferred.length > 0) {
    const pos = new Map<number, number>();
    for (let i = 0; i < a.length; i++) pos.set(a[i]!, i);
    for (const h of preferred) {
      const i = pos.get(h);
      if (i === undefined || i < front) continue;
      const other = a[front]!;
      a[i] = other;
      a[front] = h;
      pos.set(other, i);
      pos.set(h, front);
      front++;
    }
  }
  let i = 0;
  return {
    size: a.length,
    next() {
      if (i >= a.length) return -1;
      // Draw position i from its own region: [0, front) for preferred hosts, [front, n) for the rest.
      const end = i < front ? front : a.length;
      const j = i + rng.int(end - i);
      const h = a[j]!;
      a[j] = a[i]!;
      a[i] = h;
      i++;
      return h;
    },
  };
}
