/**
 * Validation of what an operator types for a cell: its name, its transport (a NATS URL or
 * a subject prefix) and its store (a Redis URL), and the host names mapped to cells.
 * Every failure is `CellplaneError('invalid')` with a message that says what is allowed.
 * Names and host names become coordinator keys, so neither may contain `/`.
 */
import { CellplaneError } from '../core/errors.ts';
import { tryParseUuid } from '../core/model/ids.ts';

/** Longest cell name; like a DNS label, so it fits in subjects, keys and hostnames. */
export const MAX_CELL_NAME_LENGTH = 63;
/** Longest host name (a fully qualified domain name). */
export const MAX_HOST_NAME_LENGTH = 253;
/** Longest transport or store URL we store. */
export const MAX_URL_LENGTH = 1024;
/** Longest disable reason we store. */
export const MAX_REASON_LENGTH = 255;

const CELL_NAME = /^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$/;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/** Dotted NATS subject tokens without wildcards, e.g. `cp.cell1`. */
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const TRANSPORT_SCHEMES = ['nats:', 'tls:', 'ws:', 'wss:', 'memory:'];
const STORE_SCHEMES = ['redis:', 'rediss:', 'memory:'];

function invalid(message: string, path: string): never {
  throw new CellplaneError('invalid', message, { details: { path } });
}

export function checkCellName(name: string): string {
  if (name.length < 1 || name.length > MAX_CELL_NAME_LENGTH || !CELL_NAME.test(name)) {
    invalid(
      `cell name ${JSON.stringify(name)} is not valid: use 1–${MAX_CELL_NAME_LENGTH} lowercase letters, digits, "-" or "_", starting and ending with a letter or digit (e.g. "cell1")`,
      'name',
    );
  }
  if (tryParseUuid(name) !== undefined) {
    invalid(
      `cell name ${JSON.stringify(name)} looks like a UUID: names and uuids must not be confused`,
      'name',
    );
  }
  return name;
}

export function checkHostName(host: string): string {
  if (host.length < 1 || host.length > MAX_HOST_NAME_LENGTH || !HOST_NAME.test(host)) {
    invalid(
      `host name ${JSON.stringify(host)} is not valid: use 1–${MAX_HOST_NAME_LENGTH} letters, digits, ".", "-" or "_"`,
      'host',
    );
  }
  return host;
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/**
 * A NATS URL (`nats://host:4222`, `tls://…`, `ws(s)://…`, `memory://…`), the URLs of a cell's own
 * NATS cluster separated by commas, or a subject prefix (`cp.cell1`).
 */
export function checkTransport(value: string): string {
  if (value.length > MAX_URL_LENGTH)
    invalid(`transport is longer than ${MAX_URL_LENGTH} characters`, 'transport');
  if (SUBJECT_PREFIX.test(value)) return value;
  const urls = value.split(',').map(parseUrl);
  if (urls.some((url) => !url || !TRANSPORT_SCHEMES.includes(url.protocol))) {
    invalid(
      `transport ${JSON.stringify(value)} is neither a NATS URL (${TRANSPORT_SCHEMES.map((s) => `${s}//`).join(', ')}; a cluster's separated by commas) nor a subject prefix of dotted tokens without wildcards (e.g. "cp.cell1")`,
      'transport',
    );
  }
  return value;
}

/** A Redis URL (`redis://host:6379/0`, `rediss://…`) or `memory://<name>` for the embedded store. */
export function checkStore(value: string): string {
  if (value.length > MAX_URL_LENGTH) invalid(`store is longer than ${MAX_URL_LENGTH} characters`, 'store');
  const url = parseUrl(value);
  if (!url || !STORE_SCHEMES.includes(url.protocol)) {
    invalid(
      `store ${JSON.stringify(value)} is not a Redis URL: use ${STORE_SCHEMES.map((s) => `${s}//`).join(', ')} (e.g. "redis://127.0.0.1:6379/1")`,
      'store',
    );
  }
  return value;
}

export function checkReason(reason: string): string {
  if (reason.length > MAX_REASON_LENGTH) {
    invalid(`disable reason is longer than ${MAX_REASON_LENGTH} characters`, 'reason');
  }
  return reason;
}
