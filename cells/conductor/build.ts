/**
 * The build of one instance, as a resumable state machine over its record (steps.ts):
 *
 *   BUILD/scheduling ─ select on every shard, rank the picks ─► for each pick:
 *     record placement (+ the group's placements, one commit, CAS) ─► claim on the tree actor
 *     with the snapshot's generations ─► spawn on the host agent ─► ACTIVE.
 *   claim conflict → clear placement, next pick; reschedulable spawn failure → release, remember
 *   the host, next pick (at most `maxBuildAttempts` hosts, Nova's max_attempts); any other
 *   failure, no valid host, or attempts spent → ERROR with a fault saying why.
 *   resume (record has a placement): claim the same allocations again (idempotent for the holder;
 *   if it was never committed, it is made now or conflicts) and spawn again (idempotent on the
 *   agent), else undo and select again.
 *   raced (the placement's CAS lost to another writer): never written over — a record that left
 *   BUILD is done, one that holds a placement is resumed, else the group changed: select again.
 */
import type { HostPick } from '../../actors/scheduler-shard-messages.ts';
import { CellplaneError } from '../../core/errors.ts';
import type { WriteOp } from '../../core/ports/store.ts';
import type { ConductorJob } from '../conductor-jobs.ts';
import { finishEvent, type InstancePlacement, startEvent } from '../instances.ts';
import { claimWhileLive } from './claim-guard.ts';
import { MAX_GROUP_RACES, MAX_SELECT_ROUNDS } from './limits.ts';
import {
  BUILD_EVENT,
  type ConductorSteps,
  describe,
  type GroupView,
  type Rec,
  rankPicks,
  retryLater,
  spawnSpec,
} from './steps.ts';

type PickStep =
  | { kind: 'done' }
  | { kind: 'raced'; rec: Rec }
  | { kind: 'next' | 'fatal'; rec: Rec; reason: string };

export async function build(s: ConductorSteps, job: ConductorJob): Promise<void> {
  let rec = await s.d.instances.get(job.uuid);
  if (!rec) {
    if (!job.record) throw new CellplaneError('invalid', `build job for ${job.uuid} carries no record`);
    // No record, but a delete among its actions (they outlive the record): a delete finished
    // before this build job ran again (redelivered after its conductor died). Building it now
    // would bring a deleted server back.
    if ((await s.d.instances.actionsOf(job.uuid)).some((a) => a.action === 'delete')) return;
    await s.d.instances.create(job.record, s.newAction(job, 'create'));
    rec = await s.d.instances.get(job.uuid);
    if (!rec) throw new CellplaneError('unavailable', `instance ${job.uuid}: record vanished after create`);
  }
  if (rec.value.status !== 'BUILD' || rec.value.taskState === 'deleting') return; // done or superseded
  const action = s.actionBase(job, 'create');
  let last = 'no host tried';
  if (rec.value.placement) {
    const resumed = await resume(s, rec, job);
    if (resumed.done) return;
    rec = resumed.rec;
    last = resumed.reason ?? last;
  }
  let races = 0;
  for (let round = 0; round < MAX_SELECT_ROUNDS; round++) {
    let group = await s.groupHosts(rec.value);
    const replies = await s.selectAll(rec.value, round, group.hosts);
    const picks = rankPicks(replies).filter((p) => !rec!.value.triedHosts.includes(p.host));
    if (picks.length === 0) {
      const why = replies.map((r) => `shard ${r.shard}: ${r.message}`).join('; ');
      last = `No valid host was found. ${why}`;
      if (replies.every((r) => !r.retryable || r.outcome === 'selected')) break;
      continue;
    }
    let raced = false;
    for (const pick of picks) {
      const step = await tryPick(s, rec, pick, group, job, action);
      if (step.kind === 'done') return;
      rec = step.rec;
      if (step.kind === 'raced') {
        raced = true;
        break;
      }
      last = step.reason;
      if (step.kind === 'fatal') return s.fail(rec, job, step.reason);
      if (rec.value.triedHosts.length >= s.maxAttempts) {
        return s.fail(
          rec,
          job,
          `Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance ${job.uuid}. Last: ${last}`,
        );
      }
      // Undoing the pick took our own entry out of the group's placements: a new generation.
      const regrouped = await s.regroup(group, rec.value);
      if (!regrouped) {
        raced = true; // another member moved: select again, seeing it
        break;
      }
      group = regrouped;
    }
    if (raced) {
      // The record changed under us. Only this job places it (fenced leadership, one job per
      // instance), so a record that left BUILD or holds a placement now was finished or placed
      // by a hand we did not expect: never write over it; finish that placement instead.
      if (rec.value.status !== 'BUILD') return;
      if (rec.value.placement) {
        const resumed = await resume(s, rec, job);
        if (resumed.done) return;
        rec = resumed.rec;
      }
      if (++races > MAX_GROUP_RACES)
        throw new CellplaneError('conflict', `instance ${job.uuid}: server group kept changing`, {
          retryable: true,
        });
      round--; // a lost group race is not a spent selection
    }
  }
  return s.fail(rec, job, last);
}

