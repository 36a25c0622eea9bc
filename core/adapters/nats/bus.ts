/**
 * The real Bus adapter: NATS core for publish/subscribe, queue groups and request/reply;
 * JetStream for durable work queues (nats/workqueue.ts) and event streams
 * (nats/eventstream.ts). Names on the server are described in nats/bus-support.ts.
 *
 * `subscribe` resolves once the server has registered the interest (a flush), so a
 * message published from any connection afterwards reaches it; `unsubscribe` likewise.
 */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { CellplaneError } from '../../errors.ts';
import type {
  Bus,
  BusMessage,
  EventStream,
  EventStreamOptions,
  MessageHandler,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  WorkQueue,
  WorkQueueOptions,
} from '../../ports/bus.ts';
import { checkName, checkSubject } from '../memory/bus-checks.ts';
import { callDetached } from '../memory/bus-inbox.ts';
import { serverList } from '../shared/urls.ts';
import {
  checkStreamReplicas,
  DEFAULT_STREAM_MAX_BYTES,
  DEFAULT_STREAM_REPLICAS,
  mapNatsError,
  Names,
  type NatsBusContext,
} from './bus-support.ts';
import { openEventStream } from './eventstream.ts';
import { openWorkQueue } from './workqueue.ts';

export interface NatsBusOptions {
  /**
   * e.g. `nats://127.0.0.1:4222`: one, or the servers of a cluster as a list or a comma-separated
   * string (the client connects to one and fails over to the others).
   */
  servers: string | readonly string[];
  /** Connection name shown by the server's monitoring. */
  name?: string;
  /** Isolates subjects and streams (tests, shared servers): letters and digits only. */
  prefix?: string;
  /** Cap on each stream's size in bytes (JetStream reserves it). Default DEFAULT_STREAM_MAX_BYTES. */
  streamMaxBytes?: number;
  /**
   * Servers holding a copy of each stream (JetStream `num_replicas`); default
   * DEFAULT_STREAM_REPLICAS. More than 1 needs a JetStream cluster of at least that many servers:
   * refused at connect on a single server, and by the server when a stream cannot be placed.
   */
  streamReplicas?: number;
  /**
   * Reconnect attempts after the connection is lost; -1 (the default): forever, as a daemon must
   * (nats.js alone gives up after 10 attempts, ~20 s: a longer partition or server restart would
   * leave the process without a bus for good).
   */
  maxReconnectAttempts?: number;
}

export class NatsBus implements Bus, NatsBusContext {
  private closed = false;
  private readonly closers = new Set<() => Promise<void>>();

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly names: Names,
    readonly streamMaxBytes: number,
    readonly streamReplicas: number,
  ) {}

  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    if (opts.prefix !== undefined && !/^[A-Za-z0-9]+$/.test(opts.prefix))
      throw new CellplaneError('invalid', `bus prefix "${opts.prefix}" must be letters and digits`);
    const servers = serverList(opts.servers, 'NATS servers');
    const replicas = opts.streamReplicas ?? DEFAULT_STREAM_REPLICAS;
    checkStreamReplicas(replicas);
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        maxReconnectAttempts: opts.maxReconnectAttempts ?? -1,
        reconnectTimeWait: 1_000,
        ...(opts.name ? { name: opts.name } : {}),
      });
    } catch (err) {
      throw new CellplaneError('unavailable', `cannot connect to NATS at ${servers.join(',')}`, {
        cause: err,
      });
    }
    if (replicas > 1 && !nc.info?.cluster) {
      await nc.close();
      throw new CellplaneError(
        'invalid',
        `${replicas} stream replicas need a NATS cluster with JetStream on at least ${replicas} servers; ${servers.join(',')} is a single server (set the stream replicas to 1)`,
      );
    }
    const jsm = await jetstreamManager(nc).catch(async (err) => {
      await nc.close();
      throw mapNatsError(err, 'JetStream');
    });
    const maxBytes = opts.streamMaxBytes ?? DEFAULT_STREAM_MAX_BYTES;
    return new NatsBus(nc, jetstream(nc), jsm, new Names(opts.prefix), maxBytes, replicas);
  }

  assertOpen(): void {
    if (this.closed || this.nc.isClosed()) throw new CellplaneError('closed', 'the bus is closed');
  }

  onClose(fn: () => Promise<void>): () => void {
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  publish(subject: string, data: Uint8Array): void {
    this.assertOpen();
    checkSubject(subject, false);
    try {
      this.nc.publish(this.names.subject(subject), data);
    } catch (err) {
      throw mapNatsError(err, `publish to "${subject}"`);
    }
  }

  async subscribe(
    subject: string,
    handler: MessageHandler,
    opts: SubscribeOptions = {},
  ): Promise<Subscription> {
    this.assertOpen();
    checkSubject(subject, true);
    if (opts.queue !== undefined) checkName(opts.queue, 'queue group');
    const sub = this.nc.subscribe(this.names.subject(subject), {
      ...(opts.queue ? { queue: opts.queue } : {}),
      // A NATS callback must return nothing: the handler's promise is detached.
      callback: (err, msg) => {
        if (!err) callDetached(handler, this.wrap(msg));
      },
    });
    await this.flushOrMap(`subscribe to "${subject}"`);
    return {
      subject,
      unsubscribe: async () => {
        if (sub.isClosed()) return;
        sub.unsubscribe();
        if (!this.closed && !this.nc.isClosed()) await this.nc.flush().catch(() => {});
      },
    };
  }

  async request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
    this.assertOpen();
    checkSubject(subject, false);
    try {
      const reply = await this.nc.request(this.names.subject(subject), data, { timeout: opts.timeoutMs });
      return reply.data;
    } catch (err) {
      throw mapNatsError(err, `request to "${subject}"`);
    }
  }

  async workQueue(name: string, opts: WorkQueueOptions): Promise<WorkQueue> {
    this.assertOpen();
    checkName(name, 'work queue');
    return openWorkQueue(this, name, opts);
  }

  async eventStream(name: string, opts: EventStreamOptions): Promise<EventStream> {
    this.assertOpen();
    checkName(name, 'event stream');
    return openEventStream(this, name, opts);
  }

  async flush(): Promise<void> {
    this.assertOpen();
    await this.flushOrMap('flush');
  }

  /**
   * Deletes every work-queue and event stream under this bus's prefix (tests, teardown of a
   * simulation). Refuses without a prefix: that would be every stream on the server.
   */
  async removeStreams(): Promise<number> {
    this.assertOpen();
    const owned = this.names.streamPrefix();
    if (!owned) throw new CellplaneError('invalid', 'removeStreams needs a bus prefix');
    let n = 0;
    try {
      for await (const name of this.jsm.streams.names()) {
        if (!name.startsWith(owned)) continue;
        if (await this.jsm.streams.delete(name).catch(() => false)) n++;
      }
    } catch (err) {
      throw mapNatsError(err, 'removing streams');
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.closers].map((fn) => fn().catch(() => {})));
    this.closers.clear();
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close().catch(() => {});
    }
  }

  private async flushOrMap(what: string): Promise<void> {
    try {
      await this.nc.flush();
    } catch (err) {
      throw mapNatsError(err, what);
    }
  }

  private wrap(msg: Msg): BusMessage {
    const subject = this.names.local(msg.subject);
    return {
      subject,
      data: msg.data,
      expectsReply: !!msg.reply,
      respond: (d: Uint8Array) => {
        if (!msg.reply) throw new CellplaneError('invalid', `message on "${subject}" is not a request`);
        msg.respond(d);
      },
    };
  }
}
