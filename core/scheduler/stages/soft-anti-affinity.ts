/**
 * soft-anti-affinity — Nova's ServerGroupSoftAntiAffinityWeigher: raw weight = -(members of the
 * group on the host), assumptions included, so a batch spreads while any empty host is feasible
 * and doubles up only when it must.
 */

import { multiplierArgs } from '../args.ts';
import { defineStage, type Weigher } from '../stage.ts';

const NAME = 'soft-anti-affinity';

export const softAntiAffinityWeigher = defineStage({
  name: NAME,
  kind: 'weigher',
  doc: 'server group policy soft-anti-affinity: prefer hosts with fewer members of the group',
  parseArgs: multiplierArgs(NAME, 1.0),
  create: ({ multiplier }): Weigher => ({
    kind: 'weigher',
    name: NAME,
    multiplier,
    prepare({ snapshot, request }) {
      const g = request.group;
      if (g?.policy !== 'soft-anti-affinity') return null;
      return { weigh: (h) => -snapshot.groupCount(g.id, h) };
    },
  }),
});
