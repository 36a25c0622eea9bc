/**
 * The resource-provider tree actor: one per root provider (a host's tree), kind `rp`, id = the
 * root's uuid, scope = the cell. It alone owns the tree's providers (inventories, traits,
 * aggregates, generations) and the allocations of the consumers on it, so claims on one host
 * are serialised by its mailbox — no lock, no distributed transaction.
 *
 * Every change is ONE Store commit of the tree's record (provider-tree-store.ts), conditional on
 * the record's store generation, made BEFORE the reply; then an event goes out on
 * `cp.<cell>.events.rp.<root>` for the scheduler shards' snapshots (best effort: a shard that
 * sees a `version` gap resyncs with `snapshot`).
 *
 * Crash safety — the commit is the point of truth:
 * - the process dies (or the store fails) BEFORE the commit: nothing happened; a retry applies.
 * - it dies AFTER the commit but before the reply: the caller's retry of the same claim finds
 *   the consumer holding exactly those allocations and is answered ok (`replayed`), with the
 *   current generations, without allocating twice. When the store throws (the outcome is
 *   unknown), the instance marks itself stale and reloads from the store before its next
 *   message, so this holds without a process restart too.
 * - a refused change is thrown away: the state is rebuilt from the last committed record.
 * - a commit that loses its generation check (another writer: a stale owner of the scope)
 *   reloads and re-applies, at most MAX_COMMIT_ATTEMPTS times, then answers `unavailable`.
 *
 * Answers: register/claim/release/snapshot replies; `conflict` (claimConflictOf reads its
 * details: reason, current generations and free capacity — move to the next alternate; a claim
 * on a tree with no record is a `generation` conflict at version 0, see applyClaim);
 * `invalid`; `notFound` (snapshot of a tree never registered); `unavailable` (store down: retry
 * the same request, it is idempotent).
 *
 * After the store lost its data (core/stores/epoch.ts) the actors' memory is stale: the host
 * that serves them is restarted (deploy/cell-roles.ts) before the agents register again, or an
 * unchanged register would be answered `changed: false` from memory and never written.
 */
import { copyBytes } from '../core/codec/bytes.ts';
import { decode, encode } from '../core/codec/envelope.ts';
import { CellplaneError, toCellplaneError } from '../core/errors.ts';
import { parseUuid, type Uuid } from '../core/model/ids.ts';
import { type Outcome, PlacementState } from '../core/placement/operations.ts';
import type { Bus } from '../core/ports/bus.ts';
import type { Store, WriteOp } from '../core/ports/store.ts';
import {
  adjust,
  type ChangeCause,
  claim,
  PROVIDER_TREE_KIND,
  register,
  release,
  snapshot,
  treeChanged,
} from './provider-tree-messages.ts';
import {
  applyClaim,
  applyRegister,
  applyRelease,
  claimRefusal,
  generationsOf,
  isKnown,
  providerSnapshot,
  snapshotOf,
  type Touched,
} from './provider-tree-ops.ts';
import { applyAdjust, liveOverrides, type Overrides, withOverrides } from './provider-tree-overrides.ts';
import {
  overridesOf,
  recordOf,
  stateOf,
  TREE_INDEX,
  treeRecordMessage,
  treeRecords,
} from './provider-tree-store.ts';
import { type ActorContext, type ActorDefinition, defineActor } from './runtime/actor.ts';
import { checkScope, encodeId, SUBJECT_ROOT } from './runtime/address.ts';

/** Commits tried per change when the record's generation moved under us (then `unavailable`). */
export const MAX_COMMIT_ATTEMPTS = 3;

export interface ProviderTreeDeps {
  /** The cell's store. */
  readonly store: Store;
  /** Where change events are published. */
  readonly bus: Bus;
}

export interface TreeState {
  readonly root: Uuid;
  placement: PlacementState;
  /** Store generation of the tree's record; 0 = no record (the tree was never registered). */
  version: number;
  /** The record's bytes as last committed or loaded: what a refused change is rolled back to. */
  committed: Uint8Array | undefined;
  /** The store failed mid-commit, so what it holds is unknown: reload before the next message. */
  stale: boolean;
  /** An operator's changes, laid over the host's view at every register (provider-tree-overrides.ts). */
  overrides: Overrides;
}

