/**
 * Allocation candidates from a CandidateIndex — the same answer as `allocationCandidates`
 * (candidates.ts), in the same order, by vectorised passes over the slots, then tree by tree:
 *
 * 1. eligible slots = alive ANDNOT (OR of the forbidden traits' bitsets), then the aggregate
 *    rules per slot, on the slot or its root (member_of: in one of every any-of set; forbidden
 *    aggregates: in none);
 * 2. surviving roots = the roots in scope (all, or in_tree's root) with every `rootRequired`
 *    trait and no `rootForbidden` one;
 * 3. each `required` any-of set: roots of trees holding one of its traits (a necessary
 *    condition; the exact rule — the candidate's providers together have them — is per combo);
 * 4. surviving roots in slot (= creation) order: enumerate.ts finds per requested class the
 *    tree's eligible slots with inventory that can give the amount (unit rules, used + amount
 *    <= capacity), skips a tree lacking one, and lists combinations, stopping at `limit`. Done
 *    per tree rather than as a pass per class over every slot, so a query that reaches its limit
 *    early (1,000 of 10,000 hosts) checks only the trees it lists.
 * With `rng`, all candidates are listed, shuffled and cut at `limit`, like the reference.
 *
 * Scope: one unnumbered group, microversion 1.29+ semantics, no sharing providers in the state.
 * Anything else (granular groups, same_subtree, pre-1.29, a provider with
 * MISC_SHARES_VIA_AGGREGATE and an aggregate) is answered by the reference scan: `covers` tells.
 */
import type { Uuid } from '../../model/ids.ts';
import {
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
import { andInto, andNotInto, type Bitset, setBit } from './bitset.ts';
import type { CandidateIndex } from './candidate-index.ts';
import type { ClassColumn } from './columns.ts';
import { enumerate } from './enumerate.ts';
import { applyForbiddenAggregates, applyMemberOf, rootsOfInto } from './filters.ts';
import { summaries, toRequests } from './output.ts';
import { Scratch } from './scratch.ts';
import { CandidateSlots } from './slots.ts';

const scratches = new WeakMap<CandidateIndex, Scratch>();
const EMPTY: Bitset = new Uint32Array(0);

export function indexCandidates(
  ix: CandidateIndex,
  input: CandidateRequest | RequestGroup,
  opts: CandidateOptions = {},
): Outcome<Candidates> {
  const req = asRequest(input, opts);
  const found = findSlots(ix, req, opts.rng ? Number.POSITIVE_INFINITY : req.limit);
  if (found === undefined) return allocationCandidates(ix.state, req, opts);
  if (!found.ok) return found;
  const requests = toRequests(found.value);
  if (opts.rng) opts.rng.shuffle(requests);
  const kept = req.limit === undefined ? requests : requests.slice(0, req.limit);
  return ok({ allocationRequests: kept, providerSummaries: summaries(ix, kept) });
}

/**
 * The same search as `indexCandidates` (without shuffling), answered as slots (slots.ts): no
 * object per candidate. `undefined` when the index does not cover `req` (see Scope above):
 * ask the reference scan then. A request the engine refuses is refused as by `indexCandidates`.
 */
export function indexCandidateSlots(
  ix: CandidateIndex,
  req: CandidateRequest,
): Outcome<CandidateSlots> | undefined {
  return findSlots(ix, req, req.limit);
}

/** The reference's `Candidates` from slots (what `indexCandidates` answers without `rng`). */
export function slotsToCandidates(found: CandidateSlots): Candidates {
  const requests = toRequests(found);
  return { allocationRequests: requests, providerSummaries: summaries(found.index, requests) };
}

/** Candidates up to `stopAt` (undefined: all) as slots; undefined when the index does not cover `req`. */
function findSlots(
  ix: CandidateIndex,
  req: CandidateRequest,
  stopAt: number | undefined,
): Outcome<CandidateSlots> | undefined {
  const problem = requestProblem(ix.state, req);
  if (problem) return problem;
  if (!covers(ix, req)) return undefined;
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
  const limit = stopAt ?? Number.POSITIVE_INFINITY;
  const out = new CandidateSlots(ix, classes, amounts, limit);
  const columns: ClassColumn[] = [];
  for (const rc of classes) {
    const col = ix.columns.get(rc);
    if (!col) return ok(out); // no provider has this class
    columns.push(col);
  }
  if (search(ix, sc, req, group, words)) {
    const required = (group.required ?? []).map((anyOf) => anyOf.map((t) => ix.traitBits.get(t) ?? EMPTY));
    enumerate(ix, sc, { columns, amounts, required, words, stopAt: limit }, out);
  }
  return ok(out);
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

/** Steps 1–3; false when no tree can have a candidate. */
function search(
  ix: CandidateIndex,
  sc: Scratch,
  req: CandidateRequest,
  g: RequestGroup,
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
