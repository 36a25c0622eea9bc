/**
 * traits — `trait:X=required` needs X on the host, `trait:X=forbidden` needs it absent (what
 * Placement's required/forbidden traits do for the root provider). One bitset read per trait.
 * A host with nested providers passes: there Placement asks the traits of the providers the
 * request takes from, which only the tree tells (the provider-tree stage).
 */

import { noArgs } from '../args.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';

const NAME = 'traits';

export const traitsFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: 'required traits present and forbidden traits absent (flavor extra specs trait:X=required|forbidden)',
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: true,
    cost: 2,
    prepare({ snapshot, request }) {
      const { requiredTraits: req, forbiddenTraits: forb } = request;
      if (req.length === 0 && forb.length === 0) return null;
      const missing = req.map((t) =>
        reject(NAME, `missing required trait ${t}`, 'unschedulableAndUnresolvable'),
      );
      const unknown = req.findIndex((t) => snapshot.traitId(t) < 0);
      if (unknown >= 0)
        return { test: () => missing[unknown]!, only: { hosts: [], status: missing[unknown]! } };
      const reqIds = req.map((t) => snapshot.traitId(t));
      // A forbidden trait no host has cannot reject anything: drop it.
      const forbIds = forb.map((t) => snapshot.traitId(t));
      const has = forb.map((t) => reject(NAME, `has forbidden trait ${t}`, 'unschedulableAndUnresolvable'));
      const nested = snapshot.cols.nested;
      return {
        test(h) {
          if (nested[h] === 1) return OK; // which provider has it matters: the provider-tree stage decides
          for (let i = 0; i < reqIds.length; i++) if (!snapshot.hasTrait(h, reqIds[i]!)) return missing[i]!;
          for (let i = 0; i < forbIds.length; i++) if (snapshot.hasTrait(h, forbIds[i]!)) return has[i]!;
          return OK;
        },
      };
    },
  }),
});
