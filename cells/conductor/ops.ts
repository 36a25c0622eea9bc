/**
 * What a cell conductor does with one job (cells/conductor-jobs.ts), as a resumable state machine
 * over the instance record (cells/instances.ts). Every step is written to the record BEFORE the
 * side effect it announces, so whoever picks the job up after a crash knows what may have
 * happened and finishes or undoes it:
 *
 * build:  BUILD/scheduling ─ select on every shard, rank the picks ─► for each pick:
 *           record placement (+ the group's placements, one commit, CAS) ─► claim on the tree
 *           actor with the snapshot's generations ─► spawn on the host agent ─► ACTIVE.
 *           claim conflict → clear placement, next pick; reschedulable spawn failure → release,
 *           remember the host, next pick (at most `maxBuildAttempts` hosts, Nova's max_attempts);
 *           any other failure, no valid host, or attempts spent → ERROR with a fault saying why.
 *         resume (record has a placement): claim the same allocations again (idempotent for the
 *           holder; if it was never committed, it is made now or conflicts) and spawn again
 *           (idempotent on the agent), else undo and select again.
 * delete: task `deleting` ─► destroy on the host (a host that does not answer is deleted
 *           locally, as Nova does for a down compute) ─► release the claim ─► drop the group
 *           placement ─► purge the record ─► onDeleted (unmaps the instance).
 * reboot/stop/start: task set ─► agent call ─► status/power state from the result.
 *
 * Retryable infrastructure trouble (no scheduler leader during a failover, a tree actor or the
 * store not answering) is THROWN as a retryable CellplaneError: the job goes back to the queue
 * and runs again later; it never turns an instance to ERROR.
 */
import type { ProviderTreeClient } from '../../actors/provider-tree-client.ts';
import type { HostPick, SelectReply, SelectRequest } from '../../actors/scheduler-shard-messages.ts';
import { CellplaneError, toCellplaneError } from '../../core/errors.ts';
import type { Clock } from '../../core/ports/clock.ts';
import type { WriteOp } from '../../core/ports/store.ts';
import type { Versioned } from '../../core/stores/records.ts';
import type { ConductorJob } from '../conductor-jobs.ts';
import {
  finishEvent,
  type InstanceAction,
  type InstanceFault,
  type InstanceFlavor,
  type InstancePlacement,
  type InstanceRecord,
  type InstanceStore,
  type MigrationKind,
  POWER,
  startEvent,
} from '../instances.ts';
import { type Correction, MAX_FIX_CAS_ATTEMPTS, markGone } from '../reconcile-fix.ts';
import { claimWhileLive, undoForDelete } from './claim-guard.ts';
import { MoveOps } from './move.ts';

/** Nova's [scheduler] max_attempts default: hosts tried per build before ERROR. */
export const DEFAULT_MAX_BUILD_ATTEMPTS = 3;
/** Selections per build attempt when every pick was taken by someone else (claim conflicts). */
export const MAX_SELECT_ROUNDS = 10;
/** Fresh selections after a lost race on a server group's placements. */
export const MAX_GROUP_RACES = 20;

/** What the conductor needs of the hosts: the host agents' instance operations (adapter-wired). */
export interface InstanceHosts {
  spawn(host: string, spec: SpawnSpec): Promise<void>;
  /** True when the instance existed on the host. Rejects `noResponders`/`timeout` when the host is gone. */
  destroy(host: string, uuid: string): Promise<boolean>;
  reboot(host: string, uuid: string, type: 'SOFT' | 'HARD'): Promise<void>;
  stop(host: string, uuid: string): Promise<void>;
  start(host: string, uuid: string): Promise<void>;
  /**
   * What a failed spawn means: `reschedule` (the host could not, another may: release, try the
   * next pick), `fatal` (no host will: ERROR), `retryLater` (nothing known yet — the bus timed
   * out, or the build is still running on the host: the job runs again and resumes).
   */
  spawnVerdict(err: unknown): SpawnVerdict;
  /** True when `err` is the host saying instance `uuid` is not there (its VM is gone). */
  vmGone(err: unknown, uuid: string): boolean;
}

export type SpawnVerdict = 'reschedule' | 'fatal' | 'retryLater';

export interface SpawnSpec {
  readonly uuid: string;
  readonly name: string;
  /** Amounts on the root provider. */
  readonly resources: Readonly<Record<string, number>>;
  readonly devices: readonly { providerUuid: string; resources: Readonly<Record<string, number>> }[];
}

