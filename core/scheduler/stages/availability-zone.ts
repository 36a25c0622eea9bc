/**
 * availability-zone — Nova's AvailabilityZoneFilter: with a zone requested, the host's zone (from
 * its aggregates' `availability_zone` metadata, else the default zone 'nova') must equal it.
 */

import { noArgs } from '../args.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';

const NAME = 'availability-zone';
const OTHER_ZONE = reject(NAME, 'not in the requested availability zone', 'unschedulableAndUnresolvable');

export const availabilityZoneFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: "host's availability zone equals the requested one",
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: true,
    cost: 1,
    prepare({ snapshot, request }) {
      if (request.availabilityZone === null) return null;
      const z = snapshot.zoneId(request.availabilityZone);
      if (z < 0) return { test: () => OTHER_ZONE, only: { hosts: [], status: OTHER_ZONE } };
      const zone = snapshot.cols.zone;
      return { test: (h) => (zone[h] === z ? OK : OTHER_ZONE) };
    },
  }),
});
