/**
 * provider-tree — what the columns cannot answer, answered on the host's provider tree by the
 * snapshot's holder (`Snapshot.treeFit`: the shard runs the Placement engine on the tree):
 * - granular groups (`resources1:VGPU=1`, `trait1:…`, `group_policy`): each group on one provider
 *   (isolate: all different), the unnumbered group beside them;
 * - traits asked of a host with nested providers: Placement wants the unnumbered group's
 *   required traits on the providers it takes from (their union), and none of them with a
 *   forbidden trait; the columns know only the union over the whole tree (the traits filter
 *   passes such hosts on to this stage).
 * Per host, so not class-cacheable; runs last among the filters (the most expensive), on the
 * hosts every cheaper filter let through. Hosts the columns answer exactly pass at once.
 */

import { noArgs } from '../args.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';

const NAME = 'provider-tree';

export const providerTreeFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: 'granular groups, and traits on nested trees, fit the host provider tree (Placement semantics)',
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: false,
    cost: 50,
    prepare({ snapshot, request }) {
      const traits = request.requiredTraits.length > 0 || request.forbiddenTraits.length > 0;
      if (request.granular === null && !traits) return null;
      const treeFit = snapshot.treeFit;
      const none = reject(
        NAME,
        treeFit
          ? 'no provider combination of the tree holds the request'
          : 'the request needs the provider trees',
        'unschedulableAndUnresolvable',
      );
      return {
        test: (h) => {
          if (!snapshot.needsTree(h, request)) return OK;
          return treeFit?.(h, request) ? OK : none;
        },
      };
    },
  }),
});
