/**
 * Safety properties of allocation candidates over random small forests (nested trees, traits,
 * aggregates, sharing providers, existing usage) and random granular requests. fast-check prints
 * the seed and path of a failing run; replay it with `fc.assert(..., { seed, path })`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Uuid } from '../../../core/model/ids.ts';
import {
  allocationCandidates,
  type CandidateRequest,
  type Candidates,
  SHARING_TRAIT,
  type SuffixedGroup,
} from '../../../core/placement/candidates.ts';
import {
  deleteAllocations,
  ensureTrait,
  type PlacementState,
  type ProviderView,
  unwrap,
  writeAllocations,
} from '../../../core/placement/operations.ts';
import { makeProvider, makeState, type ProviderBuilder, uuidFor } from '../../builders.ts';

const RUNS = { numRuns: 300 };
const CLASSES = ['VCPU', 'SRIOV_NET_VF', 'DISK_GB'] as const;
const TRAITS = ['CUSTOM_A', 'CUSTOM_B', 'CUSTOM_C'];
const AGGS = ['agg1', 'agg2'].map(uuidFor);
const MAX_NODES = 8;
/** Candidates claimed per run (claiming is the slow part). */
const CLAIMS_PER_RUN = 25;

/** True in `pct` percent of cases. */
const chance = (pct: number) => fc.integer({ min: 0, max: 99 }).map((n) => n < pct);

interface NodeSpec {
  parent: number | null;
  inv: Partial<Record<(typeof CLASSES)[number], number>>;
  traits: string[];
  aggs: number[];
  sharing: boolean;
}

const nodeArb = (i: number): fc.Arbitrary<NodeSpec> =>
  fc.record({
    parent: i === 0 ? fc.constant(null) : fc.option(fc.nat(i - 1), { freq: 2 }),
    inv: fc.record(
      {
        VCPU: fc.integer({ min: 1, max: 8 }),
        SRIOV_NET_VF: fc.integer({ min: 1, max: 4 }),
        DISK_GB: fc.integer({ min: 1, max: 8 }),
      },
      { requiredKeys: [] },
    ),
    traits: fc.subarray(TRAITS),
    aggs: fc.subarray([0, 1]),
    sharing: chance(15),
  });

const worldArb = fc
  .integer({ min: 2, max: MAX_NODES })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(i))));

const usageArb = fc.array(
  fc.tuple(fc.nat(MAX_NODES - 1), fc.constantFrom(...CLASSES), fc.integer({ min: 1, max: 4 })),
  {
    maxLength: 4,
  },
);

function build(
  nodes: readonly NodeSpec[],
  usage: ReadonlyArray<readonly [number, string, number]>,
): PlacementState {
  const builders: ProviderBuilder[] = nodes.map((spec, i) => {
    const b = makeProvider(`n${i}`);
    for (const [rc, total] of Object.entries(spec.inv)) b.inventory(rc, total, { maxUnit: 6 });
    b.trait(...spec.traits, ...(spec.sharing ? [SHARING_TRAIT] : []));
    b.aggregate(...spec.aggs.map((a) => AGGS[a]!));
    return b;
  });
  nodes.forEach((spec, i) => {
    if (spec.parent !== null) builders[spec.parent]!.child(builders[i]!);
  });
  const state = makeState(...builders.filter((_, i) => nodes[i]!.parent === null));
  for (const t of TRAITS) unwrap(ensureTrait(state, t)); // requests may name traits no provider has
  usage.forEach(([node, rc, n], k) => {
    if (node >= nodes.length) return;
    const write = {
      consumerUuid: uuidFor(`vm${k}`),
      projectId: 'p',
      userId: 'u',
      expectedGeneration: null,
      allocations: { [uuidFor(`n${node}`)]: { [rc]: n } },
    };
    writeAllocations(state, [write]); // refusals (no inventory, no room) are fine: usage is optional
  });
  return state;
}

/** `arb` in `pct` percent of cases, else undefined. */
const maybe = <T>(arb: fc.Arbitrary<T>, pct: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 100 - pct, arbitrary: fc.constant(undefined) }, { weight: pct, arbitrary: arb });

