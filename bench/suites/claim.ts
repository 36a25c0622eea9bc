/**
 * Claim suite: claiming resources for ONE consumer on one provider tree — (1) the placement
 * engine alone in this process (actors/provider-tree-ops.ts `applyClaim` on a PlacementState:
 * the checks and the allocation write, no record encoding, no store, no bus), timed by the
 * harness; (2) the provider-tree actor's whole claim path on the memory adapters, in a child
 * process (claim-run.ts: asynchronous, one claim in flight, HDR histogram), started from the
 * first case's `prepare`. Three cases each: a claim that changes the allocations, a replayed
 * claim, and a claim refused for a stale generation. `--quick` (seen in process.argv) times
 * fewer claims in the child.
 */
import { applyClaim, applyRegister, generationsOf } from '../../actors/provider-tree-ops.ts';
import { PlacementState } from '../../core/placement/operations.ts';
import { markdownTable } from '../lib/report.ts';
import { formatOps, formatSig } from '../lib/stats.ts';
import { type BenchCase, defineSuite } from '../lib/types.ts';
import { type ChildOutcome, runChild } from './child-run.ts';
import {
  CLAIM_CASES,
  type ClaimCase,
  type ClaimRunResult,
  claimTree,
  consumerClaim,
  staleGenerations,
} from './claim-inputs.ts';

const QUICK = process.argv.includes('--quick');
const ACTOR = QUICK ? { requests: 500, warmup: 100 } : { requests: 5000, warmup: 1000 };
const CHILD_TIMEOUT_MS = 300_000;

const ROWS: Record<ClaimCase, string> = {
  change: 'claim that changes the allocations',
  replay: 'same claim again (replayed)',
  stale: 'claim refused: stale generation',
};

let actorRun: ChildOutcome<ClaimRunResult> | undefined;

function engineCase(c: ClaimCase): BenchCase {
  return {
    row: ROWS[c],
    variant: 'engine',
    prepare() {
      actorRun ??= runChild<ClaimRunResult>('bench/suites/claim-run.ts', [ACTOR.requests, ACTOR.warmup], {
        timeoutMs: CHILD_TIMEOUT_MS,
      });
      const { root, providers } = claimTree();
      const state = new PlacementState();
      const reg = applyRegister(state, root, providers);
      if (!reg.ok) throw new Error(`claim: register failed: ${reg.error.message}`);
      const first = applyClaim(state, root, consumerClaim(root, 0));
      if (!first.ok || first.value.replayed)
        throw new Error('claim: the first claim did not change anything');
      const stale = staleGenerations(root, generationsOf(state, root));
      let n = 0;
      const ops: Record<ClaimCase, () => ReturnType<typeof applyClaim>> = {
        change: () => applyClaim(state, root, consumerClaim(root, (++n % 2) as 0 | 1)),
        replay: () => applyClaim(state, root, consumerClaim(root, (n % 2) as 0 | 1)),
        stale: () => applyClaim(state, root, consumerClaim(root, ((n + 1) % 2) as 0 | 1, stale)),
      };
      const op = ops[c];
      const out = op();
      const right =
        c === 'stale'
          ? !out.ok && out.error.code === 'conflict'
          : out.ok && out.value.replayed === (c === 'replay');
      if (!right) throw new Error(`claim ${c}: unexpected outcome ${JSON.stringify(out)}`);
      return op;
    },
  };
}

function actorNotes(): string {
  const run = actorRun;
  if (!run) return '';
  if (!run.ok) return `**The actor path failed**: ${run.reason} (\`${run.cmd}\`)`;
  const r = run.value;
  const ms = (x: number) => formatSig(x);
  const rows = r.cases.map((c) => [
    ROWS[c.case],
    formatOps(c.claimsPerS),
    ms(c.latency.p50Ms),
    ms(c.latency.p99Ms),
    ms(c.latency.maxMs),
    c.latency.count.toLocaleString('en-US'),
  ]);
  return [
    '**The provider-tree actor, whole claim path** (ProviderTreeClient → ActorClient → memory bus →',
    "the tree's mailbox → applyClaim → encode the tree's record → conditional commit to the memory",
    'store → change event → reply), one claim in flight, each timed with performance.now() into an HDR',
    `histogram after ${r.warmup.toLocaleString('en-US')} untimed ones:`,
    '',
    markdownTable(['case', 'claims/s', 'p50 ms', 'p99 ms', 'max ms', 'claims'], rows),
    '',
    `${r.where}. Every answer was checked (changed / replayed / conflict \`generation\`); the`,
    `changing claims made ${r.commits.toLocaleString('en-US')} commits, replays and refusals none. A`,
    "refusal also builds the conflict's details (the tree's generations and free capacity) and rolls",
    'the actor back by decoding its last committed record. The harness table above (`engine`) is',
    '`applyClaim` alone on the same tree. Command (run by the suite): `' + run.cmd + '`.',
  ].join('\n');
}

export const claimSuite = defineSuite({
  name: 'claim',
  title: 'Claim path: one consumer on one provider tree',
  about:
    "One fake host's provider tree (32 cores ×4, 128 GiB, 2 TB, as the cells suite registers it) and " +
    'one consumer whose claim alternates between 4 VCPU/8 GiB/40 GB and 2 VCPU/4 GiB/20 GB on the ' +
    'root (every claim a change), the same claim again (a replay: nothing written), and a claim ' +
    "naming the root's previous generation (refused: conflict `generation`, what a stale scheduler " +
    'snapshot gets). `engine`: applyClaim on the PlacementState in this process.',
  cases: () => CLAIM_CASES.map(engineCase),
  notes: actorNotes,
});
