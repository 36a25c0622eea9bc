/**
 * Every error the Placement API answers, in one place and one shape (Placement's
 * placement/util.py json_error_formatter, webob's texts):
 *   {"errors": [{"status", "title", "detail", "code" (from microversion 1.23), "request_id"}]}
 * Handlers throw `PlacementHttpError` or return an engine `Outcome` through `unwrapOutcome`;
 * anything else thrown becomes a CellplaneError mapped by its code (ErrorCodes[code].http).
 * Details are cut at MAX_ERROR_MESSAGE_CHARS (api/common/bounded.ts): they may quote the request.
 */
import { type CellplaneError, ErrorCodes, toCellplaneError } from '../../core/errors.ts';
import { type Outcome, PlacementCodes, placementCodeOf } from '../../core/placement/operations.ts';
import { boundedText } from '../common/bounded.ts';

/** Titles and webob explanations per status, as the real service prints them. */
const STATUS: Record<number, { title: string; explanation: string }> = {
  400: {
    title: 'Bad Request',
    explanation:
      'The server could not comply with the request since it is either malformed or otherwise incorrect.',
  },
  401: {
    title: 'Unauthorized',
    explanation:
      'This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.',
  },
  403: { title: 'Forbidden', explanation: 'Access was denied to this resource.' },
  404: { title: 'Not Found', explanation: 'The resource could not be found.' },
  405: { title: 'Method Not Allowed', explanation: '' },
  406: {
    title: 'Not Acceptable',
    explanation:
      'The resource could not be generated that was acceptable to your browser (content of type application/json.',
  },
  409: { title: 'Conflict', explanation: 'There was a conflict when trying to complete your request.' },
  413: {
    title: 'Request Entity Too Large',
    explanation: 'The body of your request was too large for this server.',
  },
  414: { title: 'Request-URI Too Long', explanation: 'The request URI was too long for this server.' },
  415: { title: 'Unsupported Media Type', explanation: '' },
  500: {
    title: 'Internal Server Error',
    explanation: 'The server has either erred or is incapable of performing the requested operation.',
  },
  503: {
    title: 'Service Unavailable',
    explanation: 'The server is currently unavailable. Please try again at a later time.',
  },
  504: { title: 'Gateway Timeout', explanation: 'The gateway has timed out.' },
};

export interface PlacementHttpErrorOptions {
  /** Placement's `errors[].code` (shown from 1.23); default placement.undefined_code. */
  code?: string;
  /** A microversion negotiation failure: answered without version headers. */
  versionError?: boolean;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class PlacementHttpError extends Error {
  readonly code: string;
  readonly versionError: boolean;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly detail: string,
    opts: PlacementHttpErrorOptions = {},
  ) {
    super(detail, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PlacementHttpError';
    this.code = opts.code ?? PlacementCodes.undefined;
    this.versionError = opts.versionError ?? false;
    this.headers = opts.headers ?? {};
  }
}

export const badRequest = (detail: string, code?: string) =>
  new PlacementHttpError(400, detail, code ? { code } : {});
export const notFound = (detail: string) => new PlacementHttpError(404, detail);
export const conflict = (detail: string, code?: string) =>
  new PlacementHttpError(409, detail, code ? { code } : {});

/** The engine's refusal as the HTTP error Placement answers. */
export function fromCellplaneError(err: CellplaneError): PlacementHttpError {
  const status = ErrorCodes[err.code].http;
  return new PlacementHttpError(status, err.message, { code: placementCodeOf(err), cause: err });
}

/** The value of an engine outcome, or throws its refusal as a PlacementHttpError. */
export function unwrapOutcome<T>(o: Outcome<T>): T {
  if (!o.ok) throw fromCellplaneError(o.error);
  return o.value;
}

/** Anything thrown by a handler, as a PlacementHttpError. */
export function toHttpError(err: unknown): PlacementHttpError {
  if (err instanceof PlacementHttpError) return err;
  return fromCellplaneError(toCellplaneError(err));
}

/** webob's "explanation\n\n detail  " text (405/406/415 use their own forms). */
function detailText(status: number, detail: string, method: string, contentType: string): string {
  const exp = STATUS[status]?.explanation ?? '';
  if (status === 405) return `The method ${method} is not allowed for this resource. \n\n ${detail}`;
  if (status === 415)
    return `The request media type ${contentType} is not supported by this server. \n\n ${detail}`;
  if (status === 406) return `${exp} \n\n ${detail}`;
  return `${exp}\n\n ${detail}  `;
}

export interface ErrorContext {
  readonly requestId: string;
  readonly method: string;
  readonly contentType: string;
  /** Requested minor version, undefined when negotiation failed. */
  readonly minor: number | undefined;
}

export interface ErrorBody {
  errors: Array<Record<string, unknown>>;
}

export function errorBody(err: PlacementHttpError, ctx: ErrorContext): ErrorBody {
  const e: Record<string, unknown> = {
    status: err.status,
    title: STATUS[err.status]?.title ?? 'Error',
    detail: detailText(err.status, boundedText(err.detail), ctx.method, boundedText(ctx.contentType, 255)),
  };
  if (ctx.minor !== undefined && ctx.minor >= 23) e.code = err.code;
  e.request_id = ctx.requestId;
  if (err.status === 406 && err.versionError) {
    e.max_version = '1.39';
    e.min_version = '1.0';
  }
  return { errors: [e] };
}
