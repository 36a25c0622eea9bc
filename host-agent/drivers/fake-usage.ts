/**
 * The fake hypervisor's own books: what each provider of the host has in use, checked against
 * Placement's capacity rule (int((total - reserved) * allocation_ratio)), and the latency knob.
 */
import { CellplaneError } from '../../core/errors.ts';
import { capacity, type Inventory } from '../../core/model/inventory.ts';
import { type HostDescription, type InstanceSpec, spawnFailure } from '../driver.ts';

/** Fixed milliseconds, or uniform in [minMs, maxMs] (integers). */
export type Latency = number | { readonly minMs: number; readonly maxMs: number };

export function latencyProblem(l: Latency | undefined): string | undefined {
  if (l === undefined) return undefined;
  if (typeof l === 'number') return Number.isInteger(l) && l >= 0 ? undefined : `must be an integer >= 0`;
  const { minMs, maxMs } = l;
  if (!Number.isInteger(minMs) || !Number.isInteger(maxMs) || minMs < 0 || maxMs < minMs)
    return `range must be integers with 0 <= minMs <= maxMs, got ${minMs}..${maxMs}`;
  return undefined;
}

/** One instance's consumption: [provider UUID, resource class, amount] triples. */
export type Usage = ReadonlyArray<readonly [string, string, number]>;

export interface UsageTable {
  /** Validates the spec and reserves its resources; throws `invalidSpec` or `capacity`. */
  claim(spec: InstanceSpec): Usage;
  release(usage: Usage): void;
  used(providerUuid: string, rc: string): number;
}

interface ProviderBook {
  readonly inventories: Readonly<Record<string, Inventory>>;
  /** Created on first use: most simulated hosts hold few instances. */
  used: Map<string, number> | undefined;
}

export function usageTable(d: HostDescription): UsageTable {
  const books = new Map<string, ProviderBook>();
  for (const p of d.providers) books.set(p.uuid, { inventories: p.inventories, used: undefined });
  const rootUuid = d.providers[0]!.uuid;
  const host = d.hostname;

  const wanted = (spec: InstanceSpec): Map<string, number> => {
    const sums = new Map<string, number>(); // `${uuid} ${rc}` → amount
    const add = (uuid: string, resources: Readonly<Record<string, number>>) => {
      const book = books.get(uuid);
      if (!book) throw spawnFailure('invalidSpec', `host ${host} has no provider ${uuid}`, { host });
      for (const [rc, amount] of Object.entries(resources)) {
        if (!Number.isSafeInteger(amount) || amount <= 0)
          throw spawnFailure('invalidSpec', `${rc} amount must be a positive integer, got ${amount}`);
        if (!book.inventories[rc])
          throw spawnFailure('invalidSpec', `provider ${uuid} on ${host} has no ${rc} inventory`, { host });
        const key = `${uuid} ${rc}`;
        sums.set(key, (sums.get(key) ?? 0) + amount);
      }
    };
    add(rootUuid, spec.resources);
    for (const dev of spec.devices) add(dev.providerUuid, dev.resources);
    return sums;
  };

  const table: UsageTable = {
    claim(spec) {
      const sums = wanted(spec);
      const usage: Array<readonly [string, string, number]> = [];
      for (const [key, amount] of sums) {
        const [uuid, rc] = key.split(' ') as [string, string];
        const book = books.get(uuid)!;
        const cap = capacity(book.inventories[rc]!);
        const used = book.used?.get(rc) ?? 0;
        if (used + amount > cap)
          throw spawnFailure('capacity', `host ${host} refuses ${amount} ${rc}: ${used} of ${cap} in use`, {
            host,
            providerUuid: uuid,
            resourceClass: rc,
            used,
            capacity: cap,
            requested: amount,
          });
        usage.push([uuid, rc, amount]);
      }
      for (const [uuid, rc, amount] of usage) {
        const book = books.get(uuid)!;
        book.used ??= new Map();
        book.used.set(rc, (book.used.get(rc) ?? 0) + amount);
      }
      return usage;
    },
    release(usage) {
      for (const [uuid, rc, amount] of usage) {
        const used = books.get(uuid)?.used;
        const left = (used?.get(rc) ?? 0) - amount;
        if (left < 0) throw new CellplaneError('internal', `${host}: ${rc} usage of ${uuid} went negative`);
        used?.set(rc, left);
      }
    },
    used: (uuid, rc) => books.get(uuid)?.used?.get(rc) ?? 0,
  };
  return table;
}
