/**
 * A work-queue consumer on real NATS keeps consuming when JetStream loses what it consumes from:
 * the durable consumer deleted under it, or the whole stream (as a NATS restart without its store
 * would). Before, the client library waited in silence for someone to re-create them, and a
 * conductor led its cell without taking a single job.
 */
import { afterEach, describe, it } from 'vitest';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { WORK_QUEUE_CONSUMER } from '../../core/adapters/nats/bus-support.ts';
import type { Consumer } from '../../core/ports/bus.ts';
import { services, uniquePrefix } from '../real/services.ts';

const TEST_STREAM_MAX_BYTES = 4 * 1024 * 1024;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

let bus: NatsBus | undefined;
let consumer: Consumer | undefined;
afterEach(async () => {
  await consumer?.stop();
  await bus?.removeStreams().catch(() => {});
  await bus?.close();
});

async function until(what: string, check: () => boolean, withinMs = 20_000): Promise<void> {
  const end = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${withinMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('NATS work queue: the consumer resumes after JetStream lost its consumer or stream', () => {
  it.each(['consumer', 'stream'] as const)('the %s deleted under a running consumer', async (lost) => {
    bus = await NatsBus.connect({
      servers: services().nats,
      prefix: uniquePrefix('wqr'),
      streamMaxBytes: TEST_STREAM_MAX_BYTES,
    });
    const q = await bus.workQueue('ops', { ackWaitMs: 5_000 });
    const got: string[] = [];
    const problems: string[] = [];
    consumer = await q.consume(
      async (job) => {
        got.push(dec(job.data));
        await job.ack();
      },
      { maxInFlight: 4, onProblem: (e) => problems.push(e.message) },
    );
    await q.enqueue(enc('before'));
    await until('the first job', () => got.includes('before'));

    const { stream } = bus.names.workQueue('ops');
    if (lost === 'consumer') await bus.jsm.consumers.delete(stream, WORK_QUEUE_CONSUMER);
    else await bus.jsm.streams.delete(stream);
    await until('the loss reported', () => problems.length > 0);

    // The enqueue re-creates a missing stream itself; the consumer resumes on its own.
    await q.enqueue(enc('after'));
    await until('the job after the loss', () => got.includes('after'));
  });
});
