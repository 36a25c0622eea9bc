/**
 * Synthetic fleets for the placement benchmark, as plain data (so the same fleet loads into our
 * PlacementState and into the real Placement's database), derived from one seed.
 *
 * Each root is a compute node: VCPU 32 × 4.0, MEMORY_MB 131072 (512 reserved) × 1.5, DISK_GB
 * 1000; half have HW_CPU_X86_AVX2, a fifth CUSTOM_FAST_NET; 30% are in one of 10 aggregates;
 * 40% run 1–4 instances of 2 VCPU / 4096 MB / 40 GB. Nested fleets add 2 pGPU children per root
 * (VGPU 4, max_unit 4), each with CUSTOM_VGPU_T4 (or, one in 4, CUSTOM_VGPU_A10), and a VGPU of
 * some instances on the first child.
 */
import type { Uuid } from '../../core/model/ids.ts';
import { makeInventory } from '../../core/model/inventory.ts';
import {
  createProvider,
  ensureTrait,
  PlacementState,
  setAggregates,
  setInventories,
  setTraits,
  unwrap,
  writeAllocations,
} from '../../core/placement/operations.ts';
import { makeRng, type Rng } from '../../core/rng.ts';

export const AGGREGATE_COUNT = 10;
export const CUSTOM_TRAITS = ['CUSTOM_FAST_NET', 'CUSTOM_VGPU_T4', 'CUSTOM_VGPU_A10'] as const;

export interface FleetInventory {
  readonly rc: string;
  readonly total: number;
  readonly reserved: number;
  readonly maxUnit: number;
  readonly allocationRatio: number;
}

export interface FleetProvider {
  readonly uuid: Uuid;
  readonly name: string;
  readonly parent: Uuid | null;
  readonly inventories: readonly FleetInventory[];
  readonly traits: readonly string[];
  readonly aggregates: readonly Uuid[];
}

export interface FleetConsumer {
  readonly uuid: Uuid;
  readonly allocations: Readonly<Record<Uuid, Readonly<Record<string, number>>>>;
}

export interface Fleet {
  readonly roots: number;
  readonly nested: boolean;
  /** Parents before children. */
  readonly providers: readonly FleetProvider[];
  readonly aggregates: readonly Uuid[];
  readonly consumers: readonly FleetConsumer[];
}

function uuid(rng: Rng): Uuid {
  const hex = Array.from({ length: 32 }, () => rng.int(16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}` as Uuid;
}

const MAX = 2_147_483_647;
const inv = (
  rc: string,
  total: number,
  reserved = 0,
  allocationRatio = 1,
  maxUnit = MAX,
): FleetInventory => ({
  rc,
  total,
  reserved,
  maxUnit,
  allocationRatio,
});

export function makeFleet(roots: number, nested: boolean, seed: string): Fleet {
  const rng = makeRng(`${seed}:${roots}:${nested}`);
  const aggregates = Array.from({ length: AGGREGATE_COUNT }, () => uuid(rng));
  const providers: FleetProvider[] = [];
  const consumers: FleetConsumer[] = [];
  for (let i = 0; i < roots; i++) {
    const root = uuid(rng);
    const traits = [
      ...(rng.next() < 0.5 ? ['HW_CPU_X86_AVX2'] : []),
      ...(rng.next() < 0.2 ? ['CUSTOM_FAST_NET'] : []),
    ];
    const aggs = rng.next() < 0.3 ? [aggregates[rng.int(AGGREGATE_COUNT)]!] : [];
    const inventories = [inv('VCPU', 32, 0, 4), inv('MEMORY_MB', 131072, 512, 1.5), inv('DISK_GB', 1000)];
    providers.push({ uuid: root, name: `cn${i}`, parent: null, inventories, traits, aggregates: aggs });
    const gpus = nested ? [uuid(rng), uuid(rng)] : [];
    gpus.forEach((g, k) => {
      const t = rng.next() < 0.25 ? 'CUSTOM_VGPU_A10' : 'CUSTOM_VGPU_T4';
      providers.push({
        uuid: g,
        name: `cn${i}_pgpu${k}`,
        parent: root,
        inventories: [inv('VGPU', 4, 0, 1, 4)],
        traits: [t],
        aggregates: [],
      });
    });
    if (rng.next() < 0.4) {
      const n = 1 + rng.int(4);
      for (let c = 0; c < n; c++) {
        const allocations: Record<Uuid, Record<string, number>> = {
          [root]: { VCPU: 2, MEMORY_MB: 4096, DISK_GB: 40 },
        };
        if (nested && c === 0) allocations[gpus[0]!] = { VGPU: 1 };
        consumers.push({ uuid: uuid(rng), allocations });
      }
    }
  }
  return { roots, nested, providers, aggregates, consumers };
}

/** The fleet in a fresh PlacementState, through the checked operations. */
export function loadState(fleet: Fleet): PlacementState {
  const state = new PlacementState();
  for (const t of CUSTOM_TRAITS) unwrap(ensureTrait(state, t));
  for (const p of fleet.providers) {
    unwrap(createProvider(state, { uuid: p.uuid, name: p.name, parentUuid: p.parent }));
    const invs = new Map(p.inventories.map((i) => [i.rc, makeInventory(i)]));
    unwrap(setInventories(state, p.uuid, undefined, invs));
    if (p.traits.length > 0) unwrap(setTraits(state, p.uuid, undefined, p.traits));
    if (p.aggregates.length > 0) unwrap(setAggregates(state, p.uuid, undefined, p.aggregates));
  }
  for (const c of fleet.consumers)
    unwrap(
      writeAllocations(state, [
        { consumerUuid: c.uuid, projectId: 'bench', userId: 'bench', allocations: c.allocations },
      ]),
    );
  return state;
}
