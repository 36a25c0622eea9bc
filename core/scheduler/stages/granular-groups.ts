/**
 * granular-groups — a request with granular groups (`resources1:VGPU=1`, `trait1:…`,
 * `group_policy`) fits a host when its provider tree can hold every group on one provider each
 * (isolate: all different), with the unnumbered group beside them: Placement's answer, which the
 * snapshot's holder computes on the host's tree (`Snapshot.treeFit`). The columns cannot: they
 * keep, per class, one provider per host. Per host, so not class-cacheable; runs last among the
 * filters (the most expensive), on the hosts every cheaper filter let through.
 */

import { noArgs } from '../args.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';

const NAME = 'granular-groups';

export const granularGroupsFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: 'granular request groups fit the host provider tree (one provider per group, group_policy)',
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: false,
    cost: 50,
    prepare({ snapshot, request }) {
      if (request.granular === null) return null;
      const treeFit = snapshot.treeFit;
      const none = reject(
        NAME,
        treeFit ? 'no provider of the tree holds a request group' : 'granular groups need the provider trees',
        'unschedulableAndUnresolvable',
      );
      if (!treeFit) return { test: () => none, only: { hosts: [], status: none } };
      return { test: (h) => (treeFit(h, request) ? OK : none) };
    },
  }),
});
