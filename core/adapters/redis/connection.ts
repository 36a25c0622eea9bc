/**
 * One ioredis connection set up for the Store: bounded reconnect back-off, commands that
 * fail (rather than queue forever) while Redis is unreachable, and no automatic resend of
 * commands in flight when a connection drops (a resent commit could apply twice).
 *
 * Every command has a timeout: without resend, ioredis DROPS the commands that were in flight
 * when a connection closed if the next connection comes up within maxRetriesPerRequest attempts
 * (a quick Redis restart) — their promises would never settle, and a conductor job awaiting one
 * would hang for good (found by the real-time simulator's redis_restart fault).
 */
import { Redis } from 'ioredis';
import { CellplaneError } from '../../errors.ts';

/** Reconnect back-off grows by this much per attempt… */
const RECONNECT_STEP_MS = 50;
/** …up to this ceiling; the client keeps trying for as long as it is open. */
const RECONNECT_MAX_MS = 1000;
/** Reconnect attempts a command waits through before it fails as `unavailable`. */
const RETRIES_PER_COMMAND = 2;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** A command without a reply after this long fails `unavailable` (it may have run). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

export interface RedisConnectionOptions {
  /** `redis://host:port[/db]`. */
  url: string;
  connectTimeoutMs?: number;
  /** Fails a command that has no reply after this long (`unavailable`; it may have run). Default DEFAULT_COMMAND_TIMEOUT_MS. */
  commandTimeoutMs?: number;
}

/** Maps anything ioredis throws to a CellplaneError: server replies are bugs, the rest is transport. */
export function mapRedisError(what: string, err: unknown): CellplaneError {
  if (err instanceof CellplaneError) return err;
  const e = err as { name?: unknown; message?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e?.name === 'ReplyError') {
    return new CellplaneError('internal', `redis refused ${what}: ${message}`, { cause: err });
  }
  return new CellplaneError('unavailable', `redis unavailable during ${what}: ${message}`, { cause: err });
}

/** Connects and waits until Redis answers; throws `unavailable` (and closes the client) if it does not. */
export async function connectRedis(opts: RedisConnectionOptions): Promise<Redis> {
  const client = new Redis(opts.url, {
    lazyConnect: true,
    connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    commandTimeout: opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: RETRIES_PER_COMMAND,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => Math.min(times * RECONNECT_STEP_MS, RECONNECT_MAX_MS),
  });
  // ioredis emits 'error' on every failed reconnect; commands report failures themselves.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw mapRedisError(`connect to ${redactUrl(opts.url)}`, err);
  }
  return client;
}

/** The URL without a password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}
