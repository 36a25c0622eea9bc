/**
 * Allocation candidates from a CandidateIndex — the same answer as `allocationCandidates`
 * (candidates.ts), in the same order, by vectorised passes over the slots:
 *
 * 1. eligible slots = alive ANDNOT (OR of the forbidden traits' bitsets), then the aggregate
 *    rules per slot, on the slot or its root (member_of: in one of every any-of set; forbidden
 *    aggregates: in none);
 * 2. surviving roots = the roots in scope (all, or in_tree's root) with every `rootRequired`
 *    trait and no `rootForbidden` one;
 * 3. per requested class: the eligible slots with inventory that can give the amount (unit
 *    rules, used + amount <= capacity) → a giver bitset, and their roots → AND into the
 *    survivors (after the first class only slots of surviving roots are checked);
 * 4. each `required` any-of set: roots of trees holding one of its traits (a necessary
 *    condition; the exact rule — the candidate's providers together have them — is per combo);
 * 5. surviving roots in slot (= creation) order: enumerate.ts, stopping at `limit`.
 * With `rng`, all candidates are listed, shuffled and cut at `limit`, like the reference.
 *
 * Scope: one unnumbered group, microversion 1.29+ semantics, no sharing providers in the state.
 * Anything else (granular groups, same_subtree, pre-1.29, a provider with
 * MISC_SHARES_VIA_AGGREGATE and an aggregate) is answered by the reference scan: `covers` tells.
 */
import type { Uuid } from '../../model/ids.ts';
import {
  type AllocationRequest,
  allocationCandidates,
  type CandidateOptions,
  type CandidateRequest,
  type Candidates,
  type RequestGroup,
  SHARING_TRAIT,
  type SuffixedGroup,
} from '../candidates.ts';
import { requestProblem } from '../candidates-request.ts';
import { type Outcome, ok } from '../errors.ts';
import { andInto, andNotInto, type Bitset, hasBit, setBit } from './bitset.ts';
import type { CandidateIndex } from './candidate-index.ts';
import { enumerate } from './enumerate.ts';
import { applyForbiddenAggregates, applyMemberOf, rootsOfInto } from './filters.ts';
import { summaries } from './output.ts';
import { Scratch } from './scratch.ts';

const scratches = new WeakMap<CandidateIndex, Scratch>();
const EMPTY: Bitset = new Uint32Array(0);

export function indexCandidates(
  ix: CandidateIndex,
  input: CandidateRequest | RequestGroup,
  opts: CandidateOptions = {},
): Outcome<Candidates> {
  const req = asRequest(input, opts);
  const problem = requestProblem(ix.state, req);
  if (problem) return problem;
  if (!covers(ix, req)) return allocationCandidates(ix.state, req, opts);
  const group = req.groups[0]!;
  const classes = Object.keys(group.resources);
  const amounts = classes.map((rc) => group.resources[rc]!);
  let sc = scratches.get(ix);
  if (!sc) {
    sc = new Scratch();
    scratches.set(ix, sc);
  }
  const words = ix.words;
  sc.prepare(words, classes.length);
  const requests: AllocationRequest[] = [];
  if (search(ix, sc, req, group, classes, amounts, words)) {
    const required = (group.required ?? []).map((anyOf) => anyOf.map((t) => ix.traitBits.get(t) ?? EMPTY));
    const stopAt = opts.rng ? Number.POSITIVE_INFINITY : (req.limit ?? Number.POSITIVE_INFINITY);
    enumerate(ix, sc, { classes, amounts, required, words, stopAt }, requests);
  }
  if (opts.rng) opts.rng.shuffle(requests);
  const kept = req.limit === undefined ? requests : requests.slice(0, req.limit);
  return ok({ allocationRequests: kept, providerSummaries: summaries(ix, kept) });
}

