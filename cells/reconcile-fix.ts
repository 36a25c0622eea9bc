/**
 * The corrections that bring a cell's instance records back in line with what its hosts run.
 * cells/reconcile.ts finds them in its periodic pass; a power action that finds the VM gone
 * (cells/conductor/power.ts) applies `markGone` as well. Each correction writes the record
 * with CAS — a record that changed meanwhile is left alone, the next pass looks again — records an
 * instance action and returns a Correction for the conductor's log.
 *
 * Decisions, against Nova's compute manager:
 * - **The VM is gone from its host → ERROR with a fault, allocations released, no host.** Nova's
 *   `_sync_power_states` only logs "Instance is unexpectedly not found. Ignore." and leaves the
 *   server ACTIVE (issue #11 found 189 such servers). SHUTOFF would claim a stopped VM that a start
 *   could resume; there is none here, so ERROR is the honest state (a user can only delete it, as
 *   after a failed build). Its allocations are released because the host no longer holds anything
 *   for it (Nova keeps an ERROR instance's allocations for a rebuild; we have nothing to rebuild
 *   from), so Placement's usage equals what the hosts run. Written in three steps — ERROR (placement
 *   kept) → release → placement cleared — so the record names a superset of what is claimed at every
 *   moment: a crash in between leaves an ERROR record with a placement that the next pass finishes.
 * - **Power state drift → the record follows the host**, both ways: a VM that stopped or crashed
 *   under an ACTIVE record makes it SHUTOFF (what Nova reaches through its stop API); a VM running
 *   under a SHUTOFF record makes it ACTIVE. Nova stops such a VM instead (the database wins); here a
 *   VM is only started through the conductor, so a running VM under SHUTOFF means someone started it
 *   on the host on purpose, and switching it off would destroy their work. ERROR records are not
 *   touched (Nova updates only their power_state field).
 * - **A VM the records place elsewhere, or that belongs to a deleted instance → destroyed there**
 *   (Nova's `_destroy_evacuated_instances` and `running_deleted_instance_action = reap`). Its
 *   allocations are not touched: they belong to where the record places it.
 */
import type { ProviderTreeClient } from '../actors/provider-tree-client.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { WriteOp } from '../core/ports/store.ts';
import type { Versioned } from '../core/stores/records.ts';
import {
  faultMessage,
  type InstanceAction,
  type InstanceRecord,
  type InstanceStore,
  MAX_RECORD_CAS_ATTEMPTS,
  POWER,
} from './instances.ts';

type Rec = Versioned<InstanceRecord>;

/** The instance action reconcile corrections are recorded under (GET …/os-instance-actions). */
export const RECONCILE_ACTION = 'reconcile';
/** Who did it, in the action's user id: the conductor, not the instance's user. */
export const RECONCILE_USER = 'cellplane-conductor';

export type CorrectionKind = 'vmMissing' | 'powerState' | 'strayDestroyed';

/** Event names of the corrections in the instance action. */
export const CORRECTION_EVENTS: Readonly<Record<CorrectionKind, string>> = {
  vmMissing: 'conductor_reconcile_vm_missing',
  powerState: 'conductor_reconcile_power_state',
  strayDestroyed: 'conductor_reconcile_destroy_stray',
};

export interface Correction {
  readonly kind: CorrectionKind;
  readonly uuid: string;
  readonly host: string;
  /** What was found and what was done, one sentence (the log line, the action's details). */
  readonly detail: string;
}

export interface FixDeps {
  readonly instances: InstanceStore;
  readonly trees: Pick<ProviderTreeClient, 'release'>;
  readonly clock: Pick<Clock, 'now'>;
}

/** Host power states as the agents report them (host-agent/driver.ts PowerState). */
export type VmPower = 'running' | 'shutdown' | 'crashed';

/** Nothing in flight: no task, no move, a settled status. Only such records are corrected. */
export function steady(r: InstanceRecord): boolean {
  return (
    r.taskState === null &&
    !r.migration &&
    (r.status === 'ACTIVE' || r.status === 'SHUTOFF' || r.status === 'ERROR')
  );
}

/** Every host the instance may legitimately run on: its placement and a move's source and target. */
export function hostsOf(r: InstanceRecord): string[] {
  const out = new Set<string>();
  if (r.placement) out.add(r.placement.host);
  if (r.migration) {
    out.add(r.migration.source.host);
    if (r.migration.target) out.add(r.migration.target.host);
  }
  return [...out];
}

