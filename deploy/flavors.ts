/** The flavors a fresh deployment starts with, so that a first boot needs no setup. */
import type { ComputeStore } from '../api/compute/store/index.ts';
import { toCellplaneError } from '../core/errors.ts';

/** Nova's classic flavors (devstack's m1.*), created when missing. */
export const STOCK_FLAVORS = [
  { flavorid: '1', name: 'm1.tiny', vcpus: 1, memoryMb: 512, rootGb: 1 },
  { flavorid: '2', name: 'm1.small', vcpus: 1, memoryMb: 2048, rootGb: 20 },
  { flavorid: '3', name: 'm1.medium', vcpus: 2, memoryMb: 4096, rootGb: 40 },
  { flavorid: '4', name: 'm1.large', vcpus: 4, memoryMb: 8192, rootGb: 80 },
  { flavorid: '5', name: 'm1.xlarge', vcpus: 8, memoryMb: 16384, rootGb: 160 },
] as const;

/** The stock flavors, unless they exist (several API replicas may race: a lost race is fine). */
export async function seedFlavors(store: ComputeStore): Promise<void> {
  for (const f of STOCK_FLAVORS) {
    if (await store.flavors.get(f.flavorid)) continue;
    try {
      await store.flavors.create({
        ...f,
        ephemeralGb: 0,
        swap: 0,
        rxtxFactor: 1,
        isPublic: true,
        disabled: false,
        description: null,
        extraSpecs: {},
        projects: [],
      });
    } catch (err) {
      if (toCellplaneError(err).code !== 'conflict') throw err;
    }
  }
}
