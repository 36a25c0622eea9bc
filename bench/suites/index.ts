/** Every suite `npm run bench` knows, in run order. Add new suites here. */
import type { Suite } from '../lib/types.ts';
import { cellsSuite } from './cells.ts';
import { claimSuite } from './claim.ts';
import { codecSuite } from './codec.ts';
import { mappingsSuite } from './mappings.ts';
import { placementSuite } from './placement.ts';
import { scoringSuite } from './scoring.ts';
import { simSuite } from './sim.ts';

export const SUITES: readonly Suite[] = [
  codecSuite,
  placementSuite,
  cellsSuite,
  scoringSuite,
  claimSuite,
  mappingsSuite,
  simSuite,
];
