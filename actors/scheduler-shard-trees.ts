/**
 * What a scheduler shard knows of each provider tree of its partition, and how it keeps that
 * current — pure (no I/O):
 * - `treeFromRecord` turns a tree's Store record (`rp/<root>`, read on takeover) into a
 *   TreeView (usages derived from the consumers' allocations, as the tree actor does);
 * - `applyTreeEvent` folds one `cp.rp.changed` event in, using the tree's `version` (the store
 *   generation of its record, +1 per committed change): an older or equal version is stale
 *   (already seen), the next one applies, anything further means events were lost (`gap`):
 *   the caller re-reads that tree from the Store.
 */
import type { Uuid } from '../core/model/ids.ts';
import type { ProviderSnapshot, TreeChanged } from './provider-tree-messages.ts';
import type { TreeRecord } from './provider-tree-store.ts';

export interface TreeView {
  readonly root: Uuid;
  /** Store generation of the tree's record the view reflects. */
  version: number;
  /** By uuid, pre-order from the root (new providers appended). */
  readonly providers: Map<string, ProviderSnapshot>;
}

export type EventOutcome =
  /** Applied; `shape` is false when only usages/generations changed (a claim or release). */
  | { readonly kind: 'applied'; readonly shape: boolean }
  | { readonly kind: 'stale' }
  /** Events were missed (or the tree is new to us mid-life): re-read the tree from the Store. */
  | { readonly kind: 'gap' };

export function treeFromRecord(record: TreeRecord, version: number): TreeView {
  const used = new Map<string, Map<string, number>>();
  for (const c of record.consumers) {
    for (const [rp, amounts] of Object.entries(c.allocations)) {
      const per = used.get(rp) ?? new Map<string, number>();
      for (const [rc, n] of Object.entries(amounts)) per.set(rc, (per.get(rc) ?? 0) + n);
      used.set(rp, per);
    }
  }
  const providers = new Map<string, ProviderSnapshot>();
  for (const p of record.providers) {
    const usages: Record<string, number> = {};
    for (const rc of Object.keys(p.inventories)) usages[rc] = used.get(p.uuid)?.get(rc) ?? 0;
    providers.set(p.uuid, { ...p, usages });
  }
  return { root: record.root, version, providers };
}

/** Folds `ev` into `trees` (see the header). A new tree is taken from its first event (version 1). */
export function applyTreeEvent(trees: Map<string, TreeView>, ev: TreeChanged): EventOutcome {
  const t = trees.get(ev.root);
  if (!t) {
    if (ev.version !== 1 || ev.cause !== 'register') return { kind: 'gap' };
    const providers = new Map(ev.providers.map((p) => [p.uuid, p] as const));
    trees.set(ev.root, { root: ev.root as Uuid, version: 1, providers });
    return { kind: 'applied', shape: true };
  }
  if (ev.version <= t.version) return { kind: 'stale' };
  if (ev.version > t.version + 1) return { kind: 'gap' };
  for (const p of ev.providers) t.providers.set(p.uuid, p);
  for (const r of ev.removed) t.providers.delete(r);
  t.version = ev.version;
  return { kind: 'applied', shape: ev.cause === 'register' || ev.removed.length > 0 };
}
