/** ram — Nova's RAMWeigher: free MEMORY_MB; multiplier 1.0 spreads, negative packs. */
import { freeCapacityWeigher } from './free-capacity.ts';

export const ramWeigher = freeCapacityWeigher(
  'ram',
  'MEMORY_MB',
  'free RAM (positive multiplier spreads, negative packs)',
);
