/**
 * affinity — Nova's ServerGroupAffinityFilter: once a hard-affinity group has members, only the
 * hosts holding them qualify. The first instance of an empty group may go anywhere; the next ones
 * of the same batch follow it because the pipeline assumes each placement before the next.
 * Group membership counts only this snapshot's hosts: the router sends a group's requests to the
 * shard that holds its members.
 */

import { noArgs } from '../args.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';

const NAME = 'affinity';
const ELSEWHERE = reject(NAME, 'not a host of the affinity group');

export const affinityFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: 'server group policy affinity: only hosts already running members of the group',
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: false,
    cost: 2,
    prepare({ snapshot, request }) {
      const g = request.group;
      if (g?.policy !== 'affinity') return null;
      const hosts = snapshot.groupHosts(g.id);
      if (hosts.length === 0) return null;
      return {
        test: (h) => (snapshot.groupCount(g.id, h) > 0 ? OK : ELSEWHERE),
        only: { hosts, status: ELSEWHERE },
      };
    },
  }),
});
