/**
 * Child process of the claim suite: the provider-tree actor's claim path in one process on the
 * memory adapters (MemoryBroker on the system clock, MemoryStore), asked through ActorClient and
 * ProviderTreeClient as a conductor does: encode → bus → mailbox → applyClaim → encode the tree's
 * record → conditional store commit → change event → reply → decode.
 *
 *   node --import tsx bench/suites/claim-run.ts <requests> <warmup>
 *
 * One tree, one consumer, one claim in flight at a time (the tree's mailbox serialises claims
 * anyway), each timed with performance.now() into an HDR histogram after `warmup` untimed ones:
 *   change   the consumer's claim alternates between two sizes: every claim commits;
 *   replay   the same claim again: answered `replayed`, nothing written;
 *   stale    a claim naming the root's previous generation: refused, conflict `generation`
 *            (the actor rolls back to its last committed record).
 * Every answer is checked (a wrong outcome fails the run). Prints one JSON line (ClaimRunResult).
 */
import { providerTreeActor } from '../../actors/provider-tree.ts';
import { type ClaimOutcome, ProviderTreeClient } from '../../actors/provider-tree-client.ts';
import { ActorClient } from '../../actors/runtime/client.ts';
import { ActorHost } from '../../actors/runtime/host.ts';
import { MemoryBroker } from '../../core/adapters/memory/bus.ts';
import { MemoryStore } from '../../core/adapters/memory/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { LatencyRecorder, perSecond } from './cells-latency.ts';
import { parsePositive } from './cells-process.ts';
import {
  CLAIM_CASES,
  CLAIM_CELL,
  type ClaimCase,
  type ClaimCaseResult,
  type ClaimRunResult,
  claimTree,
  consumerClaim,
  staleGenerations,
} from './claim-inputs.ts';

const ASK_TIMEOUT_MS = 5_000;

function expect(ok: boolean, what: string, out: ClaimOutcome): void {
  if (!ok) throw new Error(`claim ${what}: unexpected answer ${JSON.stringify(out)}`);
}

async function main(): Promise<void> {
  const [requestsArg, warmupArg] = process.argv.slice(2);
  const requests = parsePositive('requests', requestsArg);
  const warmup = parsePositive('warmup', warmupArg);
  const broker = new MemoryBroker({ clock: systemClock });
  const hostBus = broker.connect();
  const clientBus = broker.connect();
  const store = new MemoryStore();
  let commits = 0;
  const counting = Object.create(store) as MemoryStore;
  counting.commit = async (ops) => {
    const r = await store.commit(ops);
    if (r.ok) commits++;
    return r;
  };
  const host = new ActorHost({ bus: hostBus, clock: systemClock, scope: CLAIM_CELL });
  try {
    await host.register(providerTreeActor({ store: counting, bus: hostBus }));
    const trees = new ProviderTreeClient(
      new ActorClient(clientBus, { scope: CLAIM_CELL, askTimeoutMs: ASK_TIMEOUT_MS }),
    );
    const { root, providers } = claimTree();
    await trees.register(root, providers);
    const first = await trees.claim(root, consumerClaim(root, 0));
    if (!first.ok) throw new Error(`claim: the first claim was refused: ${JSON.stringify(first.conflict)}`);
    const stale = staleGenerations(root, first.reply.generations);

    let n = 0;
    const ops: Record<ClaimCase, () => Promise<void>> = {
      change: async () => {
        const out = await trees.claim(root, consumerClaim(root, (++n % 2) as 0 | 1));
        expect(out.ok && !out.reply.replayed, 'change', out);
      },
      replay: async () => {
        const out = await trees.claim(root, consumerClaim(root, (n % 2) as 0 | 1));
        expect(out.ok && out.reply.replayed, 'replay', out);
      },
      stale: async () => {
        const out = await trees.claim(root, consumerClaim(root, ((n + 1) % 2) as 0 | 1, stale));
        expect(!out.ok && out.conflict.reason === 'generation', 'stale', out);
      },
    };
    const commitsBefore = commits;
    const cases: ClaimCaseResult[] = [];
    for (const c of CLAIM_CASES) {
      for (let i = 0; i < warmup; i++) await ops[c]();
      const rec = new LatencyRecorder();
      const t0 = performance.now();
      for (let i = 0; i < requests; i++) {
        const s = performance.now();
        await ops[c]();
        rec.record(performance.now() - s);
      }
      cases.push({
        case: c,
        claimsPerS: perSecond(requests, performance.now() - t0),
        latency: rec.summary(),
      });
    }
    const made = commits - commitsBefore;
    if (made !== requests + warmup)
      throw new Error(
        `claim: ${made} commits for ${requests + warmup} changing claims (replays and refusals must not write)`,
      );
    const result: ClaimRunResult = {
      requests,
      warmup,
      commits: made,
      cases,
      where: 'one process: memory broker (2 connections: tree host, client), memory store, system clock',
    };
    console.log(JSON.stringify(result));
  } finally {
    await host.shutdown();
    await hostBus.close().catch(() => {});
    await clientBus.close().catch(() => {});
  }
}

await main();