export type ConductorEvent =
  | { readonly type: 'active'; readonly uuid: string; readonly host: string; readonly attempts: number }
  | { readonly type: 'error'; readonly uuid: string; readonly reason: string }
  | { readonly type: 'conflict'; readonly uuid: string; readonly host: string }
  /** Claimed on `host`: the scheduling decision is made, the spawn starts. */
  | { readonly type: 'placed'; readonly uuid: string; readonly host: string }
  | { readonly type: 'reschedule'; readonly uuid: string; readonly host: string; readonly reason: string }
  | { readonly type: 'deleted'; readonly uuid: string }
  | {
      readonly type: 'moved';
      readonly uuid: string;
      readonly kind: MigrationKind;
      readonly from: string;
      readonly to: string;
    }
  | { readonly type: 'done'; readonly op: ConductorJob['op']; readonly uuid: string }
  /** The record was corrected to what the host runs (cells/reconcile-fix.ts). */
  | { readonly type: 'corrected'; readonly uuid: string; readonly correction: Correction };

export interface ConductorDeps {
  readonly cell: string;
  readonly instances: InstanceStore;
  readonly shardCount: number;
  select(req: SelectRequest, shard: number): Promise<SelectReply>;
  readonly trees: ProviderTreeClient;
  readonly hosts: InstanceHosts;
  readonly clock: Clock;
  readonly maxBuildAttempts?: number;
  /** After a delete purged the record (unmap the instance). Retried with the job if it throws. */
  onDeleted?(uuid: string): Promise<void>;
  /** Must not throw. */
  onEvent?(e: ConductorEvent): void;
}

type Rec = Versioned<InstanceRecord>;

/** How a move's selection differs from its build's (cells/conductor-move.ts). */
export interface SelectOverrides {
  /** The request id (seeds the placement). */
  readonly id: string;
  readonly flavor: InstanceFlavor;
  readonly ignoreHosts: readonly string[];
  readonly forceHost?: string;
}

/** The build's action name and event, as Nova records them. */
const BUILD_EVENT = 'compute__do_build_and_run_instance';

export class ConductorOps {
  private readonly maxAttempts: number;
  private readonly moves: MoveOps;

