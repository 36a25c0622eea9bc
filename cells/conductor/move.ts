/**
 * Moving an instance within its cell, as Nova does: resize and cold migrate (→ VERIFY_RESIZE,
 * then confirmResize or revertResize) and evacuate (off a host declared dead). Same discipline as
 * the build (build.ts): the record's `migration` (cells/instances.ts) says at every moment what
 * may be claimed or running, so a redelivered job finishes or undoes the move.
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
 * evacuate (API: host down, task rebuilding): select elsewhere ─► record target ─► claim ─►
 *   spawn ─► ACTIVE on the target, migration done ─► release the source claim, destroy on the
 *   dead source without waiting (best effort) ─► migration cleared. No host: ERROR with a fault.
 *
 * confirmResize and revertResize (the end of a resize in VERIFY_RESIZE) are in confirm.ts; what
 * the moves share in move-steps.ts.
 */
import type { HostPick } from '../../actors/scheduler-shard-messages.ts';
import { toCellplaneError } from '../../core/errors.ts';
import type { ConductorJob } from '../conductor-jobs.ts';
import {
  faultMessage,
  finishEvent,
  type InstanceFault,
  type InstanceMigration,
  type InstancePlacement,
  MAX_RECORD_CAS_ATTEMPTS,
  type MigrationKind,
  POWER,
  startEvent,
} from '../instances.ts';
import { claimWhileLive, undoForDelete } from './claim-guard.ts';
import { MAX_SELECT_ROUNDS } from './limits.ts';
import {
  casExhausted,
  change,
  finishConductorEvent,
  MOVE_ACTIONS,
  moveBase,
  moveKindOf,
  reindexShape,
  statusOf,
} from './move-steps.ts';
import {
  type ConductorSteps,
  describe,
  isInfrastructure,
  type Rec,
  rankPicks,
  retryLater,
  spawnSpec,
} from './steps.ts';

type Step = { kind: 'done' } | { kind: 'next' | 'fatal'; rec: Rec; reason: string };