/** True when the index answers `req` itself (see Scope above); false: the reference scan does. */
export function covers(ix: CandidateIndex, req: CandidateRequest): boolean {
  if (req.groups.length !== 1 || req.groups[0]!.suffix !== '') return false;
  if (req.nestedAware === false || (req.sameSubtree?.length ?? 0) > 0) return false;
  if (Object.keys(req.groups[0]!.resources).length === 0) return false;
  const sharing = ix.traitBits.get(SHARING_TRAIT);
  if (!sharing) return true;
  for (let i = 0; i < ix.words; i++) {
    let w = sharing[i]!;
    while (w !== 0) {
      const low = w & -w;
      w ^= low;
      if (ix.hasAggregates((i << 5) | (31 - Math.clz32(low)))) return false;
    }
  }
  return true;
}

/** The bare-group call shape as a request, like the reference's. */
function asRequest(input: CandidateRequest | RequestGroup, opts: CandidateOptions): CandidateRequest {
  if ('groups' in input)
    return input.limit === undefined && opts.limit !== undefined ? { ...input, limit: opts.limit } : input;
  const group: SuffixedGroup = { ...input, suffix: '' };
  return { groups: [group], limit: opts.limit };
}

/** Steps 1–4; false when no tree can have a candidate. */
function search(
  ix: CandidateIndex,
  sc: Scratch,
  req: CandidateRequest,
  g: RequestGroup,
  classes: readonly string[],
  amounts: readonly number[],
  words: number,
): boolean {
  sc.eligible.set(ix.alive.subarray(0, words));
  for (const t of g.forbidden ?? []) {
    const b = ix.traitBits.get(t);
    if (b) andNotInto(sc.eligible, b, words);
  }
  if (g.memberOf) applyMemberOf(ix, sc, g.memberOf, words);
  if (g.forbiddenAggregates) applyForbiddenAggregates(ix, sc, g.forbiddenAggregates, words);
  if (!rootsInScope(ix, sc, g.inTree, words)) return false;
  for (const t of req.rootRequired ?? []) {
    const b = ix.traitBits.get(t);
    if (b) andInto(sc.survivors, b, words);
    else sc.survivors.fill(0, 0, words);
  }
  for (const t of req.rootForbidden ?? []) {
    const b = ix.traitBits.get(t);
    if (b) andNotInto(sc.survivors, b, words);
  }
  for (let c = 0; c < classes.length; c++) {
    const col = ix.columns.get(classes[c]!);
    if (!col) return false;
    sc.hit.fill(0, 0, words);
    const givers = sc.givers[c]!;
    const present = col.present;
    const rootOf = ix.rootOf;
    const amount = amounts[c]!;
    for (let i = 0; i < words; i++) {
      let w = sc.eligible[i]! & present[i]!;
      while (w !== 0) {
        const low = w & -w;
        const slot = (i << 5) | (31 - Math.clz32(low));
        w ^= low;
        const root = rootOf[slot]!;
        if (c > 0 && !hasBit(sc.survivors, root)) continue;
        if (!col.canGive(slot, amount)) continue;
        setBit(givers, slot);
        setBit(sc.hit, root);
      }
    }
    andInto(sc.survivors, sc.hit, words);
  }
  for (const anyOf of g.required ?? []) {
    sc.hit.fill(0, 0, words);
    for (const t of anyOf) rootsOfInto(ix, ix.traitBits.get(t), sc.hit, words);
    andInto(sc.survivors, sc.hit, words);
  }
  return true;
}

/** survivors = the roots the query may use (all roots, or in_tree's root). */
function rootsInScope(ix: CandidateIndex, sc: Scratch, inTree: Uuid | undefined, words: number): boolean {
  if (inTree === undefined) {
    sc.survivors.set(ix.roots.subarray(0, words));
    return true;
  }
  const slot = ix.slotOf.get(inTree);
  if (slot === undefined) return false;
  setBit(sc.survivors, ix.rootOf[slot]!);
  return true;
}
