/**
 * soft-affinity — Nova's ServerGroupSoftAffinityWeigher: raw weight = members of the group on the
 * host (assumptions included). Its hosts are evaluated first (`prefer`), so a small limit on a
 * large shard still sees them.
 */

import { multiplierArgs } from '../args.ts';
import { defineStage, type Weigher } from '../stage.ts';

const NAME = 'soft-affinity';

export const softAffinityWeigher = defineStage({
  name: NAME,
  kind: 'weigher',
  doc: 'server group policy soft-affinity: prefer hosts with more members of the group',
  parseArgs: multiplierArgs(NAME, 1.0),
  create: ({ multiplier }): Weigher => ({
    kind: 'weigher',
    name: NAME,
    multiplier,
    prepare({ snapshot, request }) {
      const g = request.group;
      if (g?.policy !== 'soft-affinity') return null;
      return { weigh: (h) => snapshot.groupCount(g.id, h), prefer: snapshot.groupHosts(g.id) };
    },
  }),
});
