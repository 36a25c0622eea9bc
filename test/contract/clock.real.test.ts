import { SystemClock } from '../../core/adapters/system/clock.ts';
import { clockContract } from './clock.contract.ts';

clockContract('system', () => ({
  clock: new SystemClock(),
  pass: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  slackMs: 1,
}));
