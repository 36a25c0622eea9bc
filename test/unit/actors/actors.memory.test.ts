/** The actor runtime contract on the in-process bus and virtual time. */
import { MemoryBroker, type MemoryBus } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { actorRuntimeContract } from './actor-runtime.contract.ts';

actorRuntimeContract('the memory bus', {
  async setup() {
    const clock = new VirtualClock(1_700_000_000_000);
    const broker = new MemoryBroker({ clock });
    const opened: MemoryBus[] = [];
    return {
      clock,
      virtual: clock,
      async connect() {
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
