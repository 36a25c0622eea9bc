/**
 * The leader's answer to `selectHosts`: parse the Nova-style fields with core/scheduler's
 * `parseNovaRequest`, run the pipeline `select` on the view's current snapshot (synchronously,
 * on this thread — see the header of scheduler-shard.ts for the measurement behind that) and
 * turn host indices into what the conductor claims: host, root provider, per-provider
 * allocations and the generations seen. The snapshot is left as found (no kept assumptions):
 * a concurrent select may pick the same capacity, and the generation-checked claim settles it.
 */
import { CellplaneError } from '../core/errors.ts';
import { summarize } from '../core/scheduler/explain.ts';
import { select } from '../core/scheduler/pipeline.ts';
import { buildProfile, type Profile, type ProfileSpec } from '../core/scheduler/profile.ts';
import { parseNovaRequest } from '../core/scheduler/request-parse.ts';
import type { Claim, Snapshot } from '../core/scheduler/snapshot.ts';
import {
  type ExplainSummary,
  MAX_EXPLAIN_LINES,
  novaInputOf,
  type SelectReply,
  type SelectRequest,
} from './scheduler-shard-messages.ts';
import type { ShardView } from './scheduler-shard-view.ts';

/** Profiles built per alternates count, at most (one per value of 0..MAX_ALTERNATES in practice). */
const MAX_CACHED_PROFILES = 32;

export class ShardSelector {
  private readonly profiles = new Map<number, Profile>();
  private readonly base: Profile;

  constructor(
    private readonly spec: ProfileSpec,
    private readonly shard: number,
  ) {
    this.base = buildProfile(spec);
  }

  /** Throws `invalid` (naming the field) for a request the parser refuses. */
  select(view: ShardView, req: SelectRequest): SelectReply {
    const spec = parseNovaRequest(novaInputOf(req));
    const profile = this.profileFor(req.alternates);
    const built = view.current();
    const res = withGroupHosts(built.snapshot, req, () => select(built.snapshot, spec, profile));
    const e = res.explain;
    const explain: ExplainSummary = {
      profile: e.profile,
      snapshotGeneration: view.generation,
      hosts: e.hosts,
      evaluated: e.evaluated,
      feasible: e.feasible,
      skipped: [...e.skipped],
      rejected: summarize(e).slice(0, MAX_EXPLAIN_LINES),
      resolvableRejections: e.resolvableRejections,
    };
    const base = { requestId: req.id, shard: this.shard, explain };
    if (!res.ok)
      return {
        ...base,
        outcome: 'noValidHost',
        retryable: res.retryable,
        message: res.message,
        selections: [],
      };
    const selections = res.selections.map((s) => ({
      ...view.pickFor(built, s.index, spec),
      instance: s.instance,
      alternates: s.alternates.map((a) => view.pickFor(built, a.index, spec)),
    }));
    const message = `${selections.length} of ${spec.numInstances} instance(s) placed on ${e.hosts} host(s)`;
    return { ...base, outcome: 'selected', retryable: false, message, selections };
  }

  private profileFor(alternates: number | undefined): Profile {
    if (alternates === undefined || alternates === this.base.alternates) return this.base;
    let p = this.profiles.get(alternates);
    if (!p) {
      if (this.profiles.size >= MAX_CACHED_PROFILES)
        throw new CellplaneError('overloaded', 'too many distinct alternates counts');
      p = buildProfile({ ...this.spec, alternates });
      this.profiles.set(alternates, p);
    }
    return p;
  }
}

/**
 * Runs `fn` with the request's `groupHosts` booked on the snapshot as group members (no
 * resources), and takes them off again, whatever happens. Hosts outside this shard are skipped.
 */
function withGroupHosts<T>(snapshot: Snapshot, req: SelectRequest, fn: () => T): T {
  const groupId = req.group?.uuid;
  if (!groupId || !req.groupHosts?.length) return fn();
  const claim: Claim = { resources: [], groupId };
  const booked: number[] = [];
  try {
    for (const host of req.groupHosts) {
      const h = snapshot.indexOfHost(host);
      if (h === undefined) continue;
      snapshot.assume(h, claim);
      booked.push(h);
    }
    return fn();
  } finally {
    for (const h of booked) snapshot.forget(h, claim);
  }
}