  constructor(private readonly d: ConductorDeps) {
    this.maxAttempts = d.maxBuildAttempts ?? DEFAULT_MAX_BUILD_ATTEMPTS;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1)
      throw new CellplaneError(
        'invalid',
        `maxBuildAttempts must be a positive integer, got ${this.maxAttempts}`,
      );
    this.moves = new MoveOps(d, this, this.maxAttempts);
  }

  /** Runs one job to its end state. Throws a retryable error to have the job run again later. */
  async run(job: ConductorJob): Promise<void> {
    switch (job.op) {
      case 'build':
        await this.build(job);
        break;
      case 'delete':
        await this.delete(job);
        break;
      case 'reboot':
      case 'stop':
      case 'start':
        await this.power(job);
        break;
      case 'resize':
      case 'migrate':
      case 'evacuate':
        await this.moves.move(job);
        break;
      case 'confirmResize':
        await this.moves.confirm(job);
        break;
      case 'revertResize':
        await this.moves.revert(job);
        break;
    }
    this.emit({ type: 'done', op: job.op, uuid: job.uuid });
  }

  /**
   * A job that cannot run (a bug, a corrupt record): a build turns the instance to ERROR with
   * `reason` so the request ends explained; other operations just leave their action failed.
   */
  async abandon(job: ConductorJob, reason: string): Promise<void> {
    const rec = await this.d.instances.get(job.uuid);
    if (job.op === 'build' && rec?.value.status === 'BUILD') {
      const p = rec.value.placement;
      if (p) await this.d.trees.release(p.root, job.uuid);
      await this.fail(rec, job, reason);
      return;
    }
    if (job.op !== 'build' && job.op !== 'delete' && rec) {
      if (await this.moves.abandon(job, reason)) return;
    }
    await this.d.instances.recordAction(job.uuid, job.requestId, (a) => ({
      ...(a ?? this.newAction(job, job.op)),
      message: 'Error',
      updatedAt: this.now(),
    }));
  }

  // ---- build ----------------------------------------------------------------------------------

  private async build(job: ConductorJob): Promise<void> {
    let rec = await this.d.instances.get(job.uuid);
    if (!rec) {
      if (!job.record) throw new CellplaneError('invalid', `build job for ${job.uuid} carries no record`);
      // No record, but a delete among its actions (they outlive the record): a delete finished
      // before this build job ran again (redelivered after its conductor died). Building it now
      // would bring a deleted server back.
      if ((await this.d.instances.actionsOf(job.uuid)).some((a) => a.action === 'delete')) return;
      await this.d.instances.create(job.record, this.newAction(job, 'create'));
      rec = await this.d.instances.get(job.uuid);
      if (!rec) throw new CellplaneError('unavailable', `instance ${job.uuid}: record vanished after create`);
    }
    if (rec.value.status !== 'BUILD' || rec.value.taskState === 'deleting') return; // done or superseded
    const action = this.actionBase(job, 'create');
    let last = 'no host tried';
    if (rec.value.placement) {
      const resumed = await this.resume(rec, job);
      if (resumed.done) return;
      rec = resumed.rec;
      last = resumed.reason ?? last;
    }
    let races = 0;
    for (let round = 0; round < MAX_SELECT_ROUNDS; round++) {
      let group = await this.groupHosts(rec.value);
      const replies = await this.selectAll(rec.value, round, group.hosts);
      const picks = rankPicks(replies).filter((p) => !rec!.value.triedHosts.includes(p.host));
      if (picks.length === 0) {
        const why = replies.map((r) => `shard ${r.shard}: ${r.message}`).join('; ');
        last = `No valid host was found. ${why}`;
        if (replies.every((r) => !r.retryable || r.outcome === 'selected')) break;
        continue;
      }
      let raced = false;
      for (const pick of picks) {
        const step = await this.tryPick(rec, pick, group, job, action);
        if (step.kind === 'done') return;
        rec = step.rec;
        if (step.kind === 'raced') {
          raced = true;
          break;
        }
        last = step.reason;
        if (step.kind === 'fatal') return this.fail(rec, job, step.reason);
        if (rec.value.triedHosts.length >= this.maxAttempts) {
          return this.fail(
            rec,
            job,
            `Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance ${job.uuid}. Last: ${last}`,
          );
        }
        // Undoing the pick took our own entry out of the group's placements: a new generation.
        const regrouped = await this.regroup(group, rec.value);
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
          const resumed = await this.resume(rec, job);
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
    return this.fail(rec, job, last);
  }

  /** A record with a placement after a crash: finish that placement, or undo it. */
  private async resume(
    rec: Rec,
    job: ConductorJob,
  ): Promise<{ done: true } | { done: false; rec: Rec; reason?: string }> {
    const p = rec.value.placement!;
    const claimed = await claimWhileLive(this.d, rec.value, p);
    if ('gone' in claimed) return { done: true };
    if (claimed.ok) {
      try {
        await this.d.hosts.spawn(p.host, spawnSpec(rec.value, p));
        await this.becomeActive(rec, job, p);
        return { done: true };
      } catch (err) {
        const verdict = this.d.hosts.spawnVerdict(err);
        if (verdict === 'retryLater') throw retryLater(err);
        await this.d.trees.release(p.root, job.uuid);
        const reason = `spawn on ${p.host}: ${describe(err)}`;
        const next = await this.clearPlacement(rec, p.host);
        if (!next) return { done: true };
        if (verdict === 'fatal') {
          await this.fail(next, job, reason);
          return { done: true };
        }
        return { done: false, rec: next, reason };
      }
    }
    const next = await this.clearPlacement(rec, undefined);
    return next ? { done: false, rec: next } : { done: true };
  }

  private async tryPick(
    rec: Rec,
    pick: HostPick,
    group: { uuid: string | null; generation: number; hosts: Record<string, string> },
    job: ConductorJob,
    action: ReturnType<ConductorOps['actionBase']>,
  ): Promise<
    { kind: 'done' } | { kind: 'raced'; rec: Rec } | { kind: 'next' | 'fatal'; rec: Rec; reason: string }
  > {
    const placement: InstancePlacement = {
      host: pick.host,
      node: pick.node,
      root: pick.root,
      allocations: pick.allocations,
    };
    const now = this.now();
    const extra: WriteOp[] = [];
    if (group.uuid) {
      const hosts = { ...group.hosts, [rec.value.uuid]: pick.host };
      extra.push(this.d.instances.groups.put(group.uuid, { hosts }, group.generation));
    }
    const placed = await this.d.instances.update(
      rec,
      { ...rec.value, placement, taskState: 'spawning', updatedAt: now },
      extra,
    );
    if (!placed.ok) {
      if (!placed.current || placed.current.value.taskState === 'deleting') return { kind: 'done' };
      return { kind: 'raced', rec: placed.current };
    }
    rec = placed.record;
    const claimed = await claimWhileLive(this.d, rec.value, pick);
    if ('gone' in claimed) return { kind: 'done' };
    if (!claimed.ok) {
      this.emit({ type: 'conflict', uuid: job.uuid, host: pick.host });
      const next = await this.clearPlacement(rec, undefined);
      if (!next) return { kind: 'done' };
      return {
        kind: 'next',
        rec: next,
        reason: `claim conflict (${claimed.conflict.reason}) on ${pick.host}`,
      };
    }
    this.emit({ type: 'placed', uuid: job.uuid, host: pick.host });
    await this.d.instances.recordAction(
      job.uuid,
      job.requestId,
      startEvent(action, BUILD_EVENT, now, pick.host),
    );
    try {
      await this.d.hosts.spawn(pick.host, spawnSpec(rec.value, placement));
    } catch (err) {
      const verdict = this.d.hosts.spawnVerdict(err);
      if (verdict === 'retryLater') throw retryLater(err); // runs again, resumes from the placement
      const reason = `spawn on ${pick.host}: ${describe(err)}`;
      await this.d.trees.release(pick.root, job.uuid); // never leak the claim of a failed spawn
      await this.d.instances.recordAction(
        job.uuid,
        job.requestId,
        finishEvent(BUILD_EVENT, this.now(), 'Error', reason),
      );
      const next = await this.clearPlacement(rec, pick.host);
      if (!next) return { kind: 'done' };
      if (verdict === 'fatal') return { kind: 'fatal', rec: next, reason };
      this.emit({ type: 'reschedule', uuid: job.uuid, host: pick.host, reason });
      return { kind: 'next', rec: next, reason };
    }
    await this.becomeActive(rec, job, placement);
    return { kind: 'done' };
  }

  private async becomeActive(rec: Rec, job: ConductorJob, p: InstancePlacement): Promise<void> {
    const now = this.now();
    const out = await this.d.instances.update(rec, {
      ...rec.value,
      status: 'ACTIVE',
      vmState: 'active',
      taskState: null,
      powerState: POWER.RUNNING,
      launchedAt: now,
      updatedAt: now,
    });
    if (!out.ok) {
      // Finished by a twin delivery, or deleted meanwhile: then the delete may have passed this
      // host before our spawn landed, so undo it here.
      await undoForDelete(this.d, job.uuid, p);
      return;
    }
    await this.d.instances.recordAction(job.uuid, job.requestId, (a) =>
      finishEvent(
        BUILD_EVENT,
        now,
        'Success',
      )(a ?? { ...this.actionBase(job, 'create'), ...emptyAction(now) }),
    );
    this.emit({ type: 'active', uuid: job.uuid, host: p.host, attempts: rec.value.triedHosts.length + 1 });
  }

  /** Placement undone (and the host remembered as tried, if given). Undefined if the record is gone/deleting. */
  private async clearPlacement(rec: Rec, tried: string | undefined): Promise<Rec | undefined> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const extra = await this.dropGroupPlacement(rec.value);
      const out = await this.d.instances.update(
        rec,
        {
          ...rec.value,
          placement: null,
          taskState: 'scheduling',
          triedHosts: tried ? [...rec.value.triedHosts, tried] : rec.value.triedHosts,
          updatedAt: this.now(),
        },
        extra,
      );
      if (out.ok) return out.record;
      if (!out.current || out.current.value.taskState === 'deleting') return undefined;
      rec = out.current;
    }
    throw new CellplaneError('conflict', `instance ${rec.id}: record kept changing`, { retryable: true });
  }

  private async fail(rec: Rec, job: ConductorJob, reason: string): Promise<void> {
    const now = this.now();
    const fault: InstanceFault = {
      code: 500,
      message: reason.length > 255 ? `${reason.slice(0, 252)}...` : reason,
      details: reason,
      created: now,
    };
    for (let attempt = 0; attempt < 10; attempt++) {
      const extra = await this.dropGroupPlacement(rec.value);
      const out = await this.d.instances.update(
        rec,
        {
          ...rec.value,
          status: 'ERROR',
          vmState: 'error',
          taskState: null,
          placement: null,
          fault,
          updatedAt: now,
        },
        extra,
      );
      if (out.ok) break;
      if (!out.current || out.current.value.taskState === 'deleting') return;
      rec = out.current;
    }
    await this.d.instances.recordAction(job.uuid, job.requestId, (a) => ({
      ...(a ?? { ...this.actionBase(job, 'create'), ...emptyAction(now) }),
      message: 'Error',
      updatedAt: now,
    }));
    this.emit({ type: 'error', uuid: job.uuid, reason });
  }

  /**
   * Selects on every shard; shards that cannot answer now (failover) are left out, unless all are.
   * A move selects with its own flavor, ignored hosts and requested host (`o`).
   */
  async selectAll(
    r: InstanceRecord,
    round: number,
    groupHosts: Record<string, string>,
    o?: SelectOverrides,
  ): Promise<SelectReply[]> {
    const flavor = o?.flavor ?? r.flavor;
    const ignore = o ? o.ignoreHosts : r.triedHosts;
    const force = o ? o.forceHost : r.forceHost;
    const hostsOfOthers = Object.entries(groupHosts)
      .filter(([uuid]) => uuid !== r.uuid)
      .map(([, host]) => host);
    const req: SelectRequest = {
      id: o?.id ?? `${r.uuid}:${r.triedHosts.length}:${round}`,
      flavor: {
        vcpus: flavor.vcpus,
        ram: flavor.ram,
        disk: flavor.disk,
        ephemeral: flavor.ephemeral,
        swap: flavor.swap,
        extra_specs: flavor.extraSpecs,
      },
      numInstances: 1,
      availabilityZone: r.availabilityZone,
      ...(r.group
        ? {
            group: {
              uuid: r.group.uuid,
              policy: r.group.policy,
              ...(r.group.maxServerPerHost
                ? { rules: { max_server_per_host: r.group.maxServerPerHost } }
                : {}),
            },
            schedulerHints: { group: r.group.uuid },
            groupHosts: hostsOfOthers,
          }
        : {}),
      ...(ignore.length ? { ignoreHosts: ignore } : {}),
      ...(force ? { forceHosts: [force], isAdmin: true } : {}),
    };
    const shards = Array.from({ length: this.d.shardCount }, (_, s) => s);
    const settled = await Promise.allSettled(shards.map((s) => this.d.select(req, s)));
    const replies: SelectReply[] = [];
    const failures: CellplaneError[] = [];
    for (const s of settled) {
      if (s.status === 'fulfilled') replies.push(s.value);
      else failures.push(toCellplaneError(s.reason));
    }
    const invalid = failures.find((f) => !f.retryable);
    if (invalid) throw invalid; // a request the scheduler refuses: a bug upstream, not the user's
    if (failures.length > 0 && rankPicks(replies).length === 0) {
      throw new CellplaneError(
        'unavailable',
        `cell ${this.d.cell}: ${failures.length} of ${shards.length} scheduler shard(s) did not answer (${failures[0]!.message})`,
        { retryable: true },
      );
    }
    return replies;
  }

  async groupHosts(
    r: InstanceRecord,
  ): Promise<{ uuid: string | null; generation: number; hosts: Record<string, string> }> {
    if (!r.group) return { uuid: null, generation: 0, hosts: {} };
    const g = await this.d.instances.groups.get(r.group.uuid);
    return { uuid: r.group.uuid, generation: g?.generation ?? 0, hosts: { ...(g?.value.hosts ?? {}) } };
  }

  /**
   * The group's placements as they are now, if only this instance's own entry changed since
   * `before` (the selection's view of the other members still holds); undefined when another
   * member was placed or left meanwhile. Without it, the next pick of the same round would fail
   * its check on the generation our own undo moved — for ever, if the first pick keeps conflicting.
   */
  private async regroup(
    before: Awaited<ReturnType<ConductorOps['groupHosts']>>,
    r: InstanceRecord,
  ): Promise<Awaited<ReturnType<ConductorOps['groupHosts']>> | undefined> {
    if (!before.uuid) return before;
    const now = await this.groupHosts(r);
    const others = (h: Record<string, string>) =>
      Object.entries(h)
        .filter(([u]) => u !== r.uuid)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .join(';');
    return others(now.hosts) === others(before.hosts) ? now : undefined;
  }

  /** The write that takes the instance out of its group's placements (none if not in one). */
  private async dropGroupPlacement(r: InstanceRecord): Promise<WriteOp[]> {
    if (!r.group) return [];
    const g = await this.d.instances.groups.get(r.group.uuid);
    if (!g || !(r.uuid in g.value.hosts)) return [];
    const hosts = { ...g.value.hosts };
    delete hosts[r.uuid];
    return [this.d.instances.groups.put(r.group.uuid, { hosts }, g.generation)];
  }

  // ---- delete ---------------------------------------------------------------------------------

  private async delete(job: ConductorJob): Promise<void> {
    let rec = await this.d.instances.get(job.uuid);
    if (!rec) {
      await this.d.onDeleted?.(job.uuid);
      return;
    }
    const now = this.now();
    const action = this.actionBase(job, 'delete');
    if (rec.value.taskState !== 'deleting') {
      const out = await this.d.instances.update(rec, { ...rec.value, taskState: 'deleting', updatedAt: now });
      if (!out.ok) throw new CellplaneError('conflict', `instance ${job.uuid} changed; delete retried`);
      rec = out.record;
    }
    await this.d.instances.recordAction(
      job.uuid,
      job.requestId,
      startEvent(action, 'compute_terminate_instance', now),
    );
    // Wherever it may run or hold a claim: its placement and, mid-move or in VERIFY_RESIZE, the
    // move's source and target too (Nova confirms a resize before deleting).
    const m = rec.value.migration;
    const places = [rec.value.placement, m?.source, m?.target].filter(
      (x, i, all): x is InstancePlacement => !!x && all.findIndex((y) => y?.root === x.root) === i,
    );
    const notes: string[] = [];
    for (const p of places) {
      try {
        await this.d.hosts.destroy(p.host, job.uuid);
      } catch (err) {
        const e = toCellplaneError(err);
        if (e.code !== 'noResponders' && e.code !== 'timeout' && e.code !== 'notFound') throw err;
        notes.push(`host ${p.host} did not answer (${e.code}); deleted locally`);
      }
      await this.d.trees.release(p.root, job.uuid);
    }
    const details = notes.length ? notes.join('; ') : undefined;
    const extra = await this.dropGroupPlacement(rec.value);
    if (extra.length) {
      const out = await this.d.instances.commit(extra);
      if (!out.ok) throw new CellplaneError('conflict', `group of ${job.uuid} changed; delete retried`);
    }
    if (!(await this.d.instances.purge(rec))) {
      throw new CellplaneError('conflict', `instance ${job.uuid} changed while deleting; retried`);
    }
    await this.d.instances.recordAction(
      job.uuid,
      job.requestId,
      finishEvent('compute_terminate_instance', this.now(), 'Success', details),
    );
    await this.d.onDeleted?.(job.uuid);
    this.emit({ type: 'deleted', uuid: job.uuid });
  }

  // ---- reboot / stop / start ------------------------------------------------------------------

  private async power(job: ConductorJob): Promise<void> {
    const rec = await this.d.instances.get(job.uuid);
    if (!rec || rec.value.taskState === 'deleting' || !rec.value.placement) return;
    const p = rec.value.placement;
    const ev = POWER_EVENTS[job.op as 'reboot' | 'stop' | 'start'];
    const now = this.now();
    await this.d.instances.recordAction(
      job.uuid,
      job.requestId,
      startEvent(this.actionBase(job, ev.action), ev.event, now, p.host),
    );
    let outcome: Partial<InstanceRecord>;
    let result: 'Success' | 'Error' = 'Success';
    let details: string | undefined;
    try {
      if (job.op === 'reboot') await this.d.hosts.reboot(p.host, job.uuid, job.rebootType ?? 'SOFT');
      else if (job.op === 'stop') await this.d.hosts.stop(p.host, job.uuid);
      else await this.d.hosts.start(p.host, job.uuid);
      const running = job.op !== 'stop';
      outcome = {
        status: running ? 'ACTIVE' : 'SHUTOFF',
        vmState: running ? 'active' : 'stopped',
        powerState: running ? POWER.RUNNING : POWER.SHUTDOWN,
      };
    } catch (err) {
      if (this.d.hosts.vmGone(err, job.uuid)) return this.powerFoundGone(job, ev.event, err);
      if (isInfrastructure(err) && job.op !== 'reboot') throw err;
      result = 'Error';
      details = describe(err);
      outcome = {}; // the instance stays as it was; the action says why
    }
    for (let cur: Rec | undefined = rec, i = 0; cur && i < 10; i++) {
      const out = await this.d.instances.update(cur, {
        ...cur.value,
        ...outcome,
        taskState: null,
        updatedAt: this.now(),
      });
      if (out.ok || !out.current || out.current.value.taskState === 'deleting') break;
      cur = out.current;
    }
    await this.d.instances.recordAction(
      job.uuid,
      job.requestId,
      finishEvent(ev.event, this.now(), result, details),
    );
  }

  /**
   * A power action found the VM gone from its host: its event ends Error, and the instance gets the
   * reconciler's correction (ERROR with a fault, allocations released), not ACTIVE with no fault.
   */
  private async powerFoundGone(job: ConductorJob, event: string, err: unknown): Promise<void> {
    const now = this.now();
    await this.d.instances.recordAction(
      job.uuid,
      job.requestId,
      finishEvent(event, now, 'Error', describe(err)),
    );
    for (let i = 0; i < MAX_FIX_CAS_ATTEMPTS; i++) {
      const rec = await this.d.instances.get(job.uuid);
      if (!rec?.value.placement || rec.value.taskState === 'deleting') return;
      const c = await markGone(this.d, rec, `${job.op}: ${describe(err)}`, job.requestId);
      if (c) return this.emit({ type: 'corrected', uuid: job.uuid, correction: c });
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  actionBase(job: ConductorJob, action: string) {
    return {
      action,
      requestId: job.requestId,
      userId: job.userId,
      projectId: job.projectId,
      startTime: job.acceptedAt,
    };
  }

  private newAction(job: ConductorJob, action: string): InstanceAction {
    return { ...this.actionBase(job, action), ...emptyAction(job.acceptedAt) };
  }

  now(): string {
    return new Date(this.d.clock.now()).toISOString();
  }

  emit(e: ConductorEvent): void {
    try {
      this.d.onEvent?.(e);
    } catch {
      // Contract: listeners must not throw.
    }
  }
}

const POWER_EVENTS = {
  reboot: { action: 'reboot', event: 'compute_reboot_instance' },
  stop: { action: 'stop', event: 'compute_stop_instance' },
  start: { action: 'start', event: 'compute_start_instance' },
} as const;

function emptyAction(at: string): Pick<InstanceAction, 'message' | 'updatedAt' | 'events'> {
  return { message: null, updatedAt: at, events: [] };
}

/** Primary then alternates of each selecting shard, most feasible hosts first; one pick per tree. */
export function rankPicks(replies: readonly SelectReply[]): HostPick[] {
  const selected = replies.filter((r) => r.outcome === 'selected');
  selected.sort((a, b) => b.explain.feasible - a.explain.feasible || a.shard - b.shard);
  const seen = new Set<string>();
  const out: HostPick[] = [];
  for (const r of selected)
    for (const s of r.selections)
      for (const p of [s, ...s.alternates])
        if (!seen.has(p.root)) {
          seen.add(p.root);
          out.push(p);
        }
  return out;
}

export function spawnSpec(r: InstanceRecord, p: InstancePlacement): SpawnSpec {
  return {
    uuid: r.uuid,
    name: r.name,
    resources: p.allocations[p.root] ?? {},
    devices: Object.entries(p.allocations)
      .filter(([rp]) => rp !== p.root)
      .map(([providerUuid, resources]) => ({ providerUuid, resources })),
  };
}

/** The bus or a backing service failed (not the host refusing): run the job again later. */
export function isInfrastructure(err: unknown): boolean {
  const e = toCellplaneError(err);
  return (
    e.code === 'timeout' || e.code === 'noResponders' || e.code === 'unavailable' || e.code === 'overloaded'
  );
}

export function retryLater(err: unknown): CellplaneError {
  const e = toCellplaneError(err);
  return new CellplaneError(e.code, e.message, { retryable: true, cause: err });
}

export function describe(err: unknown): string {
  const e = toCellplaneError(err);
  return `${e.code}: ${e.message}`;
}
