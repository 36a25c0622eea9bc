/**
 * Moving an instance within its cell, as Nova does: resize and cold migrate (→ VERIFY_RESIZE,
 * then confirmResize or revertResize) and evacuate (off a host declared dead). Same discipline as
 * the build (cells/conductor-ops.ts): the record's `migration` (cells/instances.ts) says at every
 * moment what may be claimed or running, so a redelivered job finishes or undoes the move.
 *
 * Consumers — the instance uuid holds BOTH claims while a move lasts: the old flavor on the
 * source tree, the new flavor on the target tree. Nova needs a migration uuid as a second
 * consumer because a Placement consumer's allocations span every provider and a PUT replaces
 * them all; a cellplane claim replaces only what the consumer holds in ONE tree, and the source
 * and target are different hosts (the source is in ignoreHosts), hence different trees. So
 * confirm = release on the source tree, revert = release on the target tree, and no step ever
 * has to re-key a claim (which would need the capacity twice, or free it for a moment).
 *
 * Crash safety, the invariant: the record always names a superset of what is claimed and
 * spawned. A target is written before it is claimed and spawned on; a claim is released before
 * the record stops naming it. Claims, releases, spawns, stops and destroys are idempotent, so a
 * job resumed from the record can repeat any step.
 *
 * resize/migrate: task resize_prep (API) ─ migration pre-migrating, select on the new flavor
 *   ignoring the source host ─► per pick: record target ─► claim (conflict → next pick) ─► record
 *   sourceStopped ─► stop on source ─► spawn on target (reschedulable failure → release, next pick)
 *   ─► VERIFY_RESIZE: placement = target, flavor = new (usage index moved), migration finished.
 *   No host / attempts spent / fatal: release, start the source again, back to its vm_state
 *   with a fault (Nova's migrate_server NoValidHost handling).
 * confirmResize (API: migration confirming): destroy on source (a dead source is skipped) ─►
 *   release the source claim ─► ACTIVE (or SHUTOFF), migration cleared.
 * revertResize (API: migration reverting): destroy on target ─► release the target claim ─►
 *   start on source ─► placement/flavor restored, ACTIVE (or SHUTOFF), migration cleared.
 * evacuate (API: host down, task rebuilding): select elsewhere ─► record target ─► claim ─►
 *   spawn ─► ACTIVE on the target, migration done ─► release the source claim, destroy on the
 *   dead source without waiting (best effort) ─► migration cleared. No host: ERROR with a fault.
 *
 * (~650 lines: the five operations share the CAS helper and the give-up path; confirm/revert
 * could move to their own file if it grows.)
 */
import type { HostPick, SelectReply } from '../../actors/scheduler-shard-messages.ts';
import { CellplaneError, toCellplaneError } from '../../core/errors.ts';
import type { WriteOp } from '../../core/ports/store.ts';
import type { Versioned } from '../../core/stores/records.ts';
import type { ConductorJob } from '../conductor-jobs.ts';
import {
  finishEvent,
  type InstanceAction,
  type InstanceFault,
  type InstanceFlavor,
  type InstanceMigration,
  type InstancePlacement,
  type InstanceRecord,
  type InstanceStore,
  type MigrationKind,
  POWER,
  shapeOf,
  startEvent,
  usageIndex,
  type VmState,
} from '../instances.ts';
import { claimWhileLive, undoForDelete } from './claim-guard.ts';
import {
  type ConductorDeps,
  type ConductorEvent,
  describe,
  isInfrastructure,
  MAX_SELECT_ROUNDS,
  rankPicks,
  retryLater,
  type SelectOverrides,
  spawnSpec,
} from './ops.ts';

type Rec = Versioned<InstanceRecord>;
type Step = { kind: 'done' } | { kind: 'next' | 'fatal'; rec: Rec; reason: string };

/** Attempts of one CAS change before the job is handed back to run again. */
const MAX_CAS_ATTEMPTS = 10;

/** Nova's instance action and event names per kind of move. */
export const MOVE_ACTIONS: Readonly<
  Record<MigrationKind, { action: string; conductor: string; compute: string; prepTask: string }>
