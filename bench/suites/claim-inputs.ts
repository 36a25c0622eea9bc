/**
 * The claim suite's inputs, shared by the in-process cases (claim.ts) and the actor child
 * (claim-run.ts): one fake host's provider tree (the cells suite's host shape, as the registrar
 * registers it) and the claims of ONE consumer on its root. Two claims that differ, so that
 * alternating them makes every claim a real change (a claim replaces what the consumer held);
 * the same claim twice is a replay (nothing written); a claim naming an old generation of the root
 * is refused with a `conflict` of reason `generation` (the scheduler's snapshot was stale).
 */
import type { ClaimRequest, ProviderData } from '../../actors/provider-tree-messages.ts';
import type { Generations } from '../../actors/provider-tree-wire.ts';
import type { Uuid } from '../../core/model/ids.ts';
import { stableUuid } from '../../host-agent/drivers/fake-host.ts';
import { hostSpecs, treeFor } from './cells-fleet.ts';
import type { LatencySummary } from './cells-latency.ts';

export const CLAIM_HOST = 'bench-claim-cn00001';
export const CLAIM_CELL = 'cell1';

export function claimTree(): { root: Uuid; providers: ProviderData[] } {
  const [spec] = hostSpecs(CLAIM_CELL, 1);
  return treeFor({ ...spec!, hostname: CLAIM_HOST });
}

export const CONSUMER = stableUuid('bench-claim-consumer');

/** Claim `which` (0 or 1) of the consumer on `root`, optionally naming the generations it expects. */
export function consumerClaim(root: Uuid, which: 0 | 1, expected?: Generations): ClaimRequest {
  const amounts =
    which === 0 ? { VCPU: 4, MEMORY_MB: 8_192, DISK_GB: 40 } : { VCPU: 2, MEMORY_MB: 4_096, DISK_GB: 20 };
  return {
    consumer: CONSUMER,
    project: 'bench',
    user: 'bench',
    allocations: { [root]: amounts },
    ...(expected ? { expectedGenerations: expected } : {}),
  };
}

/** `generations` with the root's generation moved one back: what a stale snapshot would name. */
export function staleGenerations(root: Uuid, generations: Generations): Generations {
  const g = generations[root];
  if (g === undefined || g < 1) throw new Error(`claim: root ${root} has no generation >= 1 to go back from`);
  return { ...generations, [root]: g - 1 };
}

export const CLAIM_CASES = ['change', 'replay', 'stale'] as const;
export type ClaimCase = (typeof CLAIM_CASES)[number];

export interface ClaimCaseResult {
  readonly case: ClaimCase;
  /** Claims ÷ wall time of the timed loop (one in flight). */
  readonly claimsPerS: number;
  readonly latency: LatencySummary;
}

export interface ClaimRunResult {
  readonly requests: number;
  readonly warmup: number;
  /** Store commits made by the timed and warm-up `change` claims (must equal their count). */
  readonly commits: number;
  readonly cases: readonly ClaimCaseResult[];
  readonly where: string;
}
