/**
 * The driver port: what a host agent needs from a hypervisor (libvirt, a bare-metal power
 * driver, the simulator's fake). Tiny on purpose; contracts are in the comments.
 *
 * A host is described as a Placement provider tree: the root provider carries the compute
 * inventories (VCPU, MEMORY_MB, DISK_GB with reserved amounts and allocation ratios) and the
 * host's traits; devices are child providers (an SR-IOV PF with SRIOV_NET_VF, a GPU with VGPU,
 * an FPGA with FPGA) with their own inventories and traits.
 *
 * Errors are CellplaneErrors recognised by `code`; a spawn failure also says what the conductor
 * should do in `details.reason` (see SpawnFailureReason) and `details.reschedule`.
 */
import { CellplaneError, type ErrorCode, toCellplaneError } from '../core/errors.ts';
import type { Inventory } from '../core/model/inventory.ts';

/** One provider of the host's tree, in Placement's shape. */
export interface ProviderDescription {
  /** Stable UUID: the same host must report the same UUIDs across restarts. */
  readonly uuid: string;
  /** Unique in the deployment (Placement requires it): `<hostname>` for the root, `<hostname>_<device>` below. */
  readonly name: string;
  /** UUID of the parent provider; absent for the root. Parents come before their children. */
  readonly parentUuid?: string;
  /** Resource class → inventory (Placement's fields, camelCase as in core/model/inventory.ts). */
  readonly inventories: Readonly<Record<string, Inventory>>;
  /** Standard (os-traits) or CUSTOM_ traits. */
  readonly traits: readonly string[];
}

export interface HostDescription {
  readonly hostname: string;
  /** e.g. `fake`, `QEMU`, `ironic`. */
  readonly hypervisorType: string;
  /** Root first, then every parent before its children. */
  readonly providers: readonly ProviderDescription[];
  /** Driver capabilities, Nova-style (`supportsRebootHard`, `supportsVgpu`, …). */
  readonly capabilities: Readonly<Record<string, boolean>>;
}

/** What an instance consumes, as the conductor claimed it in Placement. */
export interface InstanceSpec {
  /** Instance UUID. */
  readonly uuid: string;
  readonly name?: string;
  /** Resource class → amount on the root provider (VCPU, MEMORY_MB, DISK_GB). */
  readonly resources: Readonly<Record<string, number>>;
  /** Device assignments: amounts on child providers, by provider UUID. */
  readonly devices: readonly DeviceAssignment[];
}

export interface DeviceAssignment {
  readonly providerUuid: string;
  readonly resources: Readonly<Record<string, number>>;
}

/** Nova's power states that a driver can observe. */
export type PowerState = 'running' | 'shutdown' | 'crashed';
export const POWER_STATES: readonly PowerState[] = ['running', 'shutdown', 'crashed'];

export interface InstanceInfo {
  readonly uuid: string;
  readonly powerState: PowerState;
  /** When the driver last changed this instance (the injected Clock's time). */
  readonly changedAtMs: number;
}

export type RebootKind = 'soft' | 'hard';

/**
 * The hypervisor. Operations on one instance are called one at a time by the agent (it
 * serialises them per instance); operations on different instances may overlap.
 */
export interface HypervisorDriver {
  /** Static description of the host; the same object for the driver's lifetime. */
  describe(): HostDescription;
  /**
   * Creates and powers on an instance. Idempotent: spawning a UUID that is already running
   * here with the same spec resolves with its current info. Rejects with a spawn failure
   * (see `spawnFailure`) carrying `details.reason`; nothing is left behind on failure.
   */
  spawn(spec: InstanceSpec): Promise<InstanceInfo>;
  /** Removes an instance and frees its resources. Idempotent: false when it was not here. */
  destroy(uuid: string): Promise<boolean>;
  /** Soft or hard reboot; the instance ends `running`. `instanceNotHere` when it is not here. */
  reboot(uuid: string, kind: RebootKind): Promise<InstanceInfo>;
  /** Powers off (idempotent when already off). `instanceNotHere` when it is not here. */
  powerOff(uuid: string): Promise<InstanceInfo>;
  /** Powers on (idempotent when already running). `instanceNotHere` when it is not here. */
  powerOn(uuid: string): Promise<InstanceInfo>;
  /** Every instance on the host, with its power state. Cheap: no latency is simulated. */
  listInstances(): InstanceInfo[];
}

