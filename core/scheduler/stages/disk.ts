/** disk — Nova's DiskWeigher: free DISK_GB; multiplier 1.0 spreads, negative packs. */
import { freeCapacityWeigher } from './free-capacity.ts';

export const diskWeigher = freeCapacityWeigher(
  'disk',
  'DISK_GB',
  'free disk (positive multiplier spreads, negative packs)',
);