> = {
  resize: {
    action: 'resize',
    conductor: 'cold_migrate',
    compute: 'compute_finish_resize',
    prepTask: 'resize_prep',
  },
  migration: {
    action: 'migrate',
    conductor: 'cold_migrate',
    compute: 'compute_finish_resize',
    prepTask: 'resize_prep',
  },
  evacuation: {
    action: 'evacuate',
    conductor: 'rebuild_server',
    compute: 'compute_rebuild_instance',
    prepTask: 'rebuilding',
  },
};
export const CONFIRM_EVENT = 'compute_confirm_resize';
export const REVERT_EVENT = 'compute_revert_resize';

/** What the move needs of ConductorOps (shared with the build). */
export interface MoveKit {
  selectAll(
    r: InstanceRecord,
    round: number,
    groupHosts: Record<string, string>,
    o: SelectOverrides,
  ): Promise<SelectReply[]>;
  groupHosts(r: InstanceRecord): Promise<{ hosts: Record<string, string> }>;
  actionBase(job: ConductorJob, action: string): Omit<InstanceAction, 'events' | 'message' | 'updatedAt'>;
  now(): string;
  emit(e: ConductorEvent): void;
}

export function moveKindOf(op: ConductorJob['op']): MigrationKind {
  if (op === 'resize') return 'resize';
  if (op === 'migrate') return 'migration';
  if (op === 'evacuate') return 'evacuation';
  throw new CellplaneError('internal', `${op} is not a move`);
}

export class MoveOps {
  constructor(
    private readonly d: ConductorDeps,
    private readonly k: MoveKit,
    private readonly maxAttempts: number,
  ) {}

  // ---- resize / migrate / evacuate ------------------------------------------------------------

  async move(job: ConductorJob): Promise<void> {
    let rec = await this.begin(job, moveKindOf(job.op));
    if (!rec) return;
    const m = () => rec!.value.migration!;
    if (m().status === 'done') return this.releaseSource(rec, job);
    if (m().status !== 'pre-migrating') return; // arrived already (VERIFY_RESIZE or later)
    let last = 'no host tried';
    if (m().target) {
      const step = await this.resumeTarget(rec, job);
      if (step.kind === 'done') return;
      rec = step.rec;
      last = step.reason;
      if (step.kind === 'fatal') return this.giveUp(rec, job, last);
    }
    for (let round = 0; round < MAX_SELECT_ROUNDS; round++) {
      const ignore = [m().source.host, ...m().triedHosts];
      const group = await this.k.groupHosts(rec.value);
      const replies = await this.k.selectAll(rec.value, round, group.hosts, {
        id: `${job.uuid}:${m().requestId}:${m().triedHosts.length}:${round}`,
        flavor: m().newFlavor,
        ignoreHosts: ignore,
        ...(m().requestedHost ? { forceHost: m().requestedHost! } : {}),
      });
      const picks = rankPicks(replies).filter((p) => !ignore.includes(p.host));
      if (picks.length === 0) {
        last = `No valid host was found. ${replies.map((r) => `shard ${r.shard}: ${r.message}`).join('; ')}`;
        if (replies.every((r) => !r.retryable || r.outcome === 'selected')) break;
        continue;
      }
      for (const pick of picks) {
        const step = await this.tryTarget(rec, pick, job);
        if (step.kind === 'done') return;
        rec = step.rec;
        last = step.reason;
        if (step.kind === 'fatal') return this.giveUp(rec, job, last);
        if (m().triedHosts.length >= this.maxAttempts)
          return this.giveUp(
            rec,
            job,
            `Exceeded maximum number of retries. Exhausted all hosts available for retrying the ${m().kind} of instance ${job.uuid}. Last: ${last}`,
          );
      }
    }
    return this.giveUp(rec, job, last);
  }

  /** The record with this job's migration: created now if the API's task is still waiting for it. */
  private async begin(job: ConductorJob, kind: MigrationKind): Promise<Rec | undefined> {
    let rec = await this.d.instances.get(job.uuid);
    for (let i = 0; rec && i < MAX_CAS_ATTEMPTS; i++) {
      const r = rec.value;
      if (r.taskState === 'deleting') return undefined;
      if (r.migration) return r.migration.requestId === job.requestId ? rec : undefined;
      // Not (or no longer) this request's task: a duplicate of a finished move, or superseded.
      if (r.requestId !== job.requestId || r.taskState !== MOVE_ACTIONS[kind].prepTask || !r.placement)
        return undefined;
      const now = this.k.now();
      const migration: InstanceMigration = {
        kind,
        requestId: job.requestId,
        status: 'pre-migrating',
        source: r.placement,
        target: null,
        oldFlavor: r.flavor,
        newFlavor: kind === 'resize' && job.flavor ? job.flavor : r.flavor,
        triedHosts: [],
        ...(job.host ? { requestedHost: job.host } : {}),
        previousVmState: r.vmState,
        startedAt: now,
      };
      const out = await this.d.instances.update(rec, { ...r, migration, updatedAt: now });
      if (out.ok) {
        const base = this.k.actionBase(job, MOVE_ACTIONS[kind].action);
        await this.d.instances.recordAction(
          job.uuid,
          job.requestId,
          startEvent(base, MOVE_ACTIONS[kind].conductor, now),
        );
        return out.record;
      }
      rec = out.current;
    }
    if (rec) throw casExhausted(job.uuid);
    return undefined;
  }