/** `cp.<cell>.events.rp.<root>`: one tree's change events. */
export function treeEventSubject(scope: string, root: string): string {
  checkScope(scope);
  return `${SUBJECT_ROOT}.${scope}.events.${PROVIDER_TREE_KIND}.${encodeId(root)}`;
}

/** Every tree's change events in a cell. */
export function treeEventWildcard(scope: string): string {
  checkScope(scope);
  return `${SUBJECT_ROOT}.${scope}.events.${PROVIDER_TREE_KIND}.*`;
}

/** Reads a tree from the store (what activation does). */
export async function loadTree(store: Store, root: Uuid): Promise<TreeState> {
  const entry = await store.get(treeRecords(store).key(root));
  if (!entry)
    return {
      root,
      placement: new PlacementState(),
      version: 0,
      committed: undefined,
      stale: false,
      overrides: new Map(),
    };
  const record = decode(treeRecordMessage, entry.value);
  return {
    root,
    placement: stateOf(record),
    version: entry.generation,
    committed: entry.value,
    stale: false,
    overrides: overridesOf(record),
  };
}

export function providerTreeActor(deps: ProviderTreeDeps): ActorDefinition<TreeState> {
  const tree = new TreeWriter(deps);
  return defineActor<TreeState>({
    kind: PROVIDER_TREE_KIND,
    activate: (id) => loadTree(deps.store, parseUuid(id, 'provider tree id')),
    // No deactivate: every change is committed before its reply.
  })
    .on(register, async (ctx, req) => {
      const done = await tree.change(ctx, 'register', (s) => {
        const { root, overrides } = ctx.state;
        const out = applyRegister(s, root, withOverrides(req.providers, overrides));
        return out.ok
          ? { ok: true, value: { ...out.value, overrides: liveOverrides(s, root, overrides) } }
          : out;
      });
      const { placement, root, version } = ctx.state;
      return { changed: done.changed, version, generations: generationsOf(placement, root) };
    })
    .on(claim, async (ctx, req) => {
      const done = await tree.change(ctx, 'claim', (s) => applyClaim(s, ctx.state.root, req), claimRefusal);
      const { placement, root, version } = ctx.state;
      return { replayed: done.value.replayed, version, generations: generationsOf(placement, root) };
    })
    .on(release, async (ctx, req) => {
      const done = await tree.change(ctx, 'release', (s) => applyRelease(s, req.consumer as Uuid));
      const { placement, root, version } = ctx.state;
      return { released: done.value.released, version, generations: generationsOf(placement, root) };
    })
    .on(adjust, async (ctx, req) => {
      await tree.change(ctx, 'register', (s) => applyAdjust(s, ctx.state.root, ctx.state.overrides, req));
      const { placement, root, version } = ctx.state;
      return { version, generations: generationsOf(placement, root) };
    })
    .on(snapshot, async (ctx, req) => {
      await tree.fresh(ctx);
      const { placement, root, version } = ctx.state;
      if (!isKnown(placement, root))
        throw new CellplaneError('notFound', `provider tree ${root} is not registered`);
      return snapshotOf(placement, root, version, req.consumers ?? false);
    });
}

/** Apply → commit → publish, with rollback and reload (see the header). */
class TreeWriter {
  constructor(private readonly deps: ProviderTreeDeps) {}

  /** Reloads the tree when the store's outcome of the last commit is unknown. */
  async fresh(ctx: ActorContext<TreeState>): Promise<void> {
    if (ctx.state.stale) ctx.state = await loadTree(this.deps.store, ctx.state.root);
  }

