/**
 * One simulated process on the embedded adapters, and its death: the simulator's leader kills
 * and the tests' crashes, where a SIGKILL would be used on real servers.
 *
 * A process owns its own bus connection, coordinator client, store handle and clock view. Killing
 * it leaves the shared world as a dead process would (faults at the ports):
 * - the bus connection crashes: subscriptions and consumers vanish, owed replies are never sent,
 *   jobs in hand come back after their ack-wait (MemoryBus.crash);
 * - the coordinator client is killed: leases stop being renewed and expire after their TTL,
 *   watches stop, nothing more is campaigned for or resigned (MemoryCoordinator.kill);
 * - every store call from then on never settles, so no write lands after the death;
 * - its timers never fire and its sleeps never end.
 * Code of the dead process that was mid-flight just stops at its next await on any of these.
 */
import type { Clock, TimerHandle } from '../../ports/clock.ts';
import type { Store } from '../../ports/store.ts';
import type { MemoryBroker, MemoryBus } from './bus.ts';
import type { MemoryCoordinationServer, MemoryCoordinator } from './coordinator.ts';

const NEVER: Promise<never> = new Promise(() => {});

export class MemoryProcess {
  readonly bus: MemoryBus;
  readonly coordinator: MemoryCoordinator;
  readonly store: Store;
  readonly clock: Clock;
  private dead = false;

  constructor(world: {
    readonly broker: MemoryBroker;
    readonly coordination: MemoryCoordinationServer;
    readonly store: Store;
    readonly clock: Clock;
  }) {
    this.bus = world.broker.connect();
    this.coordinator = world.coordination.client();
    this.store = deadEnds(world.store, () => this.dead);
    this.clock = processClock(world.clock, () => this.dead);
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Another shared store as this process sees it: its calls never settle once it is dead. */
  storeView(store: Store): Store {
    return deadEnds(store, () => this.dead);
  }

  /** SIGKILL: see the module comment. Idempotent. */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    this.bus.crash();
    this.coordinator.kill();
  }
}

/** `target`'s async methods, which never settle once `dead()`. */
function deadEnds<T extends object>(target: T, dead: () => boolean): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      const v = Reflect.get(t, key, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => (dead() ? NEVER : v.apply(t, args));
    },
  });
}

/** The shared clock as one process sees it: its timers and sleeps stop when it dies. */
function processClock(clock: Clock, dead: () => boolean): Clock {
  return {
    now: () => clock.now(),
    setTimeout(fn: () => void, ms: number): TimerHandle {
      return clock.setTimeout(() => {
        if (!dead()) fn();
      }, ms);
    },
    clearTimeout: (h) => clock.clearTimeout(h),
    sleep: (ms, signal) => clock.sleep(ms, signal).then((v) => (dead() ? NEVER : v)),
  };
}
