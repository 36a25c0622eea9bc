/** The built-in stages, and a registry holding them all. */

import { StageRegistry } from '../stage.ts';
import { affinityFilter } from './affinity.ts';
import { aggregateExtraSpecsFilter } from './aggregate-extra-specs.ts';
import { antiAffinityFilter } from './anti-affinity.ts';
import { availabilityZoneFilter } from './availability-zone.ts';
import { buildFailureWeigher } from './build-failure.ts';
import { computeFilter } from './compute.ts';
import { cpuWeigher } from './cpu.ts';
import { diskWeigher } from './disk.ts';
import { forceHostsFilter } from './force-hosts.ts';

import { ignoreHostsFilter } from './ignore-hosts.ts';
import { isolatedAggregatesFilter } from './isolated-aggregates.ts';
import { metricsWeigher } from './metrics.ts';
import { providerTreeFilter } from './provider-tree.ts';
import { ramWeigher } from './ram.ts';
import { resourcesFilter } from './resources.ts';
import { softAffinityWeigher } from './soft-affinity.ts';
import { softAntiAffinityWeigher } from './soft-anti-affinity.ts';
import { tenantIsolationFilter } from './tenant-isolation.ts';
import { traitsFilter } from './traits.ts';

export const BUILTIN_STAGES = Object.freeze([
  computeFilter,
  availabilityZoneFilter,
  traitsFilter,
  aggregateExtraSpecsFilter,
  tenantIsolationFilter,
  isolatedAggregatesFilter,
  ignoreHostsFilter,
  forceHostsFilter,
  affinityFilter,
  antiAffinityFilter,
  resourcesFilter,
  providerTreeFilter,
  ramWeigher,
  cpuWeigher,
  diskWeigher,
  buildFailureWeigher,
  metricsWeigher,
  softAffinityWeigher,
  softAntiAffinityWeigher,
]);

/** A fresh registry with every built-in stage; register custom stages on it. */
export function builtinRegistry(): StageRegistry {
  return new StageRegistry(BUILTIN_STAGES);
}
