/**
 * Event stream on JetStream: a file-backed stream with limits retention (max_msgs =
 * maxEvents, oldest discarded) on the bus's streamReplicas servers. `follow` runs an ordered consumer from opt_start_seq: the
 * client recreates it on any gap, so the handler sees every retained seq in order; the
 * handler's promise is awaited before the next event.
 */
import {
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { EventStream, EventStreamOptions, StreamEvent, Subscription } from '../../ports/bus.ts';
import { checkInt, checkSubject } from '../memory/bus-checks.ts';
import { ensureStream, FOLLOW_BUFFER_EVENTS, mapNatsError, type NatsBusContext } from './bus-support.ts';

export async function openEventStream(
  bus: NatsBusContext,
  name: string,
  opts: EventStreamOptions,
): Promise<EventStream> {
  checkInt(opts.maxEvents, 1, 'maxEvents');
  const { stream, subjectPrefix } = bus.names.eventStream(name);
  const cfg = {
    name: stream,
    subjects: [`${subjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_msgs: opts.maxEvents,
    max_bytes: bus.streamMaxBytes,
    num_replicas: bus.streamReplicas,
  };
  await ensureStream(bus, cfg, `opening event stream "${name}"`);
  return new NatsEventStream(bus, name, stream, subjectPrefix);
}

class NatsEventStream implements EventStream {
  constructor(
    private readonly bus: NatsBusContext,
    readonly name: string,
    private readonly stream: string,
    private readonly subjectPrefix: string,
  ) {}

  async append(subject: string, data: Uint8Array): Promise<number> {
    this.bus.assertOpen();
    checkSubject(subject, false);
    try {
      return (await this.bus.js.publish(`${this.subjectPrefix}.${subject}`, data)).seq;
    } catch (err) {
      throw mapNatsError(err, `append to "${this.name}"`);
    }
  }

  async follow(fromSeq: number, handler: (ev: StreamEvent) => void | Promise<void>): Promise<Subscription> {
    this.bus.assertOpen();
    checkInt(fromSeq, 1, 'fromSeq');
    let messages: ConsumerMessages;
    try {
      const consumer = await this.bus.js.consumers.get(this.stream, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: fromSeq,
      });
      messages = await consumer.consume({ max_messages: FOLLOW_BUFFER_EVENTS });
    } catch (err) {
      throw mapNatsError(err, `follow "${this.name}"`);
    }
    const cut = this.subjectPrefix.length + 1;
    let active = true;
    const unsubscribe = async () => {
      if (!active) return;
      active = false;
      unregister();
      await messages.close().catch(() => {});
    };
    const unregister = this.bus.onClose(unsubscribe);
    void (async () => {
      for await (const m of messages) {
        if (!active) return;
        // The server clamps a start beyond the last seq to last+1: skip what precedes fromSeq.
        if (m.seq < fromSeq) continue;
        const ev: StreamEvent = {
          seq: m.seq,
          subject: m.subject.slice(cut),
          data: m.data,
          timestampMs: Number(m.timestampNanos / 1_000_000n),
        };
        try {
          await handler(ev);
        } catch {
          // The handler's to report; the follower goes on with the next event.
        }
      }
    })().catch(() => {});
    return { subject: `${this.name}.>`, unsubscribe };
  }

  async bounds(): Promise<{ firstSeq: number; lastSeq: number }> {
    this.bus.assertOpen();
    try {
      const { state } = await this.bus.jsm.streams.info(this.stream);
      return state.messages === 0
        ? { firstSeq: 0, lastSeq: 0 }
        : { firstSeq: state.first_seq, lastSeq: state.last_seq };
    } catch (err) {
      throw mapNatsError(err, `bounds of "${this.name}"`);
    }
  }
}
