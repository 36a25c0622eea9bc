/**
 * The cells suite's inputs, pure and seeded: the simulated hosts of a cell (fake-host specs, the
 * shape `cellplane agents` and `startEmbedded` use), the usage each host starts with (one
 * consumer per host, so the scheduler's filters have something to reject), and the select
 * request timed against them.
 *
 * Usage: 10% of the hosts are nearly full (less than the request's 8 GB of RAM left: the RAM
 * filter rejects them), the rest carry a seeded 0–85% of every class. A third of the hosts have
 * HW_CPU_X86_AVX2 (not asked for: it only makes host shapes differ).
 */
import { treeOf } from '../../actors/host-registrar.ts';
import type { ClaimRequest, ProviderData } from '../../actors/provider-tree-messages.ts';
import type { SelectRequest } from '../../actors/scheduler-shard-messages.ts';
import type { Uuid } from '../../core/model/ids.ts';
import { makeRng } from '../../core/rng.ts';
import { describeFakeHost, type FakeHostSpec, stableUuid } from '../../host-agent/drivers/fake-host.ts';

export const SEED = 'bench-cells-1';

/** Every host's shape (Nova-like 32-core, 128 GiB compute node; VCPU overcommit 4). */
export const HOST_SHAPE = Object.freeze({
  vcpus: 32,
  memoryMb: 131_072,
  diskGb: 2_000,
  allocationRatios: { vcpu: 4 },
});
/** Free amounts of one host before usage: VCPU 32×4, RAM minus the 512 MB Nova reserves. */
export const HOST_CAPACITY = Object.freeze({ VCPU: 128, MEMORY_MB: 130_560, DISK_GB: 2_000 });
/** The flavor of the timed select (m1.large-like). */
export const SELECT_FLAVOR = Object.freeze({ vcpus: 4, ram: 8_192, disk: 40, extra_specs: {} });
/** Share of hosts left with less than SELECT_FLAVOR.ram free. */
export const FULL_SHARE = 0.1;
/** Largest share of a class the other hosts start with. */
export const MAX_USED_SHARE = 0.85;

export function hostName(cell: string, i: number): string {
  return `${cell}-cn${String(i + 1).padStart(5, '0')}`;
}

/** The specs of `count` hosts of `cell`, in order. */
export function hostSpecs(cell: string, count: number): FakeHostSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    hostname: hostName(cell, i),
    ...HOST_SHAPE,
    allocationRatios: { ...HOST_SHAPE.allocationRatios },
    ...(i % 3 === 0 ? { traits: ['HW_CPU_X86_AVX2'] } : {}),
  }));
}

/** A host's provider tree as the registrar registers it (root first). */
export function treeFor(spec: FakeHostSpec): { root: Uuid; providers: ProviderData[] } {
  return treeOf(describeFakeHost(spec).providers);
}

export interface Usage {
  readonly VCPU: number;
  readonly MEMORY_MB: number;
  readonly DISK_GB: number;
}

/** The usage host `name` starts with (seeded by name: the same on every run and process). */
export function usageFor(name: string, seed = SEED): Usage {
  const rng = makeRng(`${seed}:${name}`);
  if (rng.next() < FULL_SHARE) {
    const ramLeft = rng.int(SELECT_FLAVOR.ram); // 0..8191 MB free: too little for the request
    return { VCPU: rng.int(HOST_CAPACITY.VCPU), MEMORY_MB: HOST_CAPACITY.MEMORY_MB - ramLeft, DISK_GB: 100 };
  }
  const share = () => rng.next() * MAX_USED_SHARE;
  return {
    VCPU: Math.floor(share() * HOST_CAPACITY.VCPU),
    MEMORY_MB: Math.floor(share() * HOST_CAPACITY.MEMORY_MB),
    DISK_GB: Math.floor(share() * HOST_CAPACITY.DISK_GB),
  };
}

/** The claim that puts `usageFor(name)` on the host's root provider (one consumer per host). */
export function usageClaim(name: string, root: Uuid, seed = SEED): ClaimRequest {
  const u = usageFor(name, seed);
  const amounts = Object.fromEntries(Object.entries(u).filter(([, v]) => v > 0));
  return {
    consumer: stableUuid(`bench-consumer:${name}`),
    project: 'bench',
    user: 'bench',
    allocations: { [root]: amounts },
  };
}

/** How many of `names` can take one SELECT_FLAVOR instance after their usage (what select may pick). */
export function feasibleCount(names: readonly string[], seed = SEED): number {
  return names.filter((n) => {
    const u = usageFor(n, seed);
    return (
      HOST_CAPACITY.VCPU - u.VCPU >= SELECT_FLAVOR.vcpus &&
      HOST_CAPACITY.MEMORY_MB - u.MEMORY_MB >= SELECT_FLAVOR.ram &&
      HOST_CAPACITY.DISK_GB - u.DISK_GB >= SELECT_FLAVOR.disk
    );
  }).length;
}

/** The n-th timed request: one instance, its own id (the id seeds the placement's shuffle). */
export function selectRequest(n: number): SelectRequest {
  return { id: `bench-select-${n}`, flavor: { ...SELECT_FLAVOR, extra_specs: {} }, numInstances: 1 };
}