  private async tryTarget(rec: Rec, pick: HostPick, job: ConductorJob): Promise<Step> {
    const target: InstancePlacement = {
      host: pick.host,
      node: pick.node,
      root: pick.root,
      allocations: pick.allocations,
    };
    const kind = rec.value.migration!.kind;
    const placed = await this.change(rec, (r) => ({
      ...r,
      taskState: kind === 'evacuation' ? 'rebuild_spawning' : 'resize_migrating',
      migration: { ...r.migration!, target },
    }));
    if (!placed) return { kind: 'done' };
    rec = placed;
    const claimed = await claimWhileLive(this.d, rec.value, pick);
    if ('gone' in claimed) return { kind: 'done' };
    if (!claimed.ok) {
      this.k.emit({ type: 'conflict', uuid: job.uuid, host: pick.host });
      return this.dropTarget(rec, `claim conflict (${claimed.conflict.reason}) on ${pick.host}`, false);
    }
    return this.onTarget(rec, job);
  }

  /** After a crash with a target recorded: claim it again (a replay if it was made), go on. */
  private async resumeTarget(rec: Rec, job: ConductorJob): Promise<Step> {
    const t = rec.value.migration!.target!;
    const claimed = await claimWhileLive(this.d, rec.value, t);
    if ('gone' in claimed) return { kind: 'done' };
    if (!claimed.ok)
      return this.dropTarget(rec, `claim conflict (${claimed.conflict.reason}) on ${t.host}`, false);
    return this.onTarget(rec, job);
  }

  /** Target claimed: stop the source (resize/migrate), spawn on the target, arrive. */
  private async onTarget(rec: Rec, job: ConductorJob): Promise<Step> {
    let m = rec.value.migration!;
    const t = m.target!;
    if (m.kind !== 'evacuation' && m.previousVmState === 'active') {
      if (!m.sourceStopped) {
        const marked = await this.change(rec, (r) => ({
          ...r,
          migration: { ...r.migration!, sourceStopped: true },
        }));
        if (!marked) return { kind: 'done' };
        rec = marked;
        m = rec.value.migration!;
      }
      try {
        await this.d.hosts.stop(m.source.host, job.uuid);
      } catch (err) {
        if (isInfrastructure(err)) throw retryLater(err);
        if (toCellplaneError(err).code !== 'notFound') {
          await this.d.trees.release(t.root, job.uuid);
          return this.dropTarget(rec, `stop on ${m.source.host}: ${describe(err)}`, false, 'fatal');
        }
      }
    }
    const ev = MOVE_ACTIONS[m.kind].compute;
    await this.d.instances.recordAction(
      job.uuid,
      job.requestId,
      startEvent(this.base(job, m), ev, this.k.now(), t.host),
    );
    try {
      await this.d.hosts.spawn(t.host, spawnSpec(rec.value, t));
    } catch (err) {
      const verdict = this.d.hosts.spawnVerdict(err);
      if (verdict === 'retryLater') throw retryLater(err);
      const reason = `spawn on ${t.host}: ${describe(err)}`;
      await this.d.trees.release(t.root, job.uuid); // released before the record forgets it
      await this.d.instances.recordAction(
        job.uuid,
        job.requestId,
        finishEvent(ev, this.k.now(), 'Error', reason),
      );
      if (verdict === 'reschedule') this.k.emit({ type: 'reschedule', uuid: job.uuid, host: t.host, reason });
      return this.dropTarget(rec, reason, true, verdict === 'fatal' ? 'fatal' : 'next');
    }
    if (m.previousVmState === 'stopped') {
      try {
        await this.d.hosts.stop(t.host, job.uuid);
      } catch (err) {
        if (isInfrastructure(err)) throw retryLater(err);
      }
    }
    await this.d.instances.recordAction(job.uuid, job.requestId, finishEvent(ev, this.k.now(), 'Success'));
    return this.arrive(rec, job);
  }

