/**
 * cellplane's Placement API serving a bench fleet, as its own process (started by
 * cellplane-http.ts, the way real-placement.ts starts placement-api):
 *
 *   node --import tsx bench/placement/cellplane-server.ts ROOTS flat|nested SEED
 *
 * The fleet goes into the memory Store as the records the service persists (one commit), then
 * `PlacementService.open` loads it the way a restarted server loads its store, and the app
 * (noauth) listens on a free loopback port. Prints one JSON line `{url, providers, loadMs}` once
 * it listens; on stdin's end (the parent closed it or died) or SIGTERM/SIGINT it prints
 * `{connections}` (TCP connections accepted, to check the client kept them alive) and exits.
 */
import { buildPlacementApp } from '../../api/placement/app.ts';
import { placementRecords } from '../../api/placement/records.ts';
import { PlacementService } from '../../api/placement/service.ts';
import { recordOps, Sequence } from '../../api/placement/snapshot.ts';
import { MemoryStore } from '../../core/adapters/memory/store.ts';
import type { StateChange } from '../../core/placement/state.ts';
import type { Store } from '../../core/ports/store.ts';
import { MAX_COMMIT_OPS } from '../../core/stores/rules.ts';
import { CUSTOM_TRAITS, loadState, makeFleet } from './fleet.ts';

/** Records per seeding commit (a commit holds at most MAX_COMMIT_OPS). */
const SEED_BATCH = MAX_COMMIT_OPS;

/** The fleet's records in `store`, in creation order, as the service would have written them. */
async function seedStore(store: Store, roots: number, nested: boolean, seed: string): Promise<number> {
  const fleet = makeFleet(roots, nested, seed);
  const state = loadState(fleet);
  const changes: StateChange[] = [
    ...CUSTOM_TRAITS.map((name) => ({ kind: 'trait', name, what: 'created' }) as const),
    ...[...state.providers()].map((p) => ({ kind: 'provider', uuid: p.uuid, what: 'created' }) as const),
    ...[...state.consumers()].map((c) => ({ kind: 'consumer', uuid: c.uuid, what: 'written' }) as const),
  ];
  const ops = recordOps(state, new Sequence(), placementRecords(store), changes);
  for (let i = 0; i < ops.length; i += SEED_BATCH) {
    const res = await store.commit(ops.slice(i, i + SEED_BATCH));
    if (!res.ok) throw new Error('seeding the memory store conflicted');
  }
  return fleet.providers.length;
}

async function main(): Promise<void> {
  const [rootsArg, kind, seed] = process.argv.slice(2);
  if (!rootsArg || (kind !== 'flat' && kind !== 'nested') || !seed)
    throw new Error('usage: cellplane-server.ts ROOTS flat|nested SEED');
  const t0 = performance.now();
  const store = new MemoryStore();
  const providers = await seedStore(store, Number(rootsArg), kind === 'nested', seed);
  const service = await PlacementService.open(store);
  const loadMs = performance.now() - t0;
  const app = await buildPlacementApp({ service }, { auth: { mode: 'noauth' } });
  let connections = 0;
  app.server.on('connection', () => {
    connections++;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr !== 'object') throw new Error('no listening address');
  console.log(JSON.stringify({ url: `http://127.0.0.1:${addr.port}`, providers, loadMs }));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log(JSON.stringify({ connections }));
    await app.close();
    await service.close();
    await store.close();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
