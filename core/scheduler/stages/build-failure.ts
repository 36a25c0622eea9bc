/**
 * build-failure — Nova's BuildFailureWeigher: raw weight = -(recent failed builds), so hosts that
 * keep failing boots sink. The default multiplier (1,000,000, Nova's) makes it outweigh every
 * other weigher, as Nova intends; lower it to let a flaky host still win on capacity.
 */

import { multiplierArgs } from '../args.ts';
import { defineStage, type Weigher } from '../stage.ts';

const NAME = 'build-failure';
export const BUILD_FAILURE_DEFAULT_MULTIPLIER = 1_000_000;

export const buildFailureWeigher = defineStage({
  name: NAME,
  kind: 'weigher',
  doc: 'hosts with recent failed builds sink (default multiplier 1e6, as Nova)',
  parseArgs: multiplierArgs(NAME, BUILD_FAILURE_DEFAULT_MULTIPLIER),
  create: ({ multiplier }): Weigher => ({
    kind: 'weigher',
    name: NAME,
    multiplier,
    prepare({ snapshot }) {
      const failed = snapshot.cols.failedBuilds;
      return { weigh: (h) => -failed[h]! };
    },
  }),
});