  /** The target is given up (nothing held there any more): forget it, maybe remember it as tried. */
  private async dropTarget(
    rec: Rec,
    reason: string,
    tried: boolean,
    kind: 'next' | 'fatal' = 'next',
  ): Promise<Step> {
    const next = await this.change(rec, (r) => {
      const m = r.migration!;
      const host = m.target?.host;
      return {
        ...r,
        migration: {
          ...m,
          target: null,
          triedHosts: tried && host ? [...m.triedHosts, host] : m.triedHosts,
        },
      };
    });
    return next ? { kind, rec: next, reason } : { kind: 'done' };
  }

  /** Spawned on the target: one CAS makes it the instance's placement. */
  private async arrive(rec: Rec, job: ConductorJob): Promise<Step> {
    const m = rec.value.migration!;
    const t = m.target!;
    const stopped = m.previousVmState === 'stopped';
    const evac = m.kind === 'evacuation';
    const done = await this.change(
      rec,
      (r) => ({
        ...r,
        status: evac ? (stopped ? 'SHUTOFF' : 'ACTIVE') : 'VERIFY_RESIZE',
        vmState: evac ? (stopped ? 'stopped' : 'active') : 'resized',
        taskState: null,
        powerState: stopped ? POWER.SHUTDOWN : POWER.RUNNING,
        placement: t,
        flavor: m.newFlavor,
        fault: evac ? null : r.fault,
        migration: { ...r.migration!, status: evac ? 'done' : 'finished' },
      }),
      async (r) => [
        ...(await reindexShape(this.d.instances, r, m.newFlavor)),
        ...(await groupPut(this.d.instances, r, t.host)),
      ],
    );
    if (!done) {
      await undoForDelete(this.d, job.uuid, t); // the delete may have passed the target already
      return { kind: 'done' };
    }
    this.k.emit({ type: 'moved', uuid: job.uuid, kind: m.kind, from: m.source.host, to: t.host });
    if (evac) {
      await this.releaseSource(done, job);
    } else {
      await this.finishConductorEvent(job, m, 'Success');
    }
    return { kind: 'done' };
  }

  /** Evacuated: free the dead host's claim, ask it to destroy without waiting, clear the migration. */
  private async releaseSource(rec: Rec, job: ConductorJob): Promise<void> {
    const m = rec.value.migration!;
    if (m.source.root !== rec.value.placement?.root) await this.d.trees.release(m.source.root, job.uuid);
    // The host is down: an answer may never come. Best effort; a host that returns still
    // runs a copy until its agent is told (left to the heartbeat monitor's recovery).
    this.d.hosts.destroy(m.source.host, job.uuid).catch(() => {});
    const cleared = await this.change(rec, (r) => ({ ...r, migration: null }));
    if (!cleared) return;
    await this.finishConductorEvent(
      job,
      m,
      'Success',
      `source ${m.source.host} released; destroy sent, not awaited`,
    );
  }

  /**
   * The move cannot be made: free the target, bring the source back as it was, explain.
   * Resize/migrate go back to the previous vm_state; an evacuation ends in ERROR (it runs nowhere).
   */
  async giveUp(rec: Rec, job: ConductorJob, reason: string): Promise<void> {
    const m = rec.value.migration!;
    if (m.target && m.target.root !== m.source.root) await this.d.trees.release(m.target.root, job.uuid);
    let details = reason;
    if (m.kind !== 'evacuation' && m.sourceStopped) {
      try {
        await this.d.hosts.start(m.source.host, job.uuid);
      } catch (err) {
        if (isInfrastructure(err)) throw retryLater(err);
        details = `${reason}; start on ${m.source.host}: ${describe(err)}`;
      }
    }
    const now = this.k.now();
    const fault: InstanceFault = {
      code: 500,
      message: reason.length > 255 ? `${reason.slice(0, 252)}...` : reason,
      details,
      created: now,
    };
    const evac = m.kind === 'evacuation';
    const back = await this.change(rec, (r) => ({
      ...r,
      status: evac ? 'ERROR' : statusOf(m.previousVmState),
      vmState: evac ? 'error' : m.previousVmState,
      taskState: null,
      powerState: evac ? POWER.NOSTATE : m.previousVmState === 'stopped' ? POWER.SHUTDOWN : r.powerState,
      migration: null,
      fault,
    }));
    if (!back) return;
    await this.finishConductorEvent(job, m, 'Error', details);
    this.k.emit({ type: 'error', uuid: job.uuid, reason });
  }

