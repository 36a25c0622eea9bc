/**
 * Maps what etcd3 (and gRPC, and cockatiel's circuit breaker under it) throws to our
 * error codes: a lease etcd no longer knows → `leaseLost`; a call past its deadline →
 * `timeout`; a closed client → `closed`; a compacted revision → `notFound`; anything about
 * reaching the server → `unavailable`.
 */
import {
  ClientClosedError,
  EtcdLeaseInvalidError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  isRecoverableError,
} from 'etcd3';
import { CellplaneError } from '../../errors.ts';

export function fromEtcdError(err: unknown, what: string): CellplaneError {
  if (err instanceof CellplaneError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.name : '';
  const opts = { cause: err };
  if (err instanceof EtcdLeaseInvalidError || /lease not found/.test(message)) {
    return new CellplaneError('leaseLost', `${what}: lease expired or revoked (${message})`, opts);
  }
  if (err instanceof GRPCDeadlineExceededError || /deadline exceeded|request timed out/i.test(message)) {
    return new CellplaneError('timeout', `${what}: etcd did not answer in time (${message})`, opts);
  }
  if (err instanceof ClientClosedError)
    return new CellplaneError('closed', `${what}: etcd client closed`, opts);
  if (/compacted/.test(message)) {
    return new CellplaneError('notFound', `${what}: revision has been compacted (${message})`, opts);
  }
  if (
    (err instanceof Error && isRecoverableError(err)) ||
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCCancelledError ||
    name === 'BrokenCircuitError' ||
    /circuit breaker is open/.test(message) ||
    /ECONNREFUSED|UNAVAILABLE|No connection established/.test(message)
  ) {
    return new CellplaneError('unavailable', `${what}: etcd unreachable (${message})`, opts);
  }
  return new CellplaneError('internal', `${what}: ${message}`, opts);
}