/** A record with a placement after a crash: finish that placement, or undo it. */
async function resume(
  s: ConductorSteps,
  rec: Rec,
  job: ConductorJob,
): Promise<{ done: true } | { done: false; rec: Rec; reason?: string }> {
  const p = rec.value.placement!;
  const claimed = await claimWhileLive(s.d, rec.value, p);
  if ('gone' in claimed) return { done: true };
  if (claimed.ok) {
    try {
      await s.d.hosts.spawn(p.host, spawnSpec(rec.value, p));
      await s.becomeActive(rec, job, p);
      return { done: true };
    } catch (err) {
      const verdict = s.d.hosts.spawnVerdict(err);
      if (verdict === 'retryLater') throw retryLater(err);
      await s.d.trees.release(p.root, job.uuid);
      const reason = `spawn on ${p.host}: ${describe(err)}`;
      const next = await s.clearPlacement(rec, p.host);
      if (!next) return { done: true };
      if (verdict === 'fatal') {
        await s.fail(next, job, reason);
        return { done: true };
      }
      return { done: false, rec: next, reason };
    }
  }
  const next = await s.clearPlacement(rec, undefined);
  return next ? { done: false, rec: next } : { done: true };
}

/** One pick: record it (with the group's placements), claim, spawn; or say why not and undo. */
async function tryPick(
  s: ConductorSteps,
  rec: Rec,
  pick: HostPick,
  group: GroupView,
  job: ConductorJob,
  action: ReturnType<ConductorSteps['actionBase']>,
): Promise<PickStep> {
  const placement: InstancePlacement = {
    host: pick.host,
    node: pick.node,
    root: pick.root,
    allocations: pick.allocations,
  };
  const now = s.now();
  const extra: WriteOp[] = [];
  if (group.uuid) {
    const hosts = { ...group.hosts, [rec.value.uuid]: pick.host };
    extra.push(s.d.instances.groups.put(group.uuid, { hosts }, group.generation));
  }
  const placed = await s.d.instances.update(
    rec,
    { ...rec.value, placement, taskState: 'spawning', updatedAt: now },
    extra,
  );
  if (!placed.ok) {
    if (!placed.current || placed.current.value.taskState === 'deleting') return { kind: 'done' };
    return { kind: 'raced', rec: placed.current };
  }
  rec = placed.record;
  const claimed = await claimWhileLive(s.d, rec.value, pick);
  if ('gone' in claimed) return { kind: 'done' };
  if (!claimed.ok) {
    s.emit({ type: 'conflict', uuid: job.uuid, host: pick.host });
    const next = await s.clearPlacement(rec, undefined);
    if (!next) return { kind: 'done' };
    return {
      kind: 'next',
      rec: next,
      reason: `claim conflict (${claimed.conflict.reason}) on ${pick.host}`,
    };
  }
  s.emit({ type: 'placed', uuid: job.uuid, host: pick.host });
  await s.d.instances.recordAction(job.uuid, job.requestId, startEvent(action, BUILD_EVENT, now, pick.host));
  try {
    await s.d.hosts.spawn(pick.host, spawnSpec(rec.value, placement));
  } catch (err) {
    const verdict = s.d.hosts.spawnVerdict(err);
    if (verdict === 'retryLater') throw retryLater(err); // runs again, resumes from the placement
    const reason = `spawn on ${pick.host}: ${describe(err)}`;
    await s.d.trees.release(pick.root, job.uuid); // never leak the claim of a failed spawn
    await s.d.instances.recordAction(
      job.uuid,
      job.requestId,
      finishEvent(BUILD_EVENT, s.now(), 'Error', reason),
    );
    const next = await s.clearPlacement(rec, pick.host);
    if (!next) return { kind: 'done' };
    if (verdict === 'fatal') return { kind: 'fatal', rec: next, reason };
    s.emit({ type: 'reschedule', uuid: job.uuid, host: pick.host, reason });
    return { kind: 'next', rec: next, reason };
  }
  await s.becomeActive(rec, job, placement);
  return { kind: 'done' };
}