const resourcesArb = fc.dictionary(fc.constantFrom(...CLASSES), fc.integer({ min: 1, max: 3 }), {
  minKeys: 1,
  maxKeys: 2,
});
/** Numbered groups are resourceless (1.36, constrained through same_subtree) now and then. */
const numberedResourcesArb = fc.oneof(
  { weight: 85, arbitrary: resourcesArb },
  { weight: 15, arbitrary: fc.constant({}) },
);
const groupArb = (suffix: string): fc.Arbitrary<SuffixedGroup> =>
  fc
    .record({
      resources: suffix === '' ? resourcesArb : numberedResourcesArb,
      required: maybe(
        fc.constantFrom([['CUSTOM_A']], [['CUSTOM_A', 'CUSTOM_B']], [['CUSTOM_B'], ['CUSTOM_C']]),
        35,
      ),
      forbidden: maybe(fc.constantFrom(['CUSTOM_C'], [SHARING_TRAIT]), 20),
      memberOf: maybe(fc.constantFrom([[AGGS[0]!]], [[AGGS[0]!, AGGS[1]!]]), 20),
      forbiddenAggregates: maybe(fc.constant([AGGS[1]!]), 15),
      inTree: maybe(
        fc.nat(MAX_NODES - 1).map((i) => uuidFor(`n${i}`)),
        15,
      ),
    })
    .map((g) => {
      const required: readonly string[] = g.required?.flat() ?? [];
      const forbidden = g.forbidden?.filter((t) => !required.includes(t));
      return {
        suffix,
        resources: g.resources,
        ...(g.required ? { required: g.required } : {}),
        ...(forbidden?.length ? { forbidden } : {}),
        ...(g.memberOf ? { memberOf: g.memberOf } : {}),
        ...(g.forbiddenAggregates ? { forbiddenAggregates: g.forbiddenAggregates } : {}),
        ...(g.inTree ? { inTree: g.inTree } : {}),
      };
    });

const requestArb: fc.Arbitrary<CandidateRequest> = fc
  .record({
    unnumbered: maybe(groupArb(''), 60),
    numbered: fc
      .integer({ min: 0, max: 3 })
      .chain((n) => fc.tuple(...['1', '_b', '3'].slice(0, n).map(groupArb))),
    policy: fc.constantFrom('none' as const, 'isolate' as const),
    subtree: chance(30),
    rootRequired: maybe(fc.constantFrom(['CUSTOM_A'], ['CUSTOM_B']), 15),
    rootForbidden: maybe(fc.constant([SHARING_TRAIT]), 15),
  })
  .map((r) => {
    const groups = [...(r.unnumbered ? [r.unnumbered] : []), ...r.numbered];
    const numbered = r.numbered.map((g) => g.suffix);
    const resourceless = r.numbered.some((g) => Object.keys(g.resources).length === 0);
    const sameSubtree = (r.subtree || resourceless) && numbered.length > 0 ? [numbered] : undefined;
    return {
      groups,
      groupPolicy: r.policy,
      ...(sameSubtree ? { sameSubtree } : {}),
      ...(r.rootRequired ? { rootRequired: r.rootRequired } : {}),
      ...(r.rootForbidden ? { rootForbidden: r.rootForbidden } : {}),
    };
  })
  .filter((req) => req.groups.some((g) => Object.keys(g.resources).length > 0));

/** Runs the property over every (world, request, result) whose request is valid. */
function forAll(check: (state: PlacementState, req: CandidateRequest, c: Candidates) => void) {
  fc.assert(
    fc.property(worldArb, usageArb, requestArb, (nodes, usage, req) => {
      const state = build(nodes, usage);
      check(state, req, unwrap(allocationCandidates(state, req)));
    }),
    RUNS,
  );
}

const rp = (state: PlacementState, uuid: Uuid): ProviderView => state.provider(uuid)!;
const meets = (has: (t: string) => boolean, req: ReadonlyArray<ReadonlyArray<string>> = []) =>
  req.every((anyOf) => anyOf.some(has));
const inEvery = (p: ProviderView, sets: ReadonlyArray<ReadonlyArray<Uuid>> = []) =>
  sets.every((s) => s.some((a) => p.aggregates.has(a)));

