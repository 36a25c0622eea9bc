/**
 * compute — Nova's ComputeFilter: the host's compute service must be enabled and up (its
 * heartbeat within the grace period). Reads only the service state, a class attribute.
 */

import { noArgs } from '../args.ts';
import { HostState } from '../snapshot.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';

const NAME = 'compute';
const DISABLED = reject(NAME, 'service disabled', 'unschedulableAndUnresolvable');
const DOWN = reject(NAME, 'host down', 'unschedulableAndUnresolvable');

export const computeFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: 'rejects hosts whose compute service is disabled or down',
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: true,
    cost: 1,
    prepare({ snapshot }) {
      const state = snapshot.cols.state;
      return {
        test: (h) => (state[h] === HostState.up ? OK : state[h] === HostState.down ? DOWN : DISABLED),
      };
    },
  }),
});
