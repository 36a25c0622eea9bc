/**
 * The first end-to-end boot path without a conductor, shared by the memory test
 * (boot-path.test.ts) and the real-server one (test/integration/boot-path-real.test.ts):
 * ask every shard → rank the picks → claim on the tree actor with the snapshot's generations
 * (conflict → next pick) → spawn on the host agent (a reschedulable failure → release, next
 * pick); all picks spent → select again, at most MAX_SELECT_ROUNDS times. Plus the invariant
 * checks read straight from the cell store and the fake hypervisors.
 *
 * Ranking: the select reply carries no score per pick, so shards cannot be merged by score;
 * the shard with more feasible hosts goes first (its primary, then its alternates), then the next.
 */
import type { HostRegistrar } from '../../../actors/host-registrar.ts';
import { loadTree } from '../../../actors/provider-tree.ts';
import type { ProviderTreeClient } from '../../../actors/provider-tree-client.ts';
import type { HostPick, SelectReply, SelectRequest } from '../../../actors/scheduler-shard-messages.ts';
import { rankPicks } from '../../../cells/conductor-ops.ts';
import { toCellplaneError } from '../../../core/errors.ts';
import type { Uuid } from '../../../core/model/ids.ts';
import { capacity } from '../../../core/model/inventory.ts';
import { providerUsages } from '../../../core/placement/usages.ts';
import type { Store } from '../../../core/ports/store.ts';
import type { HostAgentClient } from '../../../host-agent/client.ts';
import { shouldReschedule } from '../../../host-agent/driver.ts';

/** Selections per request before it fails (each after every pick of the previous one was spent). */
export const MAX_SELECT_ROUNDS = 3;

export interface BootDeps {
  readonly shardCount: number;
  select(req: SelectRequest, shard: number): Promise<SelectReply>;
  readonly trees: ProviderTreeClient;
  readonly agents: HostAgentClient;
  readonly registrar: HostRegistrar;
}

export type BootResult =
  | { readonly status: 'ACTIVE'; readonly host: string; readonly pick: HostPick }
  | { readonly status: 'ERROR'; readonly reason: string };

export interface BootStats {
  conflicts: number;
  rescheduled: number;
}

/** Instance uuid number n. */
export function instanceUuid(n: number): Uuid {
  return `b0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as Uuid;
}

export { rankPicks };

/** Boots instance n with `flavor`: ACTIVE on some host, or ERROR with the reason. */
export async function boot(
  deps: BootDeps,
  n: number,
  flavor: SelectRequest['flavor'],
  stats: BootStats,
): Promise<BootResult> {
  const uuid = instanceUuid(n);
  let reason = 'never selected';
  for (let round = 0; round < MAX_SELECT_ROUNDS; round++) {
    const req: SelectRequest = { id: `boot-${n}-${round}`, flavor, numInstances: 1 };
    const shards = Array.from({ length: deps.shardCount }, (_, s) => s);
    const replies = await Promise.all(shards.map((s) => deps.select(req, s)));
    const picks = rankPicks(replies);
    if (picks.length === 0) {
      const why = replies.map((r) => `shard ${r.shard}: ${r.message}`).join('; ');
      reason = `noValidHost (${why})`;
      if (replies.every((r) => !r.retryable)) break;
      continue;
    }
    for (const pick of picks) {
      const out = await tryPick(deps, uuid, pick, stats);
      if (out.status === 'ACTIVE') return out;
      reason = out.reason;
      if (out.final) return { status: 'ERROR', reason };
    }
  }
  return {
    status: 'ERROR',
    reason: `all picks spent after ${MAX_SELECT_ROUNDS} selections; last: ${reason}`,
  };
}

async function tryPick(
  deps: BootDeps,
  uuid: Uuid,
  pick: HostPick,
  stats: BootStats,
): Promise<Extract<BootResult, { status: 'ACTIVE' }> | { status: 'next'; reason: string; final: boolean }> {
  const claimed = await deps.trees.claim(pick.root, {
    consumer: uuid,
    project: 'p1',
    user: 'u1',
    allocations: pick.allocations,
    expectedGenerations: pick.generations,
  });
  if (!claimed.ok) {
    stats.conflicts++;
    return {
      status: 'next',
      reason: `claim conflict (${claimed.conflict.reason}) on ${pick.host}`,
      final: false,
    };
  }
  const host = deps.registrar.host(pick.host);
  try {
    if (!host) throw new Error(`host ${pick.host} selected but not registered`);
    const devices = Object.entries(pick.allocations)
      .filter(([rp]) => rp !== pick.root)
      .map(([providerUuid, resources]) => ({ providerUuid, resources }));
    const resources = pick.allocations[pick.root] ?? {};
    await deps.agents.spawn({ host: host.host, route: host.route }, { uuid, resources, devices });
    return { status: 'ACTIVE', host: pick.host, pick };
  } catch (err) {
    await deps.trees.release(pick.root, uuid); // never leak the claim of a failed spawn
    const e = toCellplaneError(err);
    const again = shouldReschedule(err);
    if (again) stats.rescheduled++;
    return { status: 'next', reason: `spawn on ${pick.host}: ${e.code} ${e.message}`, final: !again };
  }
}

/** Per provider uuid, per class: the amounts of every ACTIVE instance's claim. */
export function claimedUsage(results: readonly BootResult[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const r of results) {
    if (r.status !== 'ACTIVE') continue;
    for (const [rp, amounts] of Object.entries(r.pick.allocations)) {
      const sum = out.get(rp) ?? {};
      for (const [rc, n] of Object.entries(amounts)) sum[rc] = (sum[rc] ?? 0) + n;
      out.set(rp, sum);
    }
  }
  return out;
}

export interface StoredProvider {
  readonly uuid: string;
  readonly usages: Readonly<Record<string, number>>;
  readonly capacity: Readonly<Record<string, number>>;
  readonly consumers: number;
}

/** Every provider of the given trees as the cell store holds it (read without the actors). */
export async function storedProviders(store: Store, roots: readonly Uuid[]): Promise<StoredProvider[]> {
  const out: StoredProvider[] = [];
  for (const root of roots) {
    const t = await loadTree(store, root);
    for (const u of t.placement.subtree(root)) {
      const rp = t.placement.provider(u)!;
      const cap = Object.fromEntries([...rp.inventories].map(([rc, inv]) => [rc, capacity(inv)]));
      out.push({ uuid: u, usages: providerUsages(rp), capacity: cap, consumers: rp.consumers.size });
    }
  }
  return out;
}
