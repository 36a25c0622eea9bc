/**
 * select(snapshot, request, profile): the scheduler pipeline, pure (no clock, no I/O; randomness
 * seeded from the request id).
 *
 * For each of the request's `numInstances` instances: run one placement (place.ts), take the best
 * host, and `assume` the instance's claim on it so the next instance of the batch sees it (its
 * capacity and its server-group membership, which is how anti-affinity holds within a batch).
 * All or nothing, as Nova: when one instance finds no host the batch's assumptions are rolled
 * back and the result is noValidHost. On success the assumptions are rolled back too unless
 * `keepAssumptions` (the shard actor keeps them until the conductor's claim lands, then forgets
 * them; `assumed` lists what to forget).
 */

import { CellplaneError } from '../errors.ts';
import { makeRng } from '../rng.ts';
import { type Explain, ExplainRecorder, summarize } from './explain.ts';
import { type ClassCache, placeOne } from './place.ts';
import type { Profile } from './profile.ts';
import type { RequestSpec } from './request.ts';
import type { Claim, Snapshot } from './snapshot.ts';

export interface HostChoice {
  readonly host: string;
  readonly node: string;
  readonly index: number;
}

export interface Selection extends HostChoice {
  readonly instance: number;
  /** Next-best hosts for this instance, best first: the conductor's fallbacks on a claim conflict. */
  readonly alternates: readonly HostChoice[];
}

export interface SelectOptions {
  /** Leave each selection assumed on the snapshot (default false: the snapshot is left as found). */
  readonly keepAssumptions?: boolean;
}

export type SelectResult =
  | {
      readonly ok: true;
      readonly selections: readonly Selection[];
      /** The claims assumed (only when keepAssumptions): forget each once its claim has landed. */
      readonly assumed: readonly { readonly index: number; readonly claim: Claim }[];
      readonly explain: Explain;
    }
  | {
      readonly ok: false;
      readonly code: 'noValidHost';
      /** False when every rejection was unresolvable: the same request will not fit on a retry. */
      readonly retryable: boolean;
      readonly message: string;
      readonly explain: Explain;
    };

function choice(s: Snapshot, index: number): HostChoice {
  return { host: s.name(index), node: s.node(index), index };
}

/**
 * An alternate chosen for one instance may since have been taken by a later instance of the same
 * anti-affinity batch: drop alternates the group's rule no longer allows (all assumptions in place).
 */
function pruneAntiAffinityAlternates(
  snapshot: Snapshot,
  request: RequestSpec,
  selections: Selection[],
): void {
  const g = request.group;
  if (g?.policy !== 'anti-affinity') return;
  for (let i = 0; i < selections.length; i++) {
    const s = selections[i]!;
    const alternates = s.alternates.filter((a) => snapshot.groupCount(g.id, a.index) < g.maxServerPerHost);
    selections[i] = { ...s, alternates };
  }
}

export function select(
  snapshot: Snapshot,
  request: RequestSpec,
  profile: Profile,
  opts: SelectOptions = {},
): SelectResult {
  const rec = new ExplainRecorder(request.id, profile.name, snapshot.generation, snapshot.size);
  const rng = makeRng(request.id);
  const cache: ClassCache = new Array(snapshot.cols.classCount);
  const claim: Claim = { resources: request.resources, groupId: request.group?.id ?? null };
  const assumed: { index: number; claim: Claim }[] = [];
  const selections: Selection[] = [];
  const rollback = () => {
    for (const a of assumed.reverse()) snapshot.forget(a.index, a.claim);
    assumed.length = 0;
  };
  try {
    for (let instance = 0; instance < request.numInstances; instance++) {
      const ranked = placeOne({ ctx: { snapshot, request }, profile, rng, cache, rec, instance });
      const best = ranked[0];
      if (best === undefined) {
        rollback();
        const explain = rec.finish('noValidHost');
        const why = summarize(explain).slice(0, 3).join('; ');
        const message = `No valid host was found for instance ${instance + 1} of ${request.numInstances}${why ? `: ${why}` : ''}`;
        return {
          ok: false,
          code: 'noValidHost',
          retryable: explain.resolvableRejections > 0,
          message,
          explain,
        };
      }
      snapshot.assume(best, claim);
      assumed.push({ index: best, claim });
      selections.push({
        ...choice(snapshot, best),
        instance,
        alternates: ranked.slice(1).map((h) => choice(snapshot, h)),
      });
    }
    pruneAntiAffinityAlternates(snapshot, request, selections);
  } catch (err) {
    rollback();
    throw new CellplaneError('internal', `scheduler pipeline failed for request ${request.id}`, {
      cause: err,
    });
  }
  if (!opts.keepAssumptions) rollback();
  return { ok: true, selections, assumed: [...assumed], explain: rec.finish('selected') };
}
