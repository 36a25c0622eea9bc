/**
 * The cells behaviour suite (test/unit/cells/cells-behaviour.ts) on a real etcd and a real Redis
 * (the instance mappings): every test gets its own key prefixes; time is real, so waits poll with
 * deadlines.
 */
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import type { Coordinator } from '../../core/ports/coordinator.ts';
import { lazyStore } from '../../core/stores/lazy-store.ts';
import { services, uniquePrefix } from '../real/services.ts';
import { cellsBehaviour } from '../unit/cells/cells-behaviour.ts';
import type { CellsWorld } from '../unit/cells/cells-world.ts';

/** Polling interval while waiting for a condition on the real server. */
const POLL_MS = 20;
/** etcd checks lease expiry periodically (~500 ms): an expired lease can linger this long. */
const ETCD_EXPIRY_SLACK_MS = 1000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function etcdCellsWorld(): CellsWorld {
  const prefix = `/${uniquePrefix('cells')}`;
  const hosts = services().etcd;
  const mappingStore = lazyStore(() =>
    RedisStore.open({ url: services().redis, prefix: uniquePrefix('cellsapi') }),
  );
  return {
    clock: systemClock,
    pendingTtlMs: 1000,
    expirySlackMs: ETCD_EXPIRY_SLACK_MS,
    mappingStore,
    close: () => mappingStore.close(),
    client: () => new EtcdCoordinator({ hosts, prefix }),
    crash: (c: Coordinator) => (c as EtcdCoordinator).crash(),
    async eventually(what, withinMs, check) {
      const deadline = Date.now() + withinMs;
      for (;;) {
        if (await check()) return;
        if (Date.now() >= deadline) throw new Error(`not within ${withinMs} ms: ${what}`);
        await sleep(POLL_MS);
      }
    },
    pass: sleep,
  };
}

cellsBehaviour('etcd', etcdCellsWorld);
