/** cpu — Nova's CPUWeigher: free VCPU; multiplier 1.0 spreads, negative packs. */
import { freeCapacityWeigher } from './free-capacity.ts';

export const cpuWeigher = freeCapacityWeigher(
  'cpu',
  'VCPU',
  'free vCPUs (positive multiplier spreads, negative packs)',
);
