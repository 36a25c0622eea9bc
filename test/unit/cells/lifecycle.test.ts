/** The cells behaviour suite on the embedded coordinator, driven by a VirtualClock. */
import { cellsBehaviour } from './cells-behaviour.ts';
import { memoryCellsWorld } from './cells-world.ts';

cellsBehaviour('the memory coordinator', memoryCellsWorld);