  async change<T extends Touched>(
    ctx: ActorContext<TreeState>,
    cause: ChangeCause,
    apply: (state: PlacementState) => Outcome<T>,
    /** Turns the engine's refusal into the answer (a claim's conflict carries generations and free capacity). */
    answer: (state: PlacementState, root: Uuid, version: number, err: CellplaneError) => CellplaneError = (
      _s,
      _r,
      _v,
      err,
    ) => err,
  ): Promise<{ value: T; changed: boolean }> {
    for (let attempt = 1; ; attempt++) {
      await this.fresh(ctx);
      const t = ctx.state;
      const out = apply(t.placement);
      if (!out.ok) {
        t.placement = rollback(t);
        const refusal = answer(t.placement, t.root, t.version, out.error);
        if (cause === 'claim' && refusal.details?.reason === 'generation') this.announce(ctx.scope, t);
        throw refusal;
      }
      const overrides = (out.value as { overrides?: Overrides }).overrides ?? t.overrides;
      const bytes = encode(treeRecordMessage, recordOf(t.placement, t.root, overrides));
      const same = t.committed ? sameBytes(bytes, t.committed) : !isKnown(t.placement, t.root);
      if (same) return { value: out.value, changed: false }; // idempotent: nothing to write
      if (await this.commit(t, bytes)) {
        t.overrides = overrides;
        this.publish(ctx.scope, t, cause, out.value);
        return { value: out.value, changed: true };
      }
      t.stale = true; // another writer moved the record: reload and apply again
      if (attempt >= MAX_COMMIT_ATTEMPTS)
        throw new CellplaneError(
          'unavailable',
          `provider tree ${t.root}: its record changed under this actor ${attempt} times (is another host serving this cell?)`,
        );
    }
  }

  /** True once committed; false when the generation check failed; throws when the outcome is unknown. */
  private async commit(t: TreeState, bytes: Uint8Array): Promise<boolean> {
    const records = treeRecords(this.deps.store);
    const key = records.key(t.root);
    const ops: WriteOp[] = [{ op: 'put', key, value: bytes, expectedGeneration: t.version }];
    if (t.version === 0) ops.push({ op: 'index', index: TREE_INDEX, member: t.root });
    let result: Awaited<ReturnType<Store['commit']>>;
    try {
      result = await this.deps.store.commit(ops);
    } catch (err) {
      t.stale = true;
      const e = toCellplaneError(err);
      const code = e.code === 'internal' ? 'unavailable' : e.code;
      throw new CellplaneError(
        code,
        `provider tree ${t.root}: commit failed, outcome unknown (retry): ${e.message}`,
        {
          cause: err,
          retryable: true,
        },
      );
    }
    if (!result.ok) return false;
    t.version = result.generations[key] ?? t.version + 1;
    t.committed = copyBytes(bytes); // kept for the actor's life: not a view into the encoder's pool
    return true;
  }

  /**
   * A claim refused for stale generations means its picker's view of this tree is behind — a
   * change event it missed (core pub/sub is at most once), and no later change to bring it up to
   * date: every claim from that view would conflict for ever. So the tree's state is announced
   * again, as of its current version (shards that are current ignore it, shards behind re-read).
   */
  private announce(scope: string, t: TreeState): void {
    if (!isKnown(t.placement, t.root)) return;
    this.publish(scope, t, 'claim', { providers: [...t.placement.subtree(t.root)], removed: [] });
  }

  private publish(scope: string, t: TreeState, cause: ChangeCause, touched: Touched): void {
    const providers = touched.providers
      .map((u) => t.placement.provider(u))
      .filter((rp) => rp !== undefined)
      .map(providerSnapshot);
    const event = { root: t.root, version: t.version, cause, providers, removed: [...touched.removed] };
    try {
      this.deps.bus.publish(treeEventSubject(scope, t.root), encode(treeChanged, event));
    } catch {
      // Events are best effort: the commit stands, and a shard resyncs on the version gap.
    }
  }
}

function rollback(t: TreeState): PlacementState {
  if (!t.committed) return new PlacementState();
  const record = decode(treeRecordMessage, t.committed);
  t.overrides = overridesOf(record);
  return stateOf(record);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
