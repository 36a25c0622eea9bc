/**
 * Granular request groups in the scheduler shard (actors/scheduler-shard-granular.ts): examples
 * with two small GPUs against one big one, and the safety property of issue #13 — on random
 * trees and random flavors (granular groups or none, unnumbered required and forbidden traits
 * on trees with nested providers), the hosts the shard's pipeline finds feasible are exactly
 * the trees the Placement engine finds allocation candidates on (asked independently: on the
 * tree actor's own engine state, `stateOf`, with Placement's request shape), and every pick is
 * one of the engine's candidates. fast-check prints the seed and path of a failing run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ensureTrait,
  type StoredProvider,
  stateOf,
  type TreeRecord,
} from '../../../actors/provider-tree-store.ts';
import { treeFromRecord } from '../../../actors/scheduler-shard-trees.ts';
import { ShardView } from '../../../actors/scheduler-shard-view.ts';
import type { Uuid } from '../../../core/model/ids.ts';
import { makeInventory } from '../../../core/model/inventory.ts';
import { allocationCandidates, type SuffixedGroup } from '../../../core/placement/candidates.ts';
import { select } from '../../../core/scheduler/pipeline.ts';
import { DEFAULT_PROFILE_SPEC } from '../../../core/scheduler/profile.ts';
import { parseNovaRequest } from '../../../core/scheduler/request-parse.ts';
import { makeProfile } from '../../scheduler-builders.ts';

const uuid = (host: number, p: number) =>
  `00000000-0000-4000-8000-${String(host).padStart(6, '0')}${String(p).padStart(6, '0')}` as Uuid;

interface Device {
  readonly rc: 'VGPU' | 'SRIOV_NET_VF';
  readonly total: number;
  readonly used: number;
  readonly traits: readonly string[];
}

/** A host: a root with VCPU/RAM/disk (and `rootTraits`) and one child provider per device. */
function hostRecord(h: number, devices: readonly Device[], rootTraits: readonly string[] = []): TreeRecord {
  const root = uuid(h, 0);
  const providers: StoredProvider[] = [
    {
      uuid: root,
      name: `cn${h}`,
      parentUuid: null,
      inventories: {
        VCPU: makeInventory({ total: 16 }),
        MEMORY_MB: makeInventory({ total: 32768 }),
        DISK_GB: makeInventory({ total: 100 }),
      },
      traits: [...rootTraits],
      aggregates: [],
      generation: 1,
    },
    ...devices.map((d, i) => ({
      uuid: uuid(h, i + 1),
      name: `cn${h}-dev${i + 1}`,
      parentUuid: root,
      inventories: { [d.rc]: makeInventory({ total: d.total }) },
      traits: [...d.traits],
      aggregates: [],
      generation: 1,
    })),
  ];
  const allocations: Record<string, Record<string, number>> = {};
  devices.forEach((d, i) => {
    if (d.used > 0) allocations[uuid(h, i + 1)] = { [d.rc]: d.used };
  });
  const consumers =
    Object.keys(allocations).length === 0
      ? []
      : [{ uuid: uuid(h, 999), project: 'p', user: 'u', generation: 1, allocations }];
  return { root, providers, consumers };
}

function viewOf(records: readonly TreeRecord[]): ShardView {
  const view = new ShardView();
  for (const r of records) view.putTree(treeFromRecord(r, 1));
  return view;
}

/** The pipeline's feasible hosts (every one: limit all, alternates enough) and the picks. */
function shardAnswer(view: ShardView, extraSpecs: Record<string, string>, n: number) {
  const spec = parseNovaRequest({
    id: 'req-1',
    flavor: { vcpus: 1, ram: 512, disk: 1, extra_specs: extraSpecs },
  });
  const built = view.current();
  const profile = makeProfile(DEFAULT_PROFILE_SPEC.filters, [], { limit: 'all', alternates: n });
  const res = select(built.snapshot, spec, profile);
  if (!res.ok) return { hosts: new Set<string>(), picks: [] };
  const s = res.selections[0]!;
  const indices = [s.index, ...s.alternates.map((a) => a.index)];
  return {
    hosts: new Set(indices.map((i) => built.snapshot.name(i))),
    picks: indices.map((i) => view.pickFor(built, i, spec)),
  };
}

