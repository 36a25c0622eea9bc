/** The Bus contract against NATS + JetStream (real nats-server from the test fixture). */
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { services, uniquePrefix } from '../real/services.ts';
import { busContract } from './bus.contract.ts';

/** Small streams: JetStream reserves max_bytes per stream against the server's store limit. */
const TEST_STREAM_MAX_BYTES = 4 * 1024 * 1024;

busContract('nats', {
  ackWaitMs: 600,
  async setup() {
    const prefix = uniquePrefix('bus');
    const opened: NatsBus[] = [];
    const make = async () => {
      const bus = await NatsBus.connect({
        servers: services().nats,
        prefix,
        streamMaxBytes: TEST_STREAM_MAX_BYTES,
      });
      opened.push(bus);
      return bus;
    };
    return {
      make,
      async cleanup() {
        await Promise.all(opened.map((b) => b.close()));
        const admin = await make();
        await admin.removeStreams();
        await admin.close();
      },
    };
  },
});
