/**
 * resources — does one instance's worth of every requested resource class fit on the host?
 * Capacity is Placement's: trunc((total - reserved) * allocation_ratio) (core/model/inventory.ts),
 * minus what is used and what this cycle already assumed. Also checks min_unit, max_unit and
 * step_size, as Placement does for each allocation. Extra classes (VGPU, CUSTOM_*) are columns
 * like the standard ones; a host without the class has capacity 0.
 */

import { noArgs } from '../args.ts';
import type { ResourceColumn } from '../snapshot.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject, type Status } from '../status.ts';

const NAME = 'resources';

export const resourcesFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: 'free capacity (allocation ratios, reserved, assumed claims) and unit rules for every requested class',
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: false,
    cost: 3,
    prepare({ snapshot, request }) {
      if (request.resources.length === 0) return null;
      const cols: ResourceColumn[] = [];
      const amounts: number[] = [];
      const why: { short: Status; min: Status; max: Status; step: Status }[] = [];
      for (const { rc, amount } of request.resources) {
        const col = snapshot.column(rc);
        const short = reject(NAME, `insufficient ${rc}`);
        if (!col) return { test: () => short, only: { hosts: [], status: short } };
        cols.push(col);
        amounts.push(amount);
        why.push({
          short,
          min: reject(NAME, `${rc} below min_unit`),
          max: reject(NAME, `${rc} above max_unit`),
          step: reject(NAME, `${rc} not a multiple of step_size`),
        });
      }
      return {
        test(h) {
          for (let i = 0; i < cols.length; i++) {
            const c = cols[i]!;
            const amount = amounts[i]!;
            if (c.capacity[h]! - c.used[h]! - c.claimed[h]! < amount) return why[i]!.short;
            if (amount > c.maxUnit[h]!) return why[i]!.max;
            if (amount < c.minUnit[h]!) return why[i]!.min;
            if (amount % c.stepSize[h]! !== 0) return why[i]!.step;
          }
          return OK;
        },
      };
    },
  }),
});
