/**
 * Naming, limits, stream creation, error mapping and the bus context (`NatsBusContext`) shared
 * by the NATS Bus adapter's parts.
 *
 * Layout on the server, for a bus with prefix `p` (no prefix: the `p.` / `p_` parts vanish):
 *   core subjects            p.<subject>
 *   work queue `q`           stream p_WQ_<q'> on subject p.cpwq.<q>, durable pull consumer `workers`
 *   event stream `s`         stream p_ES_<s'> on subjects p.cpes.<s>.>
 * where <q'> is the name with dots turned into `_` (so `a.b` and `a_b` share a stream name:
 * pick names that do not differ only so).
 */
import {
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { errors, type NatsConnection } from '@nats-io/transport-node';
import { CellplaneError } from '../../errors.ts';

/** What the work-queue and event-stream parts need from the bus. */
export interface NatsBusContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: Names;
  readonly streamMaxBytes: number;
  readonly streamReplicas: number;
  assertOpen(): void;
  /** Registers something to stop before the connection drains; returns the unregister. */
  onClose(fn: () => Promise<void>): () => void;
}

/** Default cap on each stream's bytes. JetStream reserves it against the server's store limit. */
export const DEFAULT_STREAM_MAX_BYTES = 64 * 1024 * 1024;
/** Copies of each stream by default: one server holds it (a cluster asks for 3). */
export const DEFAULT_STREAM_REPLICAS = 1;
/** JetStream's own maximum of stream replicas. */
export const MAX_STREAM_REPLICAS = 5;
/** Jobs a work queue holds at most; enqueue beyond it fails `overloaded` (discard new). */
export const WORK_QUEUE_MAX_JOBS = 1_000_000;
/** Unacked jobs across all consumers of one queue (JetStream max_ack_pending). */
export const WORK_QUEUE_MAX_ACK_PENDING = 10_000;
/**
 * How long a work-queue consumer's pull request waits for jobs before the client sends another
 * (nats.js: `expires`; it asks the server for a heartbeat every half of it). It also bounds how
 * the client recovers when the node leading the consumer dies: after two missed heartbeats it
 * checks the consumer and, while the consumer has no leader yet, retries after 0.5–1.5 × this.
 * Measured on a 3-node cluster, the consumer's leader SIGKILLed while jobs flow: with nats.js's
 * default of 30 s no job was delivered for the next 25 s and more; with 5 s, for 8–10.5 s (the
 * consumer's new leader is elected in that time). Idle, it costs one pull per 5 s per consumer.
 */
export const WORK_QUEUE_PULL_EXPIRES_MS = 5_000;
/** Duplicate window for `msgId` de-duplication (JetStream's default). */
export const DUPLICATE_WINDOW_MS = 120_000;
/** Events an event-stream follower buffers ahead of its handler. */
export const FOLLOW_BUFFER_EVENTS = 256;
/** The durable consumer every process of a work queue shares. */
export const WORK_QUEUE_CONSUMER = 'workers';

export const msToNanos = (ms: number): number => ms * 1_000_000;

export class Names {
  constructor(private readonly prefix: string | undefined) {}

  subject(s: string): string {
    return this.prefix ? `${this.prefix}.${s}` : s;
  }

  /** Strips the prefix from a subject the server delivered. */
  local(s: string): string {
    return this.prefix && s.startsWith(`${this.prefix}.`) ? s.slice(this.prefix.length + 1) : s;
  }

  workQueue(name: string): { stream: string; subject: string } {
    return { stream: this.stream('WQ', name), subject: this.subject(`cpwq.${name}`) };
  }

  eventStream(name: string): { stream: string; subjectPrefix: string } {
    return { stream: this.stream('ES', name), subjectPrefix: this.subject(`cpes.${name}`) };
  }

  /** Start of the names of the streams this prefix owns (undefined without a prefix). */
  streamPrefix(): string | undefined {
    return this.prefix ? `${this.prefix}_` : undefined;
  }

  private stream(kind: string, name: string): string {
    const base = `${kind}_${name.replace(/\./g, '_')}`;
    return this.prefix ? `${this.prefix}_${base}` : base;
  }
}

