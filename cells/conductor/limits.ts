/**
 * Every limit and default of the cell conductor, named once. deploy/config.ts takes its defaults
 * from here (`ack_wait_ms`, `max_build_attempts`, `build_stall_ms`, `build_timeout_ms`); the leader
 * lease is the leader loop's (`DEFAULT_LEADER_LEASE_TTL_MS`, actors/runtime/leader-loop.ts); the
 * CAS attempts on instance records and the fault message's length are the instance store's
 * (`MAX_RECORD_CAS_ATTEMPTS`, `FAULT_MESSAGE_MAX_CHARS`, cells/instances.ts); the waits of asks
 * and host operations are the clients' (`DEFAULT_ASK_TIMEOUT_MS`, actors/runtime/client.ts;
 * `DEFAULT_OPERATION_TIMEOUT_MS`, host-agent/client.ts).
 */

// ---- the queue (runner.ts) ---------------------------------------------------------------------

/** A job not renewed for this long is redelivered (its conductor is presumed dead). */
export const DEFAULT_JOB_ACK_WAIT_MS = 30_000;
/** Renewals of a job's ack-wait per ack-wait while it is in hand (every third of it). */
export const ACK_RENEWALS_PER_WAIT = 3;
/** Jobs the leader works on at once. */
export const DEFAULT_CONDUCTOR_IN_FLIGHT = 64;
/**
 * A job still running after this long is reported (`problem` jobStuck, once): every step has a
 * timeout, so it means an await that never settles (the Redis client once dropped commands
 * without settling them). It keeps its ack-wait renewed: another run beside it could double work.
 */
export const STUCK_JOB_AFTER_MS = 10 * 60_000;
/** Delay before a job handed back with a retryable error runs again: doubles per delivery … */
export const JOB_RETRY_BASE_MS = 500;
/** … up to this. */
export const JOB_RETRY_MAX_MS = 10_000;
/** Doublings of the retry delay at most (keeps the power finite; the cap above binds first). */
export const JOB_RETRY_MAX_DOUBLINGS = 10;

// ---- the build watch (build-watch.ts) -----------------------------------------------------------

/** A build with no sign of life this long has its job queued again (config `build_stall_ms`). */
export const DEFAULT_BUILD_STALL_MS = 120_000;
/**
 * A build still in BUILD this long after it was accepted ends ERROR (Nova's
 * instance_build_timeout; config `build_timeout_ms`).
 */
export const DEFAULT_BUILD_TIMEOUT_MS = 30 * 60_000;
/** The stall bound is at least this many ack-waits: a dead leader's job comes back after one. */
export const BUILD_STALL_ACK_WAITS = 2;
/** Build watch passes per stall bound (one every quarter of it). */
export const BUILD_WATCH_PASSES_PER_STALL = 4;
/** Index members read per page. */
export const BUILD_WATCH_PAGE = 500;
/** Kicks per pass at most (the rest wait for the next pass). */
export const BUILD_WATCH_MAX_KICKS = 1_000;

// ---- one job (build.ts, move.ts) ---------------------------------------------------------------

/** Nova's [scheduler] max_attempts default: hosts tried per build (or move) before it gives up. */
export const DEFAULT_MAX_BUILD_ATTEMPTS = 3;
/** Selections per build attempt when every pick was taken by someone else (claim conflicts). */
export const MAX_SELECT_ROUNDS = 10;
/** Fresh selections after a lost race on a server group's placements. */
export const MAX_GROUP_RACES = 20;
