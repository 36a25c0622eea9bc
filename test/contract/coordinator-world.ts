/**
 * The world a Coordinator contract runs in (clients of one shared coordination service, and how
 * time passes there) and the per-test handles both halves of the contract use
 * (coordinator.contract.ts and coordinator-election.contract.ts).
 */
import { afterEach, beforeEach } from 'vitest';
import type { Coordinator } from '../../core/ports/coordinator.ts';

export interface CoordinatorWorld {
  /** A new client of one shared coordination service (one etcd, one memory server). */
  client(): Coordinator;
  /** Stops a client's keep-alives without revoking anything: a hung or dead process. */
  crash(c: Coordinator): void;
  /** The lease TTL the suite uses; the smallest the service grants. */
  readonly ttlMs: number;
  /** How late after its TTL an unrefreshed lease may still be seen (etcd checks expiry periodically). */
  readonly expirySlackMs: number;
  /** Resolves once `check` holds, letting at most `withinMs` pass; rejects naming `what` otherwise. */
  eventually(what: string, withinMs: number, check: () => boolean | Promise<boolean>): Promise<void>;
  /** Lets `ms` pass; only for asserting that something does not happen. */
  pass(ms: number): Promise<void>;
  close(): Promise<void>;
}

export type CoordinatorWorldFactory = () => Promise<CoordinatorWorld>;

/** Per-test handles: every client opened through `open` is closed after the test. */
export interface ContractContext {
  world: CoordinatorWorld;
  open(): Coordinator;
}

export function useWorld(factory: CoordinatorWorldFactory): ContractContext {
  const ctx = {
    world: undefined as unknown as CoordinatorWorld,
    open: () => undefined as unknown as Coordinator,
  };
  let clients: Coordinator[] = [];
  beforeEach(async () => {
    ctx.world = await factory();
    ctx.open = () => {
      const c = ctx.world.client();
      clients.push(c);
      return c;
    };
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await ctx.world.close();
  });
  return ctx;
}
