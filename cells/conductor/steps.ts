/**
 * The steps every conductor operation is made of (build.ts, delete.ts, power.ts, move.ts and
 * confirm.ts share them): select on the shards and rank the picks, claim on a tree actor, the spawn
 * spec, become ACTIVE, clear a placement, fail to ERROR, the server group's placements, instance
 * actions, and what an error means (infrastructure → the job runs again later).
 *
 * Every write is a CAS on the instance record, retried on the current record at most
 * MAX_RECORD_CAS_ATTEMPTS times; one that finds the record gone or being deleted stops (the delete
 * job cleans up after it; a claim or spawn that lands after the delete passed is undone by the job
 * that made it, claim-guard.ts).
 */
import type { HostPick, SelectReply, SelectRequest } from '../../actors/scheduler-shard-messages.ts';
import { CellplaneError, toCellplaneError } from '../../core/errors.ts';
import type { WriteOp } from '../../core/ports/store.ts';
import type { Versioned } from '../../core/stores/records.ts';
import type { ConductorJob } from '../conductor-jobs.ts';
import {
  faultMessage,
  finishEvent,
  type InstanceAction,
  type InstanceFault,
  type InstanceFlavor,
  type InstancePlacement,
  type InstanceRecord,
  MAX_RECORD_CAS_ATTEMPTS,
  POWER,
} from '../instances.ts';
import { undoForDelete } from './claim-guard.ts';
import { DEFAULT_MAX_BUILD_ATTEMPTS } from './limits.ts';
import type { ConductorDeps, ConductorEvent, SpawnSpec } from './ports.ts';

export type Rec = Versioned<InstanceRecord>;

/** A server group's placements as a selection saw them (uuid null: the instance is in no group). */
export interface GroupView {
  readonly uuid: string | null;
  readonly generation: number;
  readonly hosts: Record<string, string>;
}

/** How a move's selection differs from its build's (move.ts). */
export interface SelectOverrides {
  /** The request id (seeds the placement). */
  readonly id: string;
  readonly flavor: InstanceFlavor;
  readonly ignoreHosts: readonly string[];
  readonly forceHost?: string;
}

/** The build's action name and event, as Nova records them. */
export const BUILD_EVENT = 'compute__do_build_and_run_instance';

/** The shared steps over one conductor's ports. */
export class ConductorSteps {
  /** Hosts tried per build or move before it gives up. */
  readonly maxAttempts: number;

  constructor(readonly d: ConductorDeps) {
    this.maxAttempts = d.maxBuildAttempts ?? DEFAULT_MAX_BUILD_ATTEMPTS;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1)
      throw new CellplaneError(
        'invalid',
        `maxBuildAttempts must be a positive integer, got ${this.maxAttempts}`,
      );
  }

  // ---- select ---------------------------------------------------------------------------------

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
    const req = selectRequest(r, round, groupHosts, o);
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

  // ---- the server group's placements ------------------------------------------------------------

  async groupHosts(r: InstanceRecord): Promise<GroupView> {
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
  async regroup(before: GroupView, r: InstanceRecord): Promise<GroupView | undefined> {
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
  async dropGroupPlacement(r: InstanceRecord): Promise<WriteOp[]> {
    if (!r.group) return [];
    const g = await this.d.instances.groups.get(r.group.uuid);
    if (!g || !(r.uuid in g.value.hosts)) return [];
    const hosts = { ...g.value.hosts };
    delete hosts[r.uuid];
    return [this.d.instances.groups.put(r.group.uuid, { hosts }, g.generation)];
  }

  /** The write that records the instance's new host in its server group's placements. */
  async putGroupPlacement(r: InstanceRecord, host: string): Promise<WriteOp[]> {
    if (!r.group) return [];
    const g = await this.d.instances.groups.get(r.group.uuid);
    if (g?.value.hosts[r.uuid] === host) return [];
    const hosts = { ...(g?.value.hosts ?? {}), [r.uuid]: host };
    return [this.d.instances.groups.put(r.group.uuid, { hosts }, g?.generation ?? 0)];
  }

  // ---- the build's end states ---------------------------------------------------------------------

  async becomeActive(rec: Rec, job: ConductorJob, p: InstancePlacement): Promise<void> {
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
  async clearPlacement(rec: Rec, tried: string | undefined): Promise<Rec | undefined> {
    for (let attempt = 0; attempt < MAX_RECORD_CAS_ATTEMPTS; attempt++) {
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

  /** The build ends ERROR with a fault saying `reason`; its action ends Error. */
  async fail(rec: Rec, job: ConductorJob, reason: string): Promise<void> {
    const now = this.now();
    const fault: InstanceFault = { code: 500, message: faultMessage(reason), details: reason, created: now };
    for (let attempt = 0; attempt < MAX_RECORD_CAS_ATTEMPTS; attempt++) {
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

  // ---- actions, time, events ----------------------------------------------------------------------

  actionBase(job: ConductorJob, action: string): Omit<InstanceAction, 'events' | 'message' | 'updatedAt'> {
    return {
      action,
      requestId: job.requestId,
      userId: job.userId,
      projectId: job.projectId,
      startTime: job.acceptedAt,
    };
  }

  newAction(job: ConductorJob, action: string): InstanceAction {
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

export function emptyAction(at: string): Pick<InstanceAction, 'message' | 'updatedAt' | 'events'> {
  return { message: null, updatedAt: at, events: [] };
}

/** What one selection asks every shard. */
function selectRequest(
  r: InstanceRecord,
  round: number,
  groupHosts: Record<string, string>,
  o: SelectOverrides | undefined,
): SelectRequest {
  const flavor = o?.flavor ?? r.flavor;
  const ignore = o ? o.ignoreHosts : r.triedHosts;
  const force = o ? o.forceHost : r.forceHost;
  const hostsOfOthers = Object.entries(groupHosts)
    .filter(([uuid]) => uuid !== r.uuid)
    .map(([, host]) => host);
  return {
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
    projectId: r.projectId,
    ...(r.group
      ? {
          group: {
            uuid: r.group.uuid,
            policy: r.group.policy,
            ...(r.group.maxServerPerHost ? { rules: { max_server_per_host: r.group.maxServerPerHost } } : {}),
          },
          schedulerHints: { group: r.group.uuid },
          groupHosts: hostsOfOthers,
        }
      : {}),
    ...(ignore.length ? { ignoreHosts: ignore } : {}),
    ...(force ? { forceHosts: [force], isAdmin: true } : {}),
  };
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

/**
 * The host did not answer (its agent gone or down), or its agents do not serve it (`notFound`): a
 * destroy that may skip a dead host notes it instead of failing.
 */
export function isHostSilent(err: unknown): boolean {
  const e = toCellplaneError(err);
  return e.code === 'noResponders' || e.code === 'timeout' || e.code === 'notFound';
}

export function retryLater(err: unknown): CellplaneError {
  const e = toCellplaneError(err);
  return new CellplaneError(e.code, e.message, { retryable: true, cause: err });
}

export function describe(err: unknown): string {
  const e = toCellplaneError(err);
  return `${e.code}: ${e.message}`;
}
