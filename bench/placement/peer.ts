/**
 * The real Placement as the suite's peer, on both of the databases it runs on here: sqlite (its
 * fastest setup where it answers at all) and MariaDB (production's kind of database, and the only
 * one that answers at 150,000 providers). Ratios are taken against the faster of the two, so
 * neither backend's slowness flatters cellplane.
 */
import type { Latency } from './latency.ts';

export const PEER_DBS = ['sqlite', 'mysql'] as const;
export type Db = (typeof PEER_DBS)[number];
export const DB_LABEL: Readonly<Record<Db, string>> = { sqlite: 'sqlite', mysql: 'MariaDB' };

/** One backend's measurement, or why it failed. */
export type PeerRun = (Latency & { readonly candidates: number }) | string;
export type Peer = Partial<Readonly<Record<Db, PeerRun>>>;

/** The backend that answered the most queries per second, with its run; none if both failed. */
export function fastest(peer: Peer | undefined): { db: Db; run: Latency } | undefined {
  let best: { db: Db; run: Latency } | undefined;
  for (const db of PEER_DBS) {
    const run = peer?.[db];
    if (typeof run === 'object' && (!best || run.qps > best.run.qps)) best = { db, run };
  }
  return best;
}
