/**
 * Talking to provider-tree actors with typed results: what a cell conductor, a host agent or a
 * scheduler shard uses. A claim's `conflict` comes back as data (`{ ok: false, conflict }`,
 * STYLE.md §6: an expected outcome that moves the caller to its next alternate), every other
 * failure as the coded CellplaneError the ask rejected with.
 */
import type { Uuid } from '../core/model/ids.ts';
import {
  type AdjustReply,
  adjust,
  type ClaimConflict,
  type ClaimReply,
  type ClaimRequest,
  claim,
  claimConflictOf,
  PROVIDER_TREE_KIND,
  type ProviderData,
  type RegisterReply,
  type ReleaseReply,
  register,
  release,
  snapshot,
  type TreeSnapshot,
} from './provider-tree-messages.ts';
import type { AdjustRequest } from './provider-tree-overrides.ts';
import type { ActorClient, AskOptions } from './runtime/client.ts';

export type ClaimOutcome =
  | { readonly ok: true; readonly reply: ClaimReply }
  | { readonly ok: false; readonly conflict: ClaimConflict };

export function treeAddress(root: string): { kind: string; id: string } {
  return { kind: PROVIDER_TREE_KIND, id: root };
}

/** A claim's conflict because the tree has no record (never registered, or lost with the store). */
export function isUnregistered(conflict: ClaimConflict): boolean {
  return conflict.version === 0;
}

export interface ProviderTreeClientHooks {
  /**
   * A claim found its tree unregistered (`isUnregistered`): the scheduler's snapshot still holds
   * a tree the store lost. The cell roles ask that host to register again. Must not throw.
   */
  readonly onUnregistered?: (root: string) => void;
}

export class ProviderTreeClient {
  constructor(
    private readonly actors: ActorClient,
    private readonly opts: AskOptions = {},
    private readonly hooks: ProviderTreeClientHooks = {},
  ) {}

  /** Creates or updates a whole tree (idempotent): `providers` includes the root `root`. */
  register(root: Uuid | string, providers: readonly ProviderData[]): Promise<RegisterReply> {
    return this.actors.ask(treeAddress(root), register, { providers }, this.opts);
  }

  /** Claims on one tree; retry the same claim after a `timeout`/`unavailable`: it is idempotent. */
  async claim(root: Uuid | string, req: ClaimRequest): Promise<ClaimOutcome> {
    try {
      return { ok: true, reply: await this.actors.ask(treeAddress(root), claim, req, this.opts) };
    } catch (err) {
      const conflict = claimConflictOf(err);
      if (!conflict) throw err;
      if (isUnregistered(conflict)) this.hooks.onUnregistered?.(String(root));
      return { ok: false, conflict };
    }
  }

  /** Frees what `consumer` holds on the tree (idempotent). */
  release(root: Uuid | string, consumer: string): Promise<ReleaseReply> {
    return this.actors.ask(treeAddress(root), release, { consumer }, this.opts);
  }

  /**
   * An operator's change to one provider of the tree (traits, aggregates, inventory tuning),
   * checked against `req.generation` (`conflict` when stale) and kept across the host's registers.
   */
  adjust(root: Uuid | string, req: AdjustRequest): Promise<AdjustReply> {
    return this.actors.ask(treeAddress(root), adjust, req, this.opts);
  }

  snapshot(root: Uuid | string, opts: { consumers?: boolean } = {}): Promise<TreeSnapshot> {
    return this.actors.ask(treeAddress(root), snapshot, opts, this.opts);
  }
}
