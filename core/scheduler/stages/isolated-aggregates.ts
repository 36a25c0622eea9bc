/**
 * isolated-aggregates — Nova's isolated aggregate filtering (`enable_isolated_aggregate_filtering`):
 * an aggregate whose metadata says `trait:<TRAIT>=required` keeps its hosts for requests that
 * require that trait; a request that does not is kept off them. (The hosts themselves carry the
 * trait in their providers, so requests asking for it find them through the traits filter.)
 * Costs nothing while no aggregate carries such a key.
 */

import { noArgs } from '../args.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';

const NAME = 'isolated-aggregates';
const PREFIX = 'trait:';

export const isolatedAggregatesFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: 'hosts of aggregates with trait:X=required metadata take only requests requiring X',
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: true,
    cost: 2,
    prepare({ snapshot, request }) {
      const required = new Set(request.requiredTraits);
      // Per aggregate: the first trait it requires that the request does not (undefined: none).
      const unmet = snapshot.cols.aggregateMetadata.map((m) => {
        for (const [k, values] of m)
          if (k.startsWith(PREFIX) && values.includes('required') && !required.has(k.slice(PREFIX.length)))
            return k.slice(PREFIX.length);
        return undefined;
      });
      if (unmet.every((t) => t === undefined)) return null;
      const statuses = new Map<string, ReturnType<typeof reject>>();
      const refused = (t: string) => {
        let s = statuses.get(t);
        if (!s) {
          s = reject(NAME, `isolated aggregate requires trait ${t}`, 'unschedulableAndUnresolvable');
          statuses.set(t, s);
        }
        return s;
      };
      return {
        test(h) {
          for (const a of snapshot.aggregatesOf(h)) {
            const t = unmet[a];
            if (t !== undefined) return refused(t);
          }
          return OK;
        },
      };
    },
  }),
});