/** Provider → class → amount, in a canonical order (to compare the engine's and the shard's). */
const canonical = (entries: Iterable<readonly [string, Iterable<readonly [string, number]>]>) =>
  JSON.stringify(
    [...entries]
      .map(([u, m]) => [u, [...m].sort(([a], [b]) => (a < b ? -1 : 1))] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );

const A10 = 'CUSTOM_GPU_A10';
const vgpu = (total: number, used = 0, traits = [A10]): Device => ({ rc: 'VGPU', total, used, traits });

describe('granular request groups on the shard', () => {
  // cn1: two GPUs of 1 VGPU each; cn2: one GPU of 2; cn3: none.
  const view = () => viewOf([hostRecord(1, [vgpu(1), vgpu(1)]), hostRecord(2, [vgpu(2)]), hostRecord(3, [])]);
  const two = { 'resources1:VGPU': '1', 'resources2:VGPU': '1' };

  it.each([
    // isolate: the two groups on two providers: only cn1 has two GPUs
    { specs: { ...two, group_policy: 'isolate' }, want: ['cn1'] },
    // none: cn2's one GPU may serve both groups (2 free)
    { specs: { ...two, group_policy: 'none' }, want: ['cn1', 'cn2'] },
    { specs: { 'resources1:VGPU': '2' }, want: ['cn2'] },
    { specs: { 'resources1:VGPU': '1', [`trait1:${A10}`]: 'required' }, want: ['cn1', 'cn2'] },
    { specs: { 'resources1:VGPU': '1', [`trait1:${A10}`]: 'forbidden' }, want: [] },
  ] as Array<{ specs: Record<string, string>; want: string[] }>)('$specs → $want', ({ specs, want }) => {
    expect([...shardAnswer(view(), specs, 5).hosts].sort()).toEqual(want);
  });

  it('the pick claims each group on its own provider, the flavor on the root', () => {
    const { picks } = shardAnswer(view(), { ...two, group_policy: 'isolate' }, 5);
    expect(picks[0]).toMatchObject({
      host: 'cn1',
      root: uuid(1, 0),
      allocations: {
        [uuid(1, 0)]: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 },
        [uuid(1, 1)]: { VGPU: 1 },
        [uuid(1, 2)]: { VGPU: 1 },
      },
      generations: { [uuid(1, 0)]: 1, [uuid(1, 1)]: 1, [uuid(1, 2)]: 1 },
    });
  });

  it('a used GPU counts: cn1 with one of its two GPUs taken no longer holds two isolated groups', () => {
    const v = viewOf([hostRecord(1, [vgpu(1, 1), vgpu(1)])]);
    expect(shardAnswer(v, { ...two, group_policy: 'isolate' }, 5).hosts.size).toBe(0);
  });
});

// ---- the property --------------------------------------------------------------------------

const TRAITS = ['CUSTOM_GPU_A10', 'CUSTOM_PHYSNET_A', 'CUSTOM_SLOW'] as const;
const device: fc.Arbitrary<Device> = fc
  .record({
    rc: fc.constantFrom('VGPU' as const, 'SRIOV_NET_VF' as const),
    total: fc.integer({ min: 1, max: 3 }),
    usedPart: fc.integer({ min: 0, max: 3 }),
    traits: fc.subarray([...TRAITS], { maxLength: 2 }),
  })
  .map(({ rc, total, usedPart, traits }) => ({ rc, total, used: Math.min(total, usedPart), traits }));
const fleet = fc.array(
  fc.record({
    devices: fc.array(device, { maxLength: 3 }),
    rootTraits: fc.subarray([...TRAITS], { maxLength: 2 }),
  }),
  { minLength: 1, maxLength: 6 },
);
const group = fc.record({
  rc: fc.constantFrom('VGPU', 'SRIOV_NET_VF'),
  amount: fc.integer({ min: 1, max: 2 }),
  required: fc.subarray([...TRAITS], { maxLength: 1 }),
  forbidden: fc.subarray([...TRAITS], { maxLength: 1 }),
});
const request = fc.record({
  groups: fc.array(group, { minLength: 0, maxLength: 3 }),
  policy: fc.constantFrom('none' as const, 'isolate' as const),
  /** Unnumbered (`trait:`) required and forbidden traits. */
  required: fc.subarray([...TRAITS], { maxLength: 1 }),
  forbidden: fc.subarray([...TRAITS], { maxLength: 1 }),
});

describe('safety: the shard and the Placement engine agree on granular requests', () => {
  it('feasible hosts = trees with allocation candidates; every pick is a candidate (1,000 cases)', () => {
    fc.assert(
      fc.property(fleet, request, (hosts, req) => {
        const groups = req.groups.filter((g) => !g.required.some((t) => g.forbidden.includes(t)));
        fc.pre(!req.required.some((t) => req.forbidden.includes(t)));
        const records = hosts.map((x, h) => hostRecord(h + 1, x.devices, x.rootTraits));
        const specs: Record<string, string> = groups.length > 0 ? { group_policy: req.policy } : {};
        for (const t of req.required) specs[`trait:${t}`] = 'required';
        for (const t of req.forbidden) specs[`trait:${t}`] = 'forbidden';
        const asked: SuffixedGroup[] = [
          {
            suffix: '',
            resources: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 },
            required: req.required.map((t) => [t]),
            forbidden: [...req.forbidden],
          },
        ];
        groups.forEach((g, i) => {
          const n = i + 1;
          specs[`resources${n}:${g.rc}`] = String(g.amount);
          for (const t of g.required) specs[`trait${n}:${t}`] = 'required';
          for (const t of g.forbidden) specs[`trait${n}:${t}`] = 'forbidden';
          asked.push({
            suffix: String(n),
            resources: { [g.rc]: g.amount },
            required: g.required.map((t) => [t]),
            forbidden: [...g.forbidden],
          });
        });
        const engine = new Set<string>();
        const candidates = new Map<string, string[]>();
        for (const r of records) {
          const state = stateOf(r);
          for (const t of TRAITS) ensureTrait(state, t); // the region's registry knows them all
          const found = allocationCandidates(state, {
            groups: asked,
            groupPolicy: req.policy,
            limit: 10_000,
          });
          if (!found.ok || found.value.allocationRequests.length === 0) continue;
          engine.add(r.providers[0]!.name);
          candidates.set(
            r.root,
            found.value.allocationRequests.map((a) => canonical(a.allocations)),
          );
        }
        const shard = shardAnswer(viewOf(records), specs, records.length);
        expect([...shard.hosts].sort()).toEqual([...engine].sort());
        for (const p of shard.picks) {
          const got = canonical(
            Object.entries(p.allocations).map(([u, m]) => [u, Object.entries(m)] as const),
          );
          expect(candidates.get(p.root)).toContain(got);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
