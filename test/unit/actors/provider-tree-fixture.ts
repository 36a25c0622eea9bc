/**
 * Builders and a world for the provider-tree actor's tests: a tree builder
 * (`tree(ROOT).inv('VCPU', 4).child(NUMA, 'numa0', (c) => c.inv('VGPU', 2))`), a Store wrapper
 * that injects faults at the commit (before it, after it, or a process that dies after it), and
 * a memory world (broker + virtual clock + store + one actor host + clients + event log).
 */

import { providerTreeActor } from '../../../actors/provider-tree.ts';
import { ProviderTreeClient } from '../../../actors/provider-tree-client.ts';
import { type TreeChanged, treeChanged } from '../../../actors/provider-tree-messages.ts';
import type { ProviderData } from '../../../actors/provider-tree-wire.ts';
import { ActorClient } from '../../../actors/runtime/client.ts';
import { ActorHost } from '../../../actors/runtime/host.ts';
import { decode } from '../../../core/codec/envelope.ts';
import type { Uuid } from '../../../core/model/ids.ts';
import { type Inventory, type InventoryInput, makeInventory } from '../../../core/model/inventory.ts';
import type { Bus } from '../../../core/ports/bus.ts';
import type { CommitResult, Store, WriteOp } from '../../../core/ports/store.ts';

export const ROOT = '11111111-1111-4111-8111-111111111111' as Uuid;
export const NUMA0 = '22222222-2222-4222-8222-222222222222' as Uuid;
export const GPU0 = '33333333-3333-4333-8333-333333333333' as Uuid;

/** Consumer uuid number n (deterministic, valid). */
export function consumer(n: number): Uuid {
  return `c0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as Uuid;
}

export class TreeBuilder {
  private readonly out: ProviderData[] = [];
  private current: { -readonly [K in keyof ProviderData]: ProviderData[K] };

  constructor(uuid: Uuid, name = `host-${uuid.slice(0, 8)}`, parentUuid: Uuid | null = null) {
    this.current = { uuid, name, parentUuid, inventories: {}, traits: [], aggregates: [] };
    this.out.push(this.current);
  }

  inv(rc: string, total: number, more: Omit<InventoryInput, 'total'> = {}): this {
    const invs = this.current.inventories as Record<string, Inventory>;
    invs[rc] = makeInventory({ total, ...more });
    return this;
  }

  trait(...names: string[]): this {
    this.current.traits = [...this.current.traits, ...names];
    return this;
  }

  child(uuid: Uuid, name: string, build: (c: TreeBuilder) => void = () => {}): this {
    const c = new TreeBuilder(uuid, name, this.current.uuid);
    build(c);
    this.out.push(...c.build());
    return this;
  }

  build(): ProviderData[] {
    return [...this.out];
  }
}

export const tree = (root: Uuid, name?: string) => new TreeBuilder(root, name);

export type Fault = 'throwBefore' | 'throwAfter' | 'dieAfter';

/** A Store whose next commits fail as planned; everything else goes straight through. */
export class FaultyStore implements Store {
  readonly plan: Fault[] = [];
  commits = 0;
  /** Called when a `dieAfter` commit has been applied (the "process" stops here forever). */
  onDeath: () => void = () => {};

  constructor(readonly inner: Store) {}

  get = (key: string) => this.inner.get(key);
  getMany = (keys: readonly string[]) => this.inner.getMany(keys);
  list: Store['list'] = (index, opts) => this.inner.list(index, opts);
  count = (index: string) => this.inner.count(index);
  scanKeys = (prefix: string) => this.inner.scanKeys(prefix);
  close = () => this.inner.close();

  async commit(ops: readonly WriteOp[]): Promise<CommitResult> {
    const fault = this.plan.shift();
    if (fault === 'throwBefore') throw new Error('injected: connection reset before the commit');
    const result = await this.inner.commit(ops);
    if (result.ok) this.commits++;
    if (fault === 'throwAfter') throw new Error('injected: connection reset after the commit');
    if (fault === 'dieAfter') {
      this.onDeath();
      return new Promise<never>(() => {}); // the process is gone: no reply, ever
    }
    return result;
  }
}

/** Records the change events of every tree in a scope. */
export async function eventLog(bus: Bus, subject: string): Promise<TreeChanged[]> {
  const events: TreeChanged[] = [];
  await bus.subscribe(subject, (m) => {
    events.push(decode(treeChanged, m.data));
  });
  return events;
}

export interface HostedTree {
  readonly host: ActorHost;
  readonly trees: ProviderTreeClient;
}

/** One actor host serving kind `rp` in `scope` on `bus`, and a client on `clientBus`. */
export async function hostTrees(opts: {
  bus: Bus;
  clientBus: Bus;
  store: Store;
  clock: ConstructorParameters<typeof ActorHost>[0]['clock'];
  scope: string;
  idleAfterMs?: number;
  sweepIntervalMs?: number;
  askTimeoutMs?: number;
}): Promise<HostedTree> {
  const host = new ActorHost({
    bus: opts.bus,
    clock: opts.clock,
    scope: opts.scope,
    idleAfterMs: opts.idleAfterMs ?? 60_000,
    sweepIntervalMs: opts.sweepIntervalMs ?? 1_000,
  });
  await host.register(providerTreeActor({ store: opts.store, bus: opts.bus }));
  const actors = new ActorClient(opts.clientBus, {
    scope: opts.scope,
    askTimeoutMs: opts.askTimeoutMs ?? 5_000,
  });
  return { host, trees: new ProviderTreeClient(actors) };
}