  // ---- confirm / revert -----------------------------------------------------------------------

  async confirm(job: ConductorJob): Promise<void> {
    const rec = await this.d.instances.get(job.uuid);
    const m = rec?.value.migration;
    if (!rec || rec.value.taskState === 'deleting' || !m || m.kind === 'evacuation') return;
    if (m.status !== 'confirming') return;
    await this.d.instances.recordAction(
      job.uuid,
      job.requestId,
      startEvent(this.k.actionBase(job, 'confirmResize'), CONFIRM_EVENT, this.k.now(), m.source.host),
    );
    const details = await this.destroyTolerant(m.source.host, job.uuid);
    if (m.source.root !== rec.value.placement?.root) await this.d.trees.release(m.source.root, job.uuid);
    const stopped = m.previousVmState === 'stopped';
    const done = await this.change(rec, (r) => ({
      ...r,
      status: stopped ? 'SHUTOFF' : 'ACTIVE',
      vmState: stopped ? 'stopped' : 'active',
      taskState: null,
      migration: null,
    }));
    if (!done) return;
    await this.d.instances.recordAction(
      job.uuid,
      job.requestId,
      finishEvent(CONFIRM_EVENT, this.k.now(), 'Success', details),
    );
  }

  async revert(job: ConductorJob): Promise<void> {
    const rec = await this.d.instances.get(job.uuid);
    const m = rec?.value.migration;
    if (!rec || rec.value.taskState === 'deleting' || !m || m.kind === 'evacuation') return;
    if (m.status !== 'reverting') return;
    const t = rec.value.placement;
    await this.d.instances.recordAction(
      job.uuid,
      job.requestId,
      startEvent(this.k.actionBase(job, 'revertResize'), REVERT_EVENT, this.k.now(), t?.host),
    );
    let details: string | undefined;
    if (t && t.root !== m.source.root) {
      details = await this.destroyTolerant(t.host, job.uuid);
      await this.d.trees.release(t.root, job.uuid);
    }
    const stopped = m.previousVmState === 'stopped';
    if (!stopped) {
      try {
        await this.d.hosts.start(m.source.host, job.uuid);
      } catch (err) {
        if (isInfrastructure(err)) throw retryLater(err);
        details = `start on ${m.source.host}: ${describe(err)}`;
      }
    }
    const done = await this.change(
      rec,
      (r) => ({
        ...r,
        status: stopped ? 'SHUTOFF' : 'ACTIVE',
        vmState: stopped ? 'stopped' : 'active',
        taskState: null,
        powerState: stopped ? POWER.SHUTDOWN : POWER.RUNNING,
        placement: m.source,
        flavor: m.oldFlavor,
        migration: null,
      }),
      async (r) => [
        ...(await reindexShape(this.d.instances, r, m.oldFlavor)),
        ...(await groupPut(this.d.instances, r, m.source.host)),
      ],
    );
    if (!done) return;
    await this.d.instances.recordAction(
      job.uuid,
      job.requestId,
      finishEvent(REVERT_EVENT, this.k.now(), 'Success', details),
    );
  }

  /**
   * A move job that cannot run (a bug, a corrupt record): an unfinished move is undone as if no
   * host had been found (true: its action says why); a stuck confirm/revert goes back to
   * VERIFY_RESIZE so it can be asked again, a move refused before it began drops the API's task
   * (false: the caller marks the action failed).
   */
  async abandon(job: ConductorJob, reason: string): Promise<boolean> {
    const rec = await this.d.instances.get(job.uuid);
    const m = rec?.value.migration;
    if (!rec) return false;
    if (!m) {
      // Refused before the move began: only the API's task is to undo.
      const kind =
        job.op === 'resize' || job.op === 'migrate' || job.op === 'evacuate' ? moveKindOf(job.op) : undefined;
      const r = rec.value;
      if (!kind || r.requestId !== job.requestId || r.taskState !== MOVE_ACTIONS[kind].prepTask) return false;
      await this.d.instances.update(rec, {
        ...r,
        status: statusOf(r.vmState),
        taskState: null,
        updatedAt: this.k.now(),
      });
      return false;
    }
    if (job.op === 'confirmResize' || job.op === 'revertResize') {
      if (m.status !== 'confirming' && m.status !== 'reverting') return false;
      await this.change(rec, (r) => ({
        ...r,
        status: 'VERIFY_RESIZE',
        taskState: null,
        migration: { ...r.migration!, status: 'finished' },
      }));
      return false;
    }
    if (m.requestId !== job.requestId || m.status !== 'pre-migrating') return false;
    await this.giveUp(rec, job, reason);
    return true;
  }

