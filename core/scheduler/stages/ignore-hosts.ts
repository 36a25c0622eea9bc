/**
 * ignore-hosts — Nova's ignore_hosts: hosts named there are never chosen (the conductor uses it to
 * keep a migration off its source host). Unknown names are ignored.
 */

import { noArgs } from '../args.ts';
import { defineStage, type Filter } from '../stage.ts';
import { OK, reject } from '../status.ts';

const NAME = 'ignore-hosts';
const IGNORED = reject(NAME, 'in ignore_hosts', 'unschedulableAndUnresolvable');

export const ignoreHostsFilter = defineStage({
  name: NAME,
  kind: 'filter',
  doc: 'rejects the hosts listed in the request ignore_hosts',
  parseArgs: noArgs(NAME),
  create: (): Filter => ({
    kind: 'filter',
    name: NAME,
    classCacheable: false,
    cost: 1,
    prepare({ snapshot, request }) {
      if (request.ignoreHosts.length === 0) return null;
      const ignored = new Set<number>();
      for (const name of request.ignoreHosts) {
        const h = snapshot.indexOfHost(name);
        if (h !== undefined) ignored.add(h);
      }
      return { test: (h) => (ignored.has(h) ? IGNORED : OK) };
    },
  }),
});
