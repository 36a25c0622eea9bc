/**
 * anti-affinity — Nova's ServerGroupAntiAffinityFilter: a host already running
 * `max_server_per_host` members of the group (1 unless the rule says otherwise) is rejected.
 * Members assumed earlier in the same batch count, so a batch spreads as the policy demands.
 */

import { noArgs } from '../args.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';

const NAME = 'anti-affinity';
const FULL = reject(NAME, 'max_server_per_host of the anti-affinity group reached');

export const antiAffinityFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: 'server group policy anti-affinity: at most max_server_per_host members per host',
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: false,
    cost: 2,
    prepare({ snapshot, request }) {
      const g = request.group;
      if (g?.policy !== 'anti-affinity') return null;
      return { test: (h) => (snapshot.groupCount(g.id, h) < g.maxServerPerHost ? OK : FULL) };
    },
  }),
});
