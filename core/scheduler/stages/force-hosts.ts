/**
 * force-hosts — Nova's force_hosts / force_nodes (admin only, checked by the request parser):
 * only the named hosts (by host name) and nodes (by node name) qualify; with both, a host must be
 * in both lists. Unlike Nova, a forced host still goes through the other filters: the claim would
 * refuse an over-capacity host anyway, and silently breaking anti-affinity or traits is worse
 * than a NoValidHost that explain.ts spells out.
 */

import { noArgs } from '../args.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';

const NAME = 'force-hosts';
const NOT_FORCED = reject(NAME, 'not in force_hosts/force_nodes', 'unschedulableAndUnresolvable');

export const forceHostsFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: 'admin force_hosts/force_nodes: only the named hosts or nodes qualify',
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: false,
    cost: 1,
    prepare({ snapshot, request }) {
      const { forceHosts, forceNodes } = request;
      if (forceHosts.length === 0 && forceNodes.length === 0) return null;
      const pick = (names: readonly string[], find: (n: string) => number | undefined) =>
        new Set(names.map(find).filter((h): h is number => h !== undefined));
      const byHost = forceHosts.length > 0 ? pick(forceHosts, (n) => snapshot.indexOfHost(n)) : null;
      const byNode = forceNodes.length > 0 ? pick(forceNodes, (n) => snapshot.indexOfNode(n)) : null;
      const allowed = new Set<number>();
      for (const h of byHost ?? byNode ?? []) if (!byNode || byNode.has(h)) allowed.add(h);
      const hosts = [...allowed].sort((a, b) => a - b);
      return { test: (h) => (allowed.has(h) ? OK : NOT_FORCED), only: { hosts, status: NOT_FORCED } };
    },
  }),
});