  // ---- helpers --------------------------------------------------------------------------------

  /**
   * Applies `f` to the record with CAS, retried on the current record while the same move owns it.
   * Undefined when the record is gone, being deleted, or no longer carries this move.
   */
  private async change(
    rec: Rec,
    f: (r: InstanceRecord) => InstanceRecord,
    extra?: (r: InstanceRecord) => Promise<WriteOp[]>,
  ): Promise<Rec | undefined> {
    const owner = rec.value.migration?.requestId;
    for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
      const ops = extra ? await extra(rec.value) : [];
      const out = await this.d.instances.update(rec, { ...f(rec.value), updatedAt: this.k.now() }, ops);
      if (out.ok) return out.record;
      const cur = out.current;
      if (!cur || cur.value.taskState === 'deleting' || cur.value.migration?.requestId !== owner)
        return undefined;
      rec = cur;
    }
    throw casExhausted(rec.id);
  }

  /** Destroy on a host that may be down: a host that does not answer is noted, not waited for again. */
  private async destroyTolerant(host: string, uuid: string): Promise<string | undefined> {
    try {
      await this.d.hosts.destroy(host, uuid);
      return undefined;
    } catch (err) {
      const e = toCellplaneError(err);
      if (e.code !== 'noResponders' && e.code !== 'timeout' && e.code !== 'notFound') throw err;
      return `host ${host} did not answer (${e.code}); its copy was left behind`;
    }
  }

  private base(job: ConductorJob, m: InstanceMigration) {
    return this.k.actionBase({ ...job, requestId: m.requestId }, MOVE_ACTIONS[m.kind].action);
  }

  private async finishConductorEvent(
    job: ConductorJob,
    m: InstanceMigration,
    result: 'Success' | 'Error',
    details?: string,
  ): Promise<void> {
    await this.d.instances.recordAction(job.uuid, m.requestId, (a) =>
      finishEvent(
        MOVE_ACTIONS[m.kind].conductor,
        this.k.now(),
        result,
        details,
      )(a ?? { ...this.base(job, m), message: null, updatedAt: this.k.now(), events: [] }),
    );
  }
}

function statusOf(vm: VmState): InstanceRecord['status'] {
  if (vm === 'stopped') return 'SHUTOFF';
  if (vm === 'error') return 'ERROR';
  return 'ACTIVE';
}

function casExhausted(uuid: string): CellplaneError {
  return new CellplaneError('conflict', `instance ${uuid}: record kept changing during a move`, {
    retryable: true,
  });
}

/**
 * Moves the instance's quota entry to the new flavor's shape (same commit as the flavor change):
 * usage counts the flavor the record holds, as Nova counts instance.flavor.
 */
async function reindexShape(
  instances: InstanceStore,
  r: InstanceRecord,
  to: InstanceFlavor,
): Promise<WriteOp[]> {
  const from = shapeOf(r.flavor);
  const next = shapeOf(to);
  if (from === next) return [];
  await instances.listShape(r.projectId, next);
  return [
    { op: 'unindex', index: usageIndex(r.projectId, from), member: r.uuid },
    { op: 'index', index: usageIndex(r.projectId, next), member: r.uuid },
  ];
}

/** The write that records the instance's new host in its server group's placements. */
async function groupPut(instances: InstanceStore, r: InstanceRecord, host: string): Promise<WriteOp[]> {
  if (!r.group) return [];
  const g = await instances.groups.get(r.group.uuid);
  if (g?.value.hosts[r.uuid] === host) return [];
  const hosts = { ...(g?.value.hosts ?? {}), [r.uuid]: host };
  return [instances.groups.put(r.group.uuid, { hosts }, g?.generation ?? 0)];
}
