import { VirtualClock } from '../../core/adapters/memory/clock.ts';
import { clockContract } from './clock.contract.ts';

clockContract('virtual', () => {
  const clock = new VirtualClock(1_700_000_000_000);
  return { clock, pass: (ms) => clock.advance(ms), slackMs: 0 };
});