/**
 * Why a spawn failed, and what the conductor does about it:
 * - `capacity`     the host refuses: its own accounting says it is full (Placement was
 *                  wrong or stale) → reschedule to an alternate (code `conflict`);
 * - `hypervisor`   the hypervisor failed transiently → reschedule (code `unavailable`);
 * - `invalidSpec`  the request can never succeed here (unknown device, bad amounts) → ERROR
 *                  (code `invalid`, not retryable);
 * - `duplicate`    the UUID already exists here with a different spec → ERROR (code `conflict`,
 *                  not retryable).
 */
export type SpawnFailureReason = 'capacity' | 'hypervisor' | 'invalidSpec' | 'duplicate';

const FAILURE_CODES: Record<SpawnFailureReason, { code: ErrorCode; reschedule: boolean }> = {
  capacity: { code: 'conflict', reschedule: true },
  hypervisor: { code: 'unavailable', reschedule: true },
  invalidSpec: { code: 'invalid', reschedule: false },
  duplicate: { code: 'conflict', reschedule: false },
};

export function spawnFailure(
  reason: SpawnFailureReason,
  message: string,
  details: Record<string, unknown> = {},
): CellplaneError {
  const { code, reschedule } = FAILURE_CODES[reason];
  return new CellplaneError(code, message, {
    retryable: reschedule,
    details: { ...details, reason, reschedule },
  });
}

/**
 * True when the spawn is still running on the host (a second spawn of the same instance arrived
 * while the first builds): ask again later, neither a failure nor a success yet.
 */
export function spawnInProgress(err: unknown): boolean {
  const d = (err as { details?: { inProgress?: unknown } } | undefined)?.details;
  return d?.inProgress === true;
}

/** True when the conductor should try an alternate host (works on errors that crossed the bus). */
export function shouldReschedule(err: unknown): boolean {
  const d = (err as { details?: { reschedule?: unknown } } | undefined)?.details;
  return d?.reschedule === true;
}

/** What a failed spawn means to the conductor (cells/conductor/ports.ts: `InstanceHosts.spawnVerdict`). */
export type SpawnVerdict = 'reschedule' | 'fatal' | 'retryLater';

/**
 * What a spawn ask that failed means, from the error as it came back over the bus: the driver's
 * verdicts first (they carry `reschedule`, or say the spawn is still running), then what the bus
 * said — no agent answers the host (`noResponders`: it is gone, try another), no answer in time
 * or the bus is overloaded (nothing known yet: ask again later and resume). Any other coded driver
 * failure (`invalidSpec`, `duplicate`) and any unknown error is `fatal`.
 */
export function spawnVerdict(err: unknown): SpawnVerdict {
  if (spawnInProgress(err)) return 'retryLater';
  if (shouldReschedule(err)) return 'reschedule';
  const e = toCellplaneError(err);
  if ((e.details as { reason?: unknown } | undefined)?.reason !== undefined) return 'fatal';
  if (e.code === 'noResponders') return 'reschedule'; // the host's agent is gone
  if (e.code === 'timeout' || e.code === 'unavailable' || e.code === 'overloaded') return 'retryLater';
  return 'fatal';
}

/**
 * The error of an operation on an instance the host does not have: `notFound` with
 * `details.instance` (and `details.host`), so the conductor can tell "the VM is gone" from "the
 * host is not served here" (also `notFound`, without `instance`). Every driver uses it.
 */
export function instanceNotHere(host: string, uuid: string): CellplaneError {
  return new CellplaneError('notFound', `instance ${uuid} is not on host ${host}`, {
    details: { host, instance: uuid },
  });
}

/** True when `err` (also after crossing the bus) says instance `uuid` is not on its host. */
export function isInstanceNotHere(err: unknown, uuid: string): boolean {
  const e = err as { code?: unknown; details?: { instance?: unknown } } | undefined;
  return e?.code === 'notFound' && e.details?.instance === uuid;
}

/** The root provider of a description (the compute node). */
export function rootProvider(d: HostDescription): ProviderDescription {
  const root = d.providers[0];
  if (!root || root.parentUuid !== undefined)
    throw new CellplaneError('invalid', `host ${d.hostname}: the first provider must be the root`);
  return root;
}