describe('allocation candidates: safety properties', () => {
  it('every candidate can be claimed: writing it as allocations succeeds', () => {
    forAll((state, _req, c) => {
      const claimant = uuidFor('claimant');
      for (const r of c.allocationRequests.slice(0, CLAIMS_PER_RUN)) {
        const allocations = Object.fromEntries(
          [...r.allocations].map(([u, m]) => [u, Object.fromEntries(m)]),
        );
        const write = {
          consumerUuid: claimant,
          projectId: 'p',
          userId: 'u',
          expectedGeneration: null,
          allocations,
        };
        unwrap(writeAllocations(state, [write]));
        unwrap(deleteAllocations(state, claimant));
      }
    });
  });

  it('numbered groups are single-provider and that provider holds all of the group', () => {
    forAll((_state, req, c) => {
      for (const r of c.allocationRequests)
        for (const g of req.groups.filter((x) => x.suffix !== '')) {
          const mapped = r.mappings.get(g.suffix);
          expect(mapped).toHaveLength(1);
          for (const [rc, n] of Object.entries(g.resources))
            expect(r.allocations.get(mapped![0]!)?.get(rc) ?? 0).toBeGreaterThanOrEqual(n);
        }
    });
  });

  it('isolate never reuses a provider across numbered groups', () => {
    forAll((_state, req, c) => {
      if (req.groupPolicy !== 'isolate') return;
      const numbered = req.groups.filter((g) => g.suffix !== '').map((g) => g.suffix);
      for (const r of c.allocationRequests) {
        const used = numbered.map((s) => r.mappings.get(s)![0]);
        expect(new Set(used).size).toBe(used.length);
      }
    });
  });

  it('every candidate meets every group traits, aggregates, in_tree, same_subtree and root_required', () => {
    forAll((state, req, c) => {
      for (const r of c.allocationRequests) {
        const anchor = rp(state, r.rootUuid);
        expect(
          meets(
            (t) => anchor.traits.has(t),
            (req.rootRequired ?? []).map((t) => [t]),
          ),
        ).toBe(true);
        expect(req.rootForbidden?.some((t) => anchor.traits.has(t)) ?? false).toBe(false);
        for (const g of req.groups) checkGroup(state, g, anchor, r.mappings.get(g.suffix) ?? []);
        for (const set of req.sameSubtree ?? []) {
          const rps = [...new Set(set.flatMap((s) => r.mappings.get(s) ?? []))];
          const under = (top: Uuid, u: Uuid): boolean =>
            u === top || (rp(state, u).parentUuid !== null && under(top, rp(state, u).parentUuid!));
          expect(rps.some((top) => rps.every((u) => under(top, u)))).toBe(true);
        }
      }
    });
  });

  it('amounts add up: per class, the allocations sum to the amounts requested by all groups', () => {
    forAll((_state, req, c) => {
      const wanted = new Map<string, number>();
      for (const g of req.groups)
        for (const [rc, n] of Object.entries(g.resources)) wanted.set(rc, (wanted.get(rc) ?? 0) + n);
      for (const r of c.allocationRequests) {
        const got = new Map<string, number>();
        for (const m of r.allocations.values()) for (const [rc, n] of m) got.set(rc, (got.get(rc) ?? 0) + n);
        expect(got).toEqual(wanted);
      }
    });
  });

  it('summaries cover every allocated provider with its whole tree, and no candidate repeats', () => {
    forAll((state, _req, c) => {
      const keys = c.allocationRequests.map((r) =>
        JSON.stringify([[...r.allocations].map(([u, m]) => [u, [...m]]), [...r.mappings]]),
      );
      expect(new Set(keys).size).toBe(keys.length);
      for (const r of c.allocationRequests)
        for (const u of r.allocations.keys())
          for (const member of state.subtree(rp(state, u).rootUuid))
            expect(c.providerSummaries.has(member)).toBe(true);
    });
  });
});

function checkGroup(state: PlacementState, g: SuffixedGroup, anchor: ProviderView, mapped: readonly Uuid[]) {
  expect(mapped.length).toBeGreaterThan(0);
  const providers = mapped.map((u) => rp(state, u));
  for (const p of providers) {
    // each provider is in the anchor tree or is a sharing provider sharing an aggregate with it
    if (p.rootUuid !== anchor.uuid) expect(p.traits.has(SHARING_TRAIT)).toBe(true);
    expect(g.forbidden?.some((t) => p.traits.has(t)) ?? false).toBe(false);
  }
  const resourceful = Object.keys(g.resources).length > 0;
  const treeRoot = g.inTree && state.provider(g.inTree)?.rootUuid;
  if (g.suffix === '') {
    expect(meets((t) => providers.some((p) => p.traits.has(t)), g.required)).toBe(true);
    for (const p of providers) {
      expect(inEvery(p, g.memberOf) || (p.rootUuid === anchor.uuid && inEvery(anchor, g.memberOf))).toBe(
        true,
      );
      expect(
        g.forbiddenAggregates?.some((a) => p.aggregates.has(a) || anchor.aggregates.has(a)) ?? false,
      ).toBe(false);
      if (treeRoot) expect(p.rootUuid).toBe(treeRoot);
    }
    return;
  }
  const p = providers[0]!;
  expect(meets((t) => p.traits.has(t), g.required)).toBe(true);
  expect(inEvery(p, g.memberOf)).toBe(true);
  expect(g.forbiddenAggregates?.some((a) => p.aggregates.has(a)) ?? false).toBe(false);
  if (treeRoot && resourceful) expect(p.rootUuid).toBe(treeRoot);
}

describe('allocation candidates: the generators reach the cases the properties are about', () => {
  it('finds candidates with several groups, isolate, sharing and resourceless groups', () => {
    const seen = { results: 0, multiGroup: 0, isolate: 0, shared: 0, resourceless: 0 };
    fc.assert(
      fc.property(worldArb, usageArb, requestArb, (nodes, usage, req) => {
        const state = build(nodes, usage);
        const c = unwrap(allocationCandidates(state, req));
        if (c.allocationRequests.length === 0) return;
        seen.results++;
        if (req.groups.length > 1) seen.multiGroup++;
        if (req.groupPolicy === 'isolate' && req.groups.filter((g) => g.suffix !== '').length > 1)
          seen.isolate++;
        if (
          c.allocationRequests.some((r) =>
            [...r.allocations.keys()].some((u) => rp(state, u).rootUuid !== r.rootUuid),
          )
        )
          seen.shared++;
        if (req.groups.some((g) => Object.keys(g.resources).length === 0)) seen.resourceless++;
      }),
      { numRuns: 400, seed: 42 },
    );
    for (const [what, n] of Object.entries(seen))
      expect(n, `${what} in ${JSON.stringify(seen)}`).toBeGreaterThan(3);
  });
});
