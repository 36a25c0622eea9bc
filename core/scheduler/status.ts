/**
 * What a filter says about one host: a `Status` with a code whose consequence is fixed here
 * (Kubernetes scheduler framework style). Reasons are short, stable and low-cardinality (never a
 * host name): explain.ts counts rejections per stage and reason, and metrics label by them.
 */

export const StatusCodes = {
  /** The host passes this stage. */
  success: 'the host passes; evaluation continues with the next stage',
  /**
   * The host fails now, but could pass once its state changes (free capacity, group members):
   * the pipeline re-evaluates it for the next instance of a batch and for the next request.
   */
  unschedulable: 'rejected for this placement only; re-evaluated after any assume/forget',
  /**
   * The host fails on static attributes (traits, aggregates, zone, service state): every host of
   * its class fails too, so a class-cacheable stage's rejection is cached for the whole class for
   * the rest of the request. A request rejected only this way will not fit on a retry either.
   */
  unschedulableAndUnresolvable: 'rejected with its whole host class; retrying the request will not help',
  /** The stage itself failed (a bug or bad arguments): the request fails with `internal`. */
  error: 'the stage failed; the request is aborted',
} as const;

export type StatusCode = keyof typeof StatusCodes;

export interface Status {
  readonly code: StatusCode;
  /** Stable, low-cardinality reason ('insufficient VCPU'), empty for success. */
  readonly reason: string;
  /** The stage that produced it ('' for success). */
  readonly stage: string;
}

/** The one success value: filters return it on the pass path, so passing allocates nothing. */
export const OK: Status = Object.freeze({ code: 'success', reason: '', stage: '' });

export function isOk(s: Status): boolean {
  return s.code === 'success';
}

/** A frozen rejection; stages build theirs once per request (in `prepare`), not per host. */
export function reject(
  stage: string,
  reason: string,
  code: Exclude<StatusCode, 'success'> = 'unschedulable',
): Status {
  return Object.freeze({ code, reason, stage });
}