/** Maps a NATS client error to our codes (`noResponders`, `timeout`, `closed`, else `unavailable`). */
export function mapNatsError(err: unknown, what: string): CellplaneError {
  if (err instanceof CellplaneError) return err;
  if (err instanceof errors.RequestError && err.isNoResponders())
    return new CellplaneError('noResponders', `no responders for ${what}`, { cause: err });
  if (err instanceof errors.NoRespondersError)
    return new CellplaneError('noResponders', `no responders for ${what}`, { cause: err });
  if (
    err instanceof errors.TimeoutError ||
    (err instanceof Error && err.cause instanceof errors.TimeoutError)
  )
    return new CellplaneError('timeout', `${what} timed out`, { cause: err });
  if (err instanceof errors.ClosedConnectionError || err instanceof errors.DrainingConnectionError)
    return new CellplaneError('closed', `the bus is closed (${what})`, { cause: err });
  if (err instanceof JetStreamApiError && /maximum (messages|bytes) exceeded/i.test(err.message))
    return new CellplaneError('overloaded', `${what}: ${err.message}`, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new CellplaneError('unavailable', `${what} failed: ${message}`, { cause: err });
}

/** Throws `invalid` unless `n` is a replica count JetStream accepts (1..MAX_STREAM_REPLICAS). */
export function checkStreamReplicas(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_STREAM_REPLICAS)
    throw new CellplaneError(
      'invalid',
      `stream replicas must be an integer from 1 to ${MAX_STREAM_REPLICAS} (JetStream's maximum), got ${n}`,
    );
}

/**
 * Adds stream `cfg`, or brings an existing one to it. The replica count only grows here: the
 * server copies a stream to more servers in place (nats-server 2.9 does, keeping its messages and
 * its consumers, which follow the stream's count), but a process asking for fewer copies than a
 * stream has is refused, not obeyed — one role started with the wrong setting would otherwise
 * take the redundancy away from every other role.
 */
export async function ensureStream(
  bus: { readonly jsm: JetStreamManager },
  cfg: Partial<StreamConfig> & { name: string; num_replicas: number },
  what: string,
): Promise<void> {
  try {
    await bus.jsm.streams.add(cfg).catch(async (err) => {
      if (!isStreamConfigConflict(err)) throw err;
      const have = (await bus.jsm.streams.info(cfg.name)).config.num_replicas;
      if (have > cfg.num_replicas)
        throw new CellplaneError(
          'invalid',
          `${what}: stream ${cfg.name} has ${have} replicas, this process asks for ${cfg.num_replicas}; set the stream replicas to ${have} (or scale the stream down first, e.g. "nats stream edit ${cfg.name} --replicas ${cfg.num_replicas}")`,
        );
      await bus.jsm.streams.update(cfg.name, cfg);
    });
  } catch (err) {
    throw mapStreamError(err, what, cfg.num_replicas);
  }
}

/** `mapNatsError`, with the server's refusals to place a stream's replicas said plainly. */
function mapStreamError(err: unknown, what: string, replicas: number): CellplaneError {
  if (err instanceof JetStreamApiError && err.code === NON_CLUSTERED_REPLICAS)
    return new CellplaneError(
      'invalid',
      `${what}: ${replicas} stream replicas need a NATS cluster; this server runs alone (${err.message})`,
      { cause: err },
    );
  if (
    err instanceof JetStreamApiError &&
    (err.code === NO_SUITABLE_PEERS || err.code === INSUFFICIENT_RESOURCES)
  )
    return new CellplaneError(
      'unavailable',
      `${what}: the NATS cluster cannot place ${replicas} replicas (${err.message}): it has fewer than ${replicas} JetStream servers, or some are down`,
      { cause: err },
    );
  return mapNatsError(err, what);
}

/** JetStream API error codes (nats-server's errors.json). */
const NON_CLUSTERED_REPLICAS = 10074;
const NO_SUITABLE_PEERS = 10005;
const INSUFFICIENT_RESOURCES = 10023;

/** True for "stream name already in use with a different configuration" (10058). */
export function isStreamConfigConflict(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === 10058;
}
