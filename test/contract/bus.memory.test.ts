/** The Bus contract against the in-process adapter, on virtual time. */
import { MemoryBroker, type MemoryBus } from '../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../core/adapters/memory/clock.ts';
import { busContract } from './bus.contract.ts';

busContract('memory', {
  ackWaitMs: 30_000,
  async setup() {
    const clock = new VirtualClock(1_700_000_000_000);
    const broker = new MemoryBroker({ clock });
    const opened: MemoryBus[] = [];
    return {
      clock,
      async make() {
        const bus = broker.connect();
        opened.push(bus);
        return bus;
      },
      async cleanup() {
        await Promise.all(opened.map((b) => b.close()));
      },
    };
  },
});
