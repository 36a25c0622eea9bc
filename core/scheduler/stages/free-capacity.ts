/**
 * Shared shape of the ram, cpu and disk weighers (Nova's RAMWeigher, CPUWeigher, DiskWeigher):
 * the raw weight is the free amount of one resource class after allocation ratios, usage and
 * this cycle's assumptions. Multiplier > 0 spreads (most free wins), < 0 packs (least free wins).
 */

import { multiplierArgs } from '../args.ts';
import { defineStage, type StageFactory, type Weigher } from '../stage.ts';

export function freeCapacityWeigher(name: string, rc: string, doc: string): StageFactory {
  return defineStage({
    name,
    kind: 'weigher',
    doc,
    parseArgs: multiplierArgs(name, 1.0),
    create: ({ multiplier }): Weigher => ({
      kind: 'weigher',
      name,
      multiplier,
      prepare({ snapshot }) {
        const c = snapshot.column(rc);
        if (!c) return null;
        const { capacity, used, claimed } = c;
        return { weigh: (h) => capacity[h]! - used[h]! - claimed[h]! };
      },
    }),
  });
}
