/**
 * tenant-isolation — Nova's AggregateMultiTenancyIsolation: a host in an aggregate whose metadata
 * has `filter_tenant_id` (or any key starting with it: `filter_tenant_id_2`, …; values may be
 * comma-separated) takes only instances of the projects listed there, across all such aggregates
 * of the host. A host in no such aggregate takes every project. Costs nothing while no aggregate
 * carries the key.
 */

import { noArgs } from '../args.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';

const NAME = 'tenant-isolation';
export const TENANT_KEY = 'filter_tenant_id';

export const tenantIsolationFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: 'hosts of aggregates with filter_tenant_id* metadata take only the listed projects',
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: true,
    cost: 2,
    prepare({ snapshot, request }) {
      const tenants = snapshot.cols.aggregateMetadata.map((m) => {
        const out: string[] = [];
        for (const [k, values] of m) if (k.startsWith(TENANT_KEY)) out.push(...values);
        return out;
      });
      if (tenants.every((t) => t.length === 0)) return null;
      const project = request.projectId;
      const other = reject(
        NAME,
        'isolated for other projects (filter_tenant_id)',
        'unschedulableAndUnresolvable',
      );
      return {
        test(h) {
          let isolated = false;
          for (const a of snapshot.aggregatesOf(h)) {
            const t = tenants[a]!;
            if (t.length === 0) continue;
            if (project !== null && t.includes(project)) return OK;
            isolated = true;
          }
          return isolated ? other : OK;
        },
      };
    },
  }),
});
