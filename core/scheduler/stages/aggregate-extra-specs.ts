/**
 * aggregate-extra-specs — Nova's AggregateInstanceExtraSpecsFilter: for every
 * `aggregate_instance_extra_specs:<key>` in the flavor, some aggregate of the host must carry
 * metadata <key> with a value matching the requirement (extra-specs-ops.ts). A host in no
 * aggregate with that key fails. Metadata values are comma-separated lists, each value tried.
 * Unscoped extra specs (deprecated in Nova since Havana) are not considered.
 */

import { noArgs } from '../args.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';
import { matchesRequirement } from './extra-specs-ops.ts';

const NAME = 'aggregate-extra-specs';

export const aggregateExtraSpecsFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: "flavor aggregate_instance_extra_specs:* match the metadata of the host's aggregates",
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: true,
    cost: 4,
    prepare({ snapshot, request }) {
      const specs = request.aggregateSpecs;
      if (specs.length === 0) return null;
      const meta = snapshot.cols.aggregateMetadata;
      const absent = specs.map((s) =>
        reject(NAME, `no aggregate metadata ${s.key}`, 'unschedulableAndUnresolvable'),
      );
      const mismatch = specs.map((s) =>
        reject(NAME, `aggregate metadata ${s.key} does not match`, 'unschedulableAndUnresolvable'),
      );
      return {
        test(h) {
          const aggs = snapshot.aggregatesOf(h);
          for (let i = 0; i < specs.length; i++) {
            const { key, requirement } = specs[i]!;
            let seen = false;
            let matched = false;
            for (const a of aggs) {
              const values = meta[a]!.get(key);
              if (!values) continue;
              seen = true;
              if (values.some((v) => matchesRequirement(v, requirement))) {
                matched = true;
                break;
              }
            }
            if (!seen) return absent[i]!;
            if (!matched) return mismatch[i]!;
          }
          return OK;
        },
      };
    },
  }),
});
