/**
 * The world the cells behaviour suite (cells-behaviour.ts) runs in: clients of one
 * coordination service (a memory server on a VirtualClock, or one real etcd under a
 * unique prefix; the instance mappings in a memory store or a real Redis under a unique prefix),
 * a way to crash a client, and time that passes virtually or by polling.
 * Also a fault-injecting Coordinator wrapper: a client that "dies" at a chosen call.
 */
import { afterEach, beforeEach } from 'vitest';
import { CellRegistry, type NewCell } from '../../../cells/lifecycle.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import {
  MemoryCoordinationServer,
  type MemoryCoordinator,
} from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { CellplaneError } from '../../../core/errors.ts';
import type { Clock } from '../../../core/ports/clock.ts';
import type { Coordinator, Lease } from '../../../core/ports/coordinator.ts';
import type { Store } from '../../../core/ports/store.ts';

export interface CellsWorld {
  readonly clock: Clock;
  /** Lease TTL of a cell being created, as the suite configures the registry. */
  readonly pendingTtlMs: number;
  /** How late after its TTL an unrefreshed lease may still be seen. */
  readonly expirySlackMs: number;
  /** The API layer's store every registry of the world keeps its instance mappings in. */
  readonly mappingStore: Store;
  /** Closes what the world opened (its mapping store). */
  close?(): Promise<void>;
  /** A new client of the one shared coordination service. */
  client(): Coordinator;
  /** Stops a client's keep-alives without revoking anything (a dead process). */
  crash(c: Coordinator): void;
  /** Resolves once `check` holds, letting at most `withinMs` pass. */
  eventually(what: string, withinMs: number, check: () => boolean | Promise<boolean>): Promise<void>;
  /** Lets `ms` pass. */
  pass(ms: number): Promise<void>;
}

export type CellsWorldFactory = () => CellsWorld;

export interface CellsContext {
  world: CellsWorld;
  /**
   * A new client of the world's service and a registry on it (its instance mappings in the world's
   * mapping store, or `store`: that store seen through a wrapper); closed after the test.
   */
  open(coord?: Coordinator, store?: Store): { coord: Coordinator; cells: CellRegistry };
}

export function useCells(factory: CellsWorldFactory): CellsContext {
  const clients: Coordinator[] = [];
  const ctx: CellsContext = {
    world: undefined as unknown as CellsWorld,
    open(coord, store) {
      const c = coord ?? ctx.world.client();
      clients.push(c);
      const cells = new CellRegistry(c, {
        clock: ctx.world.clock,
        pendingTtlMs: ctx.world.pendingTtlMs,
        mappingStore: store ?? ctx.world.mappingStore,
      });
      return { coord: c, cells };
    },
  };
  beforeEach(() => {
    ctx.world = factory();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await ctx.world.close?.();
  });
  return ctx;
}

export const cell = (name: string, over: Partial<NewCell> = {}): NewCell => ({
  name,
  transport: `cp.${name}`,
  store: 'redis://127.0.0.1:6379/1',
  ...over,
});

/** Virtual time moves in steps this small while waiting for a condition. */
const VIRTUAL_STEP_MS = 10;

export function memoryCellsWorld(): CellsWorld {
  const clock = new VirtualClock(1_700_000_000_000);
  const server = new MemoryCoordinationServer(clock);
  const settle = () => new Promise<void>((r) => setImmediate(r));
  return {
    clock,
    pendingTtlMs: 1000,
    expirySlackMs: 0,
    mappingStore: new MemoryStore(),
    client: () => server.client(),
    crash: (c) => (c as MemoryCoordinator).crash(),
    async eventually(what, withinMs, check) {
      const deadline = clock.now() + withinMs;
      for (;;) {
        await settle();
        if (await check()) return;
        if (clock.now() >= deadline) throw new Error(`not within ${withinMs} ms (virtual): ${what}`);
        await clock.advance(Math.min(VIRTUAL_STEP_MS, deadline - clock.now()));
      }
    },
    pass: (ms) => clock.advance(ms),
  };
}

export type CoordinatorOp = 'get' | 'put' | 'cas' | 'delete' | 'list' | 'watch' | 'revoke';

/**
 * Wraps a client so that it dies at the first call `dieAt` selects: that call and every
 * later one (including revoking its leases) fail as `unavailable`, as in a process that
 * stopped mid-operation. Combine with `world.crash(inner)` so its leases lapse too.
 */
export function dyingCoordinator(
  inner: Coordinator,
  dieAt: (op: CoordinatorOp, key: string) => boolean,
): Coordinator {
  let dead = false;
  const gate = (op: CoordinatorOp, key: string) => {
    if (!dead && dieAt(op, key)) dead = true;
    if (dead) throw new CellplaneError('unavailable', `simulated crash at ${op} ${key}`);
  };
  const wrapLease = (lease: Lease): Lease => ({
    get id() {
      return lease.id;
    },
    get ttlMs() {
      return lease.ttlMs;
    },
    get lost() {
      return lease.lost;
    },
    onLost: (cb) => lease.onLost(cb),
    revoke: async () => {
      gate('revoke', lease.id);
      await lease.revoke();
    },
  });
  // Both adapters attach a key to a lease by its id, so a wrapped lease passes through as is.
  return {
    async grantLease(ttlMs, opts) {
      return wrapLease(await inner.grantLease(ttlMs, opts));
    },
    async get(key) {
      gate('get', key);
      return inner.get(key);
    },
    async put(key, value, opts) {
      gate('put', key);
      return inner.put(key, value, opts);
    },
    async cas(key, value, expected, opts) {
      gate('cas', key);
      return inner.cas(key, value, expected, opts);
    },
    async delete(key, opts) {
      gate('delete', key);
      return inner.delete(key, opts);
    },
    async list(prefix) {
      gate('list', prefix);
      return inner.list(prefix);
    },
    async watch(prefix, cb, opts) {
      gate('watch', prefix);
      return inner.watch(prefix, cb, opts);
    },
    election: (name) => inner.election(name),
    close: () => inner.close(),
  };
}
