/**
 * What the columns cannot answer on one host's provider tree (core/scheduler Snapshot.needsTree:
 * granular groups; traits asked of a tree with nested providers), answered by the Placement
 * engine itself (core/placement `allocationCandidates` on a state holding that tree alone), so the
 * shard and the Placement API have one candidate semantics: each suffixed group on one provider
 * with its traits, `group_policy=isolate` on different providers, the unnumbered group's traits
 * on the providers it takes from.
 *
 * The engine state of a tree is rebuilt only when the tree's version moved (a claim or a
 * release bumps it), and kept for at most MAX_TREE_STATES trees (the least recently used go).
 * The columns (the pipeline's cheaper filters) have already narrowed the hosts tried.
 */
import type { Uuid } from '../core/model/ids.ts';
import {
  type AllocationRequest,
  allocationCandidates,
  type SuffixedGroup,
} from '../core/placement/candidates.ts';
import { PlacementState } from '../core/placement/state.ts';
import type { RequestSpec } from '../core/scheduler/request.ts';
import { ensureClass, ensureTrait, insertProvider } from './provider-tree-store.ts';
import type { TreeView } from './scheduler-shard-trees.ts';

/**
 * Engine states kept per shard (one per tree recently asked): a select looks at tens of hosts, and
 * a claim changes its tree's version anyway; a small cache bounds the memory (a state is ~10 KB).
 */
export const MAX_TREE_STATES = 256;
/** The one consumer holding a tree's usages in its engine state. */
const USAGE_CONSUMER = '00000000-0000-0000-0000-00000000a11c' as Uuid;

/** The engine state of `tree`: its providers, and their usages as one consumer's allocations. */
export function treeState(tree: TreeView): PlacementState {
  const state = new PlacementState();
  const used = new Map<Uuid, Map<string, number>>();
  for (const p of tree.providers.values()) {
    insertProvider(state, p);
    const amounts = new Map(Object.entries(p.usages).filter(([, n]) => n > 0));
    if (amounts.size > 0) used.set(p.uuid, amounts);
  }
  if (used.size > 0)
    state.writeConsumer(USAGE_CONSUMER, {
      uuid: USAGE_CONSUMER,
      projectId: 'usage',
      userId: 'usage',
      consumerType: null,
      generation: 1,
      allocations: used,
    });
  return state;
}

/** The request as Placement's groups: the unnumbered one (if it asks anything) and each granular one. */
export function candidateGroups(request: RequestSpec): {
  groups: SuffixedGroup[];
  rootRequired: string[];
  rootForbidden: string[];
} {
  const groups: SuffixedGroup[] = [];
  const unnumbered = Object.fromEntries(request.resources.map((r) => [r.rc, r.amount]));
  const hasOwn = request.resources.length > 0;
  if (hasOwn)
    groups.push({
      suffix: '',
      resources: unnumbered,
      required: request.requiredTraits.map((t) => [t]),
      forbidden: request.forbiddenTraits,
    });
  for (const g of request.granular?.groups ?? [])
    groups.push({
      suffix: g.suffix,
      resources: Object.fromEntries(g.resources.map((r) => [r.rc, r.amount])),
      required: g.required.map((t) => [t]),
      forbidden: g.forbidden,
    });
  // Unnumbered traits with no unnumbered resources (a flavor of devices only): the tree's root.
  return {
    groups,
    rootRequired: hasOwn ? [] : [...request.requiredTraits],
    rootForbidden: hasOwn ? [] : [...request.forbiddenTraits],
  };
}

/** Answers remembered (the pipeline asks, then the pick asks again for the winners). */
export const MAX_REMEMBERED_FITS = 1024;

export class TreeFits {
  private readonly states = new Map<Uuid, { version: number; state: PlacementState }>();
  private readonly answers = new Map<string, AllocationRequest | undefined>();

  /** One way `tree` holds `request` (Placement's first candidate), or undefined when none. */
  fit(tree: TreeView, request: RequestSpec): AllocationRequest | undefined {
    const key = `${tree.root}|${tree.version}|${request.id}`;
    if (this.answers.has(key)) return this.answers.get(key);
    const answer = this.search(tree, request);
    if (this.answers.size >= MAX_REMEMBERED_FITS) this.answers.clear();
    this.answers.set(key, answer);
    return answer;
  }

  private search(tree: TreeView, request: RequestSpec): AllocationRequest | undefined {
    const { groups, rootRequired, rootForbidden } = candidateGroups(request);
    const state = this.stateOf(tree);
    // Custom traits and classes are one registry per region in Placement; a tree's own state knows
    // only those it uses. Name the request's too, so one no provider has reads as "none has it"
    // (forbidden: fine; required: no fit), never as Placement's 400 for an unknown name.
    for (const g of groups) {
      for (const rc of Object.keys(g.resources)) ensureClass(state, rc);
      for (const t of [...(g.required ?? []).flat(), ...(g.forbidden ?? [])]) ensureTrait(state, t);
    }
    for (const t of [...rootRequired, ...rootForbidden]) ensureTrait(state, t);
    const r = allocationCandidates(
      state,
      {
        groups,
        groupPolicy: request.granular?.policy ?? 'none',
        rootRequired,
        rootForbidden,
        limit: 1,
      },
      {},
    );
    return r.ok ? r.value.allocationRequests[0] : undefined;
  }

  private stateOf(tree: TreeView): PlacementState {
    const held = this.states.get(tree.root);
    if (held && held.version === tree.version) {
      this.states.delete(tree.root); // most recently used last
      this.states.set(tree.root, held);
      return held.state;
    }
    const state = treeState(tree);
    this.states.delete(tree.root);
    this.states.set(tree.root, { version: tree.version, state });
    if (this.states.size > MAX_TREE_STATES) this.states.delete(this.states.keys().next().value!);
    return state;
  }
}
