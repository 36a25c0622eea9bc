/**
 * Every error the Compute API answers, in Nova's shape (nova/api/openstack/wsgi.py `Fault`):
 *   {"<faultName>": {"code": <status>, "message": "<explanation>"}}
 * with the fault name per status (badRequest, itemNotFound, conflictingRequest, forbidden…;
 * anything else is computeFault). Handlers throw `ComputeHttpError`; anything else thrown is
 * normalised to a CellplaneError and mapped by its code (ErrorCodes[code].http). Messages are cut
 * at MAX_ERROR_MESSAGE_CHARS (api/common/bounded.ts): they may quote what the client sent.
 */
import { ErrorCodes, toCellplaneError } from '../../core/errors.ts';
import { boundedText } from '../common/bounded.ts';

const FAULT_NAMES: Readonly<Record<number, string>> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

export interface ComputeHttpErrorOptions {
  /** A microversion negotiation failure: answered without version headers. */
  versionError?: boolean;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class ComputeHttpError extends Error {
  readonly versionError: boolean;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    message: string,
    opts: ComputeHttpErrorOptions = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ComputeHttpError';
    this.versionError = opts.versionError ?? false;
    this.headers = opts.headers ?? {};
  }
}

export const badRequest = (message: string) => new ComputeHttpError(400, message);
export const forbidden = (message: string) => new ComputeHttpError(403, message);
export const notFound = (message: string) => new ComputeHttpError(404, message);
export const conflict = (message: string) => new ComputeHttpError(409, message);

/** Anything thrown by a handler, as a ComputeHttpError (CellplaneErrors by their code's status). */
export function toComputeError(err: unknown): ComputeHttpError {
  if (err instanceof ComputeHttpError) return err;
  const ce = toCellplaneError(err);
  const status = ErrorCodes[ce.code].http;
  // 5xx texts come from our internals: say what happened without leaking stack details.
  const message =
    status >= 500
      ? `Unexpected API Error (${ce.code}): ${ce.message}. Please report this at the cellplane issue tracker.`
      : ce.message;
  return new ComputeHttpError(status, message, { cause: err });
}

export function faultName(status: number): string {
  return FAULT_NAMES[status] ?? 'computeFault';
}

export function errorBody(err: ComputeHttpError): Record<string, { code: number; message: string }> {
  return { [faultName(err.status)]: { code: err.status, message: boundedText(err.message) } };
}