/**
 * The VM of `rec` is not on its placement's host: ERROR with a fault saying `found`, its claim on
 * that host's tree released, its placement (and group placement) cleared. Undefined when the
 * record changed under the first write (nothing done). Idempotent: an ERROR record with a
 * placement (a correction cut short) goes through the same steps.
 */
export async function markGone(
  d: FixDeps,
  rec: Rec,
  found: string,
  requestId: string,
): Promise<Correction | undefined> {
  const p = rec.value.placement;
  if (!p) return undefined;
  const now = iso(d);
  const detail = `${found}; set to ERROR, its allocations on ${p.host} released`;
  const marked = await d.instances.update(rec, {
    ...rec.value,
    status: 'ERROR',
    vmState: 'error',
    taskState: null,
    powerState: POWER.NOSTATE,
    fault: { code: 500, message: faultMessage(detail), details: detail, created: now },
    updatedAt: now,
  });
  if (!marked.ok) return undefined;
  await d.trees.release(p.root, rec.id);
  await clearPlacement(d, marked.record, p.root);
  const c: Correction = { kind: 'vmMissing', uuid: rec.id, host: p.host, detail };
  await recordCorrection(d, rec.value, c, requestId, 'Error');
  return c;
}

/** The record's power state follows the host's `vm`. Undefined when nothing differs or the record changed. */
export async function syncPower(
  d: FixDeps,
  rec: Rec,
  host: string,
  vm: VmPower,
  requestId: string,
): Promise<Correction | undefined> {
  const r = rec.value;
  const running = vm === 'running';
  if (r.status === 'ACTIVE' ? running : r.status === 'SHUTOFF' ? !running : true) return undefined;
  const to = running
    ? ({ status: 'ACTIVE', vmState: 'active', powerState: POWER.RUNNING } as const)
    : ({ status: 'SHUTOFF', vmState: 'stopped', powerState: POWER.SHUTDOWN } as const);
  const out = await d.instances.update(rec, { ...r, ...to, updatedAt: iso(d) });
  if (!out.ok) return undefined;
  const detail = `host ${host} reports the VM ${vm} while the record said ${r.status}; record set to ${to.status}`;
  const c: Correction = { kind: 'powerState', uuid: rec.id, host, detail };
  await recordCorrection(d, r, c, requestId, 'Success');
  return c;
}

/**
 * Records a correction as an event of the instance action `requestId`: the action of the request
 * that found it (a power action), or else a new `reconcile` action by the conductor in the project
 * of `owner` (undefined for a stray VM whose record is gone: the project is not known).
 */
export async function recordCorrection(
  d: FixDeps,
  owner: Pick<InstanceRecord, 'projectId'> | undefined,
  c: Correction,
  requestId: string,
  result: 'Success' | 'Error',
): Promise<void> {
  const now = iso(d);
  const event = {
    event: CORRECTION_EVENTS[c.kind],
    startTime: now,
    finishTime: now,
    result,
    details: c.detail,
    host: c.host,
  } as const;
  await d.instances.recordAction(c.uuid, requestId, (a): InstanceAction => {
    const base: InstanceAction = a ?? {
      action: RECONCILE_ACTION,
      requestId,
      userId: RECONCILE_USER,
      projectId: owner?.projectId ?? '',
      startTime: now,
      updatedAt: now,
      message: null,
      events: [],
    };
    return {
      ...base,
      updatedAt: now,
      events: [...base.events, event],
      message: result === 'Error' ? 'Error' : base.message,
    };
  });
}

/** Step 3 of markGone: placement (and group placement) cleared, if the record still names `root`. */
async function clearPlacement(d: FixDeps, rec: Rec, root: string): Promise<void> {
  for (let i = 0; i < MAX_RECORD_CAS_ATTEMPTS; i++) {
    const r = rec.value;
    if (r.status !== 'ERROR' || r.placement?.root !== root || r.taskState === 'deleting') return;
    const out = await d.instances.update(
      rec,
      { ...r, placement: null, updatedAt: iso(d) },
      await dropGroupPlacement(d.instances, r),
    );
    if (out.ok || !out.current) return;
    rec = out.current;
  }
  // Left with a placement: the next pass sees ERROR + placement + no VM and finishes it.
}

async function dropGroupPlacement(instances: InstanceStore, r: InstanceRecord): Promise<WriteOp[]> {
  if (!r.group) return [];
  const g = await instances.groups.get(r.group.uuid);
  if (!g || !(r.uuid in g.value.hosts)) return [];
  const hosts = { ...g.value.hosts };
  delete hosts[r.uuid];
  return [instances.groups.put(r.group.uuid, { hosts }, g.generation)];
}

function iso(d: FixDeps): string {
  return new Date(d.clock.now()).toISOString();
}