export async function move(s: ConductorSteps, job: ConductorJob): Promise<void> {
  let rec = await begin(s, job, moveKindOf(job.op));
  if (!rec) return;
  const m = () => rec!.value.migration!;
  if (m().status === 'done') return releaseSource(s, rec, job);
  if (m().status !== 'pre-migrating') return; // arrived already (VERIFY_RESIZE or later)
  let last = 'no host tried';
  if (m().target) {
    const step = await resumeTarget(s, rec, job);
    if (step.kind === 'done') return;
    rec = step.rec;
    last = step.reason;
    if (step.kind === 'fatal') return giveUp(s, rec, job, last);
  }
  for (let round = 0; round < MAX_SELECT_ROUNDS; round++) {
    const ignore = [m().source.host, ...m().triedHosts];
    const group = await s.groupHosts(rec.value);
    const replies = await s.selectAll(rec.value, round, group.hosts, {
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
      const step = await tryTarget(s, rec, pick, job);
      if (step.kind === 'done') return;
      rec = step.rec;
      last = step.reason;
      if (step.kind === 'fatal') return giveUp(s, rec, job, last);
      if (m().triedHosts.length >= s.maxAttempts)
        return giveUp(
          s,
          rec,
          job,
          `Exceeded maximum number of retries. Exhausted all hosts available for retrying the ${m().kind} of instance ${job.uuid}. Last: ${last}`,
        );
    }
  }
  return giveUp(s, rec, job, last);
}

/** The record with this job's migration: created now if the API's task is still waiting for it. */
async function begin(s: ConductorSteps, job: ConductorJob, kind: MigrationKind): Promise<Rec | undefined> {
  let rec = await s.d.instances.get(job.uuid);
  for (let i = 0; rec && i < MAX_RECORD_CAS_ATTEMPTS; i++) {
    const r = rec.value;
    if (r.taskState === 'deleting') return undefined;
    if (r.migration) return r.migration.requestId === job.requestId ? rec : undefined;
    // Not (or no longer) this request's task: a duplicate of a finished move, or superseded.
    if (r.requestId !== job.requestId || r.taskState !== MOVE_ACTIONS[kind].prepTask || !r.placement)
      return undefined;
    const now = s.now();
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
    const out = await s.d.instances.update(rec, { ...r, migration, updatedAt: now });
    if (out.ok) {
      const base = s.actionBase(job, MOVE_ACTIONS[kind].action);
      await s.d.instances.recordAction(
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

async function tryTarget(s: ConductorSteps, rec: Rec, pick: HostPick, job: ConductorJob): Promise<Step> {
  const target: InstancePlacement = {
    host: pick.host,
    node: pick.node,
    root: pick.root,
    allocations: pick.allocations,
  };
  const kind = rec.value.migration!.kind;
  const placed = await change(s, rec, (r) => ({
    ...r,
    taskState: kind === 'evacuation' ? 'rebuild_spawning' : 'resize_migrating',
    migration: { ...r.migration!, target },
  }));
  if (!placed) return { kind: 'done' };
  rec = placed;
  const claimed = await claimWhileLive(s.d, rec.value, pick);
  if ('gone' in claimed) return { kind: 'done' };
  if (!claimed.ok) {
    s.emit({ type: 'conflict', uuid: job.uuid, host: pick.host });
    return dropTarget(s, rec, `claim conflict (${claimed.conflict.reason}) on ${pick.host}`, false);
  }
  return onTarget(s, rec, job);
}

/** After a crash with a target recorded: claim it again (a replay if it was made), go on. */
async function resumeTarget(s: ConductorSteps, rec: Rec, job: ConductorJob): Promise<Step> {
  const t = rec.value.migration!.target!;
  const claimed = await claimWhileLive(s.d, rec.value, t);
  if ('gone' in claimed) return { kind: 'done' };
  if (!claimed.ok)
    return dropTarget(s, rec, `claim conflict (${claimed.conflict.reason}) on ${t.host}`, false);
  return onTarget(s, rec, job);
}

/** Target claimed: stop the source (resize/migrate), spawn on the target, arrive. */
async function onTarget(s: ConductorSteps, rec: Rec, job: ConductorJob): Promise<Step> {
  let m = rec.value.migration!;
  const t = m.target!;
  if (m.kind !== 'evacuation' && m.previousVmState === 'active') {
    if (!m.sourceStopped) {
      const marked = await change(s, rec, (r) => ({
        ...r,
        migration: { ...r.migration!, sourceStopped: true },
      }));
      if (!marked) return { kind: 'done' };
      rec = marked;
      m = rec.value.migration!;
    }
    try {
      await s.d.hosts.stop(m.source.host, job.uuid);
    } catch (err) {
      if (isInfrastructure(err)) throw retryLater(err);
      if (toCellplaneError(err).code !== 'notFound') {
        await s.d.trees.release(t.root, job.uuid);
        return dropTarget(s, rec, `stop on ${m.source.host}: ${describe(err)}`, false, 'fatal');
      }
    }
  }
  const ev = MOVE_ACTIONS[m.kind].compute;
  await s.d.instances.recordAction(
    job.uuid,
    job.requestId,
    startEvent(moveBase(s, job, m), ev, s.now(), t.host),
  );
  try {
    await s.d.hosts.spawn(t.host, spawnSpec(rec.value, t));
  } catch (err) {
    const verdict = s.d.hosts.spawnVerdict(err);
    if (verdict === 'retryLater') throw retryLater(err);
    const reason = `spawn on ${t.host}: ${describe(err)}`;
    await s.d.trees.release(t.root, job.uuid); // released before the record forgets it
    await s.d.instances.recordAction(job.uuid, job.requestId, finishEvent(ev, s.now(), 'Error', reason));
    if (verdict === 'reschedule') s.emit({ type: 'reschedule', uuid: job.uuid, host: t.host, reason });
    return dropTarget(s, rec, reason, true, verdict === 'fatal' ? 'fatal' : 'next');
  }
  if (m.previousVmState === 'stopped') {
    try {
      await s.d.hosts.stop(t.host, job.uuid);
    } catch (err) {
      if (isInfrastructure(err)) throw retryLater(err);
    }
  }
  await s.d.instances.recordAction(job.uuid, job.requestId, finishEvent(ev, s.now(), 'Success'));
  return arrive(s, rec, job);
}

/** The target is given up (nothing held there any more): forget it, maybe remember it as tried. */
async function dropTarget(
  s: ConductorSteps,
  rec: Rec,
  reason: string,
  tried: boolean,
  kind: 'next' | 'fatal' = 'next',
): Promise<Step> {
  const next = await change(s, rec, (r) => {
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
async function arrive(s: ConductorSteps, rec: Rec, job: ConductorJob): Promise<Step> {
  const m = rec.value.migration!;
  const t = m.target!;
  const stopped = m.previousVmState === 'stopped';
  const evac = m.kind === 'evacuation';
  const done = await change(
    s,
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
      ...(await reindexShape(s.d.instances, r, m.newFlavor)),
      ...(await s.putGroupPlacement(r, t.host)),
    ],
  );
  if (!done) {
    await undoForDelete(s.d, job.uuid, t); // the delete may have passed the target already
    return { kind: 'done' };
  }
  s.emit({ type: 'moved', uuid: job.uuid, kind: m.kind, from: m.source.host, to: t.host });
  if (evac) {
    await releaseSource(s, done, job);
  } else {
    await finishConductorEvent(s, job, m, 'Success');
  }
  return { kind: 'done' };
}

/** Evacuated: free the dead host's claim, ask it to destroy without waiting, clear the migration. */
async function releaseSource(s: ConductorSteps, rec: Rec, job: ConductorJob): Promise<void> {
  const m = rec.value.migration!;
  if (m.source.root !== rec.value.placement?.root) await s.d.trees.release(m.source.root, job.uuid);
  // The host is down: an answer may never come. Best effort; a host that returns still
  // runs a copy until its agent is told (left to the heartbeat monitor's recovery).
  s.d.hosts.destroy(m.source.host, job.uuid).catch(() => {});
  const cleared = await change(s, rec, (r) => ({ ...r, migration: null }));
  if (!cleared) return;
  await finishConductorEvent(
    s,
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
export async function giveUp(s: ConductorSteps, rec: Rec, job: ConductorJob, reason: string): Promise<void> {
  const m = rec.value.migration!;
  if (m.target && m.target.root !== m.source.root) await s.d.trees.release(m.target.root, job.uuid);
  let details = reason;
  if (m.kind !== 'evacuation' && m.sourceStopped) {
    try {
      await s.d.hosts.start(m.source.host, job.uuid);
    } catch (err) {
      if (isInfrastructure(err)) throw retryLater(err);
      details = `${reason}; start on ${m.source.host}: ${describe(err)}`;
    }
  }
  const now = s.now();
  const fault: InstanceFault = { code: 500, message: faultMessage(reason), details, created: now };
  const evac = m.kind === 'evacuation';
  const back = await change(s, rec, (r) => ({
    ...r,
    status: evac ? 'ERROR' : statusOf(m.previousVmState),
    vmState: evac ? 'error' : m.previousVmState,
    taskState: null,
    powerState: evac ? POWER.NOSTATE : m.previousVmState === 'stopped' ? POWER.SHUTDOWN : r.powerState,
    migration: null,
    fault,
  }));
  if (!back) return;
  await finishConductorEvent(s, job, m, 'Error', details);
  s.emit({ type: 'error', uuid: job.uuid, reason });
}

/**
 * A move job that cannot run (a bug, a corrupt record): an unfinished move is undone as if no
 * host had been found (true: its action says why); a stuck confirm/revert goes back to
 * VERIFY_RESIZE so it can be asked again, a move refused before it began drops the API's task
 * (false: the caller marks the action failed).
 */
export async function abandonMove(s: ConductorSteps, job: ConductorJob, reason: string): Promise<boolean> {
  const rec = await s.d.instances.get(job.uuid);
  const m = rec?.value.migration;
  if (!rec) return false;
  if (!m) {
    // Refused before the move began: only the API's task is to undo.
    const kind =
      job.op === 'resize' || job.op === 'migrate' || job.op === 'evacuate' ? moveKindOf(job.op) : undefined;
    const r = rec.value;
    if (!kind || r.requestId !== job.requestId || r.taskState !== MOVE_ACTIONS[kind].prepTask) return false;
    await s.d.instances.update(rec, {
      ...r,
      status: statusOf(r.vmState),
      taskState: null,
      updatedAt: s.now(),
    });
    return false;
  }
  if (job.op === 'confirmResize' || job.op === 'revertResize') {
    if (m.status !== 'confirming' && m.status !== 'reverting') return false;
    await change(s, rec, (r) => ({
      ...r,
      status: 'VERIFY_RESIZE',
      taskState: null,
      migration: { ...r.migration!, status: 'finished' },
    }));
    return false;
  }
  if (m.requestId !== job.requestId || m.status !== 'pre-migrating') return false;
  await giveUp(s, rec, job, reason);
  return true;
}
