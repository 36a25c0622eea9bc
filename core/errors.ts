/**
 * One error type for the whole control plane. Errors carry a stable `code` from the
 * registry below, a `retryable` flag and an optional `cause`. Once an error has crossed
 * a thread or the bus it is a plain object again: recognise it by `code`, never by
 * `instanceof` (STYLE.md §8). HTTP mapping happens in one place, at the API edge.
 */

/** Stable error codes. The comment says what the caller should do. */
export const ErrorCodes = {
  /** Input failed validation. Not retryable: fix the input. */
  invalid: { retryable: false, http: 400 },
  /** The thing asked for does not exist. */
  notFound: { retryable: false, http: 404 },
  /** A project's quota does not fit the request (Nova's "Quota exceeded for …"). Free some first. */
  quotaExceeded: { retryable: false, http: 403 },
  /** A compare-and-set lost: re-read and try again (or take the next alternate). */
  conflict: { retryable: true, http: 409 },
  /** Nobody is subscribed to the subject a request went to. Retry later or fail over. */
  noResponders: { retryable: true, http: 503 },
  /** A request/reply or operation did not finish in time. May have happened: be idempotent. */
  timeout: { retryable: true, http: 504 },
  /** The component was closed or is shutting down. */
  closed: { retryable: false, http: 503 },
  /** A lease expired or leadership was lost; the holder must stop acting as leader. */
  leaseLost: { retryable: true, http: 503 },
  /** A wire message had an unknown type or an unsupported major version. */
  unsupportedVersion: { retryable: false, http: 400 },
  /** A bounded queue or mailbox is full. Back off and retry. */
  overloaded: { retryable: true, http: 503 },
  /** A backing service (NATS, etcd, Redis) failed or could not be reached. */
  unavailable: { retryable: true, http: 503 },
  /** The API has the operation but this deployment does not do it (yet). Not retryable. */
  notImplemented: { retryable: false, http: 501 },
  /** A handler threw something we did not expect. A bug: report it. */
  internal: { retryable: false, http: 500 },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface WireError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown>;
}

export class CellplaneError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { cause?: unknown; details?: Record<string, unknown>; retryable?: boolean } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CellplaneError';
    this.code = code;
    this.retryable = opts.retryable ?? ErrorCodes[code].retryable;
    this.details = opts.details;
  }

  toWire(): WireError {
    const w: WireError = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.details) w.details = this.details;
    return w;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}

/** Rebuilds an error that crossed a boundary. Unknown shapes become `internal`. */
export function fromWire(w: unknown): CellplaneError {
  if (w && typeof w === 'object') {
    const o = w as Partial<WireError>;
    if (isErrorCode(o.code) && typeof o.message === 'string') {
      const opts: { details?: Record<string, unknown>; retryable?: boolean } = {};
      if (o.details) opts.details = o.details;
      if (typeof o.retryable === 'boolean') opts.retryable = o.retryable;
      return new CellplaneError(o.code, o.message, opts);
    }
  }
  return new CellplaneError('internal', `malformed error from a remote peer: ${JSON.stringify(w)}`);
}

/** Normalises anything thrown into a CellplaneError, keeping the original as `cause`. */
export function toCellplaneError(err: unknown): CellplaneError {
  if (err instanceof CellplaneError) return err;
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (e && isErrorCode(e.code) && typeof e.message === 'string') return fromWire(e);
  const message = err instanceof Error ? err.message : String(err);
  return new CellplaneError('internal', message, { cause: err });
}

/** True when `err` carries `code`, whether or not it is a CellplaneError instance. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return !!err && typeof err === 'object' && (err as { code?: unknown }).code === code;
}
