import { describe, expect, it } from 'vitest';
import {
  deleteAllocations,
  PlacementCodes,
  placementCodeOf,
  projectUsages,
  providerAllocations,
  providerUsages,
  putAllocations,
  unwrap,
  writeAllocations,
} from '../../../core/placement/operations.ts';
import { makeConsumer, makeProvider, makeState, uuidFor } from '../../builders.ts';

const u = uuidFor;

/** cn1: VCPU capacity 16 * 4 = 64, MEMORY_MB (8192 - 512) * 1.5 = 11520 in steps of 256, DISK_GB 100. */
function host() {
  return makeState(
    makeProvider('cn1')
      .inventory('VCPU', 16, { allocationRatio: 4, maxUnit: 16 })
      .inventory('MEMORY_MB', 8192, { reserved: 512, allocationRatio: 1.5, stepSize: 256 })
      .inventory('DISK_GB', 100, { minUnit: 10 })
      .child(makeProvider('gpu0').inventory('VGPU', 4)),
  );
}

describe('consumer generations (microversion 1.28+)', () => {
  it('creates with null, then needs the current generation; each write adds one', () => {
    const state = host();
    const vm = makeConsumer('vm1').on('cn1', { VCPU: 2 });
    const first = unwrap(putAllocations(state, vm.write(null)));
    expect(first.consumers.get(u('vm1'))?.generation).toBe(1);
    unwrap(putAllocations(state, vm.on('cn1', { VCPU: 4 }).write(1)));
    expect(state.consumer(u('vm1'))?.generation).toBe(2);
  });

  it.each([
    ['a number for a new consumer', null, 0, 'expected null but got 0'],
    ['null for an existing consumer', 1, null, 'expected 1 but got null'],
    ['a stale number', 1, 0, 'expected 1 but got 0'],
  ] as const)(
    'refuses %s with placement.concurrent_update, changing nothing',
    (_w, existing, given, message) => {
      const state = host();
      if (existing !== null)
        unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 2 }).write(null)));
      const before = state.provider(u('cn1'))!.generation;
      const out = putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 8 }).write(given));
      expect(!out.ok && placementCodeOf(out.error)).toBe(PlacementCodes.concurrentUpdate);
      expect(!out.ok && out.error.message).toBe(`consumer generation conflict - ${message}`);
      expect(!out.ok && out.error.retryable).toBe(true);
      expect(state.provider(u('cn1'))!.generation).toBe(before);
      expect(providerUsages(state.provider(u('cn1'))!).VCPU).toBe(existing === null ? 0 : 2);
    },
  );

  it('skips the check when no generation is given (before 1.28)', () => {
    const state = host();
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 2 }).write()));
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 3 }).write()));
    expect(state.consumer(u('vm1'))?.generation).toBe(2);
  });

  it('forgets a consumer whose allocations are emptied: the next write expects null again', () => {
    const state = host();
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 2 }).write(null)));
    const r = unwrap(putAllocations(state, makeConsumer('vm1').write(1)));
    expect(r.consumers.get(u('vm1'))).toBeNull();
    expect(state.consumer(u('vm1'))).toBeUndefined();
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 1 }).write(null)));
    expect(state.consumer(u('vm1'))?.generation).toBe(1);
  });
});

describe('capacity and unit rules', () => {
  // VCPU capacity 64; MEMORY_MB capacity 11520, step 256; DISK_GB min 10; VGPU 4
  it.each([
    ['VCPU 16 = max_unit', 'cn1', { VCPU: 16 }, undefined],
    ['VCPU 17 > max_unit 16', 'cn1', { VCPU: 17 }, 'max_unit'],
    ['MEMORY_MB 11520 = capacity', 'cn1', { MEMORY_MB: 11520 }, undefined],
    ['MEMORY_MB 11776 > capacity (step ok)', 'cn1', { MEMORY_MB: 11776 }, 'capacity'],
    ['MEMORY_MB 1000 not a multiple of 256', 'cn1', { MEMORY_MB: 1000 }, 'step_size'],
    ['DISK_GB 5 < min_unit 10', 'cn1', { DISK_GB: 5 }, 'min_unit'],
    ['VGPU on the root, which has none', 'cn1', { VGPU: 1 }, 'invalid'],
    ['VGPU 4 on the child', 'gpu0', { VGPU: 4 }, undefined],
    ['VGPU 5 on the child', 'gpu0', { VGPU: 5 }, 'capacity'],
  ] as const)('%s', (_what, rp, resources, reason) => {
    const state = host();
    const out = putAllocations(state, makeConsumer('vm1').on(rp, resources).write(null));
    if (reason === undefined) {
      expect(out.ok).toBe(true);
      return;
    }
    expect(!out.ok && out.error.code).toBe('conflict');
    expect(!out.ok && out.error.retryable).toBe(false);
    expect(!out.ok && placementCodeOf(out.error)).toBe(PlacementCodes.undefined);
    expect(!out.ok && out.error.details?.reason).toBe(reason);
    expect(state.consumer(u('vm1'))).toBeUndefined();
  });

  it('fills VCPU to capacity across consumers: 4 × 16 = 64, the fifth is refused', () => {
    const state = host();
    for (let i = 0; i < 4; i++)
      unwrap(putAllocations(state, makeConsumer(`vm${i}`).on('cn1', { VCPU: 16 }).write(null)));
    const out = putAllocations(state, makeConsumer('vm4').on('cn1', { VCPU: 1 }).write(null));
    expect(!out.ok && out.error.details?.reason).toBe('capacity');
    expect(!out.ok && out.error.message).toBe(
      `Unable to allocate inventory: Unable to create allocation for 'VCPU' on resource provider '${u('cn1')}'. The requested amount would exceed the capacity.`,
    );
  });

  it("replacing a consumer's allocation does not count its old amount against it", () => {
    // used 60 by others + vm1's 4 = 64; vm1 grows 4 → 4: fits; 4 → 5: 60 + 5 = 65 > 64
    const state = host();
    for (let i = 0; i < 3; i++)
      unwrap(putAllocations(state, makeConsumer(`o${i}`).on('cn1', { VCPU: 16 }).write(null)));
    unwrap(putAllocations(state, makeConsumer('o3').on('cn1', { VCPU: 12 }).write(null)));
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 4 }).write(null)));
    expect(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 4 }).write(1)).ok).toBe(true);
    const grow = putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 5 }).write(2));
    expect(!grow.ok && grow.error.details?.reason).toBe('capacity');
  });

  it.each([
    ['an unknown provider', { [u('nope')]: { VCPU: 1 } }, /resource provider '.*' that does not exist/],
    ['an unknown class', { [u('cn1')]: { CUSTOM_NOPE: 1 } }, /No such resource class CUSTOM_NOPE/],
    ['a zero amount', { [u('cn1')]: { VCPU: 0 } }, /must be an integer in 1\.\./],
    ['a fractional amount', { [u('cn1')]: { VCPU: 1.5 } }, /must be an integer/],
  ])('refuses %s as invalid (400)', (_what, allocations, message) => {
    const state = host();
    const out = putAllocations(state, { consumerUuid: u('vm1'), projectId: 'p', userId: 'u', allocations });
    expect(!out.ok && out.error.code).toBe('invalid');
    expect(!out.ok && out.error.message).toMatch(message);
  });

  it('refuses an empty project id', () => {
    const out = putAllocations(host(), {
      consumerUuid: u('vm1'),
      projectId: '',
      userId: 'u',
      allocations: {},
    });
    expect(!out.ok && out.error.code).toBe('invalid');
  });
});

describe('several consumers at once (POST /allocations)', () => {
  it('sums the new amounts of all consumers on one provider: 4 × 16 + 1 > 64 is refused as a whole', () => {
    const state = host();
    const out = writeAllocations(state, [
      makeConsumer('a').on('cn1', { VCPU: 16 }).write(null),
      makeConsumer('b').on('cn1', { VCPU: 16 }).write(null),
      makeConsumer('c').on('cn1', { VCPU: 16 }).write(null),
      makeConsumer('d').on('cn1', { VCPU: 16 }).write(null),
      makeConsumer('e').on('cn1', { VCPU: 1 }).write(null),
    ]);
    expect(!out.ok && out.error.details?.reason).toBe('capacity');
    expect([...state.consumers()]).toHaveLength(0);
  });

  it('moves an allocation from one consumer to another atomically (migration)', () => {
    const state = host();
    unwrap(
      putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 16 }).on('gpu0', { VGPU: 4 }).write(null)),
    );
    const gen = state.provider(u('gpu0'))!.generation;
    const r = unwrap(
      writeAllocations(state, [
        makeConsumer('vm1').on('cn1', { VCPU: 16 }).write(1),
        makeConsumer('mig1').on('gpu0', { VGPU: 4 }).write(null),
      ]),
    );
    expect(new Set(r.providers)).toEqual(new Set([u('cn1'), u('gpu0')]));
    expect(state.provider(u('gpu0'))!.generation).toBe(gen + 1);
    expect(providerAllocations(state, state.provider(u('gpu0'))!)).toEqual(
      new Map([[u('mig1'), new Map([['VGPU', 4]])]]),
    );
  });

  it('refuses the same consumer twice', () => {
    const vm = makeConsumer('vm1').on('cn1', { VCPU: 1 });
    const out = writeAllocations(host(), [vm.write(null), vm.write(null)]);
    expect(!out.ok && out.error.code).toBe('invalid');
  });

  it('refuses everything when one consumer generation is stale', () => {
    const state = host();
    const out = writeAllocations(state, [
      makeConsumer('a').on('cn1', { VCPU: 1 }).write(null),
      makeConsumer('b').on('cn1', { VCPU: 1 }).write(3),
    ]);
    expect(!out.ok && placementCodeOf(out.error)).toBe(PlacementCodes.concurrentUpdate);
    expect(state.consumer(u('a'))).toBeUndefined();
  });
});

describe('provider generations on allocation writes', () => {
  // As Placement 8.0 does: providers in the new allocations are bumped once; a provider that
  // only loses allocations (moved off, or the consumer deleted) keeps its generation.
  it('bumps each provider in the new allocations once, and none that only lost allocations', () => {
    const state = host();
    const g = (n: string) => state.provider(u(n))!.generation;
    const [cn1, gpu0] = [g('cn1'), g('gpu0')];
    unwrap(
      putAllocations(
        state,
        makeConsumer('vm1').on('cn1', { VCPU: 1, MEMORY_MB: 256 }).on('gpu0', { VGPU: 1 }).write(null),
      ),
    );
    expect([g('cn1'), g('gpu0')]).toEqual([cn1 + 1, gpu0 + 1]);
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 1 }).write(1))); // leaves gpu0
    expect([g('cn1'), g('gpu0')]).toEqual([cn1 + 2, gpu0 + 1]);
    unwrap(deleteAllocations(state, u('vm1')));
    expect([g('cn1'), g('gpu0')]).toEqual([cn1 + 2, gpu0 + 1]);
  });

  it('checks expected provider generations when the caller claims from a snapshot', () => {
    const state = host();
    const seen = state.provider(u('cn1'))!.generation;
    unwrap(putAllocations(state, makeConsumer('other').on('cn1', { VCPU: 1 }).write(null)));
    const out = putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 1 }).write(null), {
      expectedProviderGenerations: new Map([[u('cn1'), seen]]),
    });
    expect(!out.ok && placementCodeOf(out.error)).toBe(PlacementCodes.concurrentUpdate);
    const fresh = new Map([[u('cn1'), state.provider(u('cn1'))!.generation]]);
    expect(
      putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 1 }).write(null), {
        expectedProviderGenerations: fresh,
      }).ok,
    ).toBe(true);
  });
});

describe('deleting allocations and usages', () => {
  it('restores usage exactly and forgets the consumer', () => {
    const state = host();
    unwrap(putAllocations(state, makeConsumer('keep').on('cn1', { VCPU: 3 }).write(null)));
    const before = providerUsages(state.provider(u('cn1'))!);
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 5, MEMORY_MB: 512 }).write(null)));
    expect(providerUsages(state.provider(u('cn1'))!)).toEqual({ VCPU: 8, MEMORY_MB: 512, DISK_GB: 0 });
    unwrap(deleteAllocations(state, u('vm1')));
    expect(providerUsages(state.provider(u('cn1'))!)).toEqual(before);
    expect(state.provider(u('cn1'))!.consumers).toEqual(new Set([u('keep')]));
  });

  it('is 404 for a consumer without allocations; checks a generation when given', () => {
    const state = host();
    expect(deleteAllocations(state, u('vm1')).ok).toBe(false);
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 1 }).write(null)));
    const stale = deleteAllocations(state, u('vm1'), 0);
    expect(!stale.ok && placementCodeOf(stale.error)).toBe(PlacementCodes.concurrentUpdate);
    expect(deleteAllocations(state, u('vm1'), 1).ok).toBe(true);
  });

  it('sums usages per project and per user', () => {
    const state = host();
    unwrap(
      putAllocations(
        state,
        makeConsumer('a').project('p1', 'alice').on('cn1', { VCPU: 2 }).on('gpu0', { VGPU: 1 }).write(null),
      ),
    );
    unwrap(putAllocations(state, makeConsumer('b').project('p1', 'bob').on('cn1', { VCPU: 3 }).write(null)));
    unwrap(putAllocations(state, makeConsumer('c').project('p2', 'bob').on('cn1', { VCPU: 7 }).write(null)));
    expect(projectUsages(state, { projectId: 'p1' })).toEqual({ VCPU: 5, VGPU: 1 }); // 2 + 3
    expect(projectUsages(state, { projectId: 'p1', userId: 'bob' })).toEqual({ VCPU: 3 });
    expect(projectUsages(state, { projectId: 'p1', consumerType: 'unknown' })).toEqual({ VCPU: 5, VGPU: 1 });
    expect(projectUsages(state, { projectId: 'p1', consumerType: 'INSTANCE' })).toEqual({});
    expect(projectUsages(state, { projectId: 'p3' })).toEqual({});
  });

  it('moves a consumer to the project and type of its latest write', () => {
    const state = host();
    unwrap(putAllocations(state, makeConsumer('a').project('p1').on('cn1', { VCPU: 2 }).write(null)));
    unwrap(
      putAllocations(state, {
        ...makeConsumer('a').project('p2').on('cn1', { VCPU: 2 }).write(1),
        consumerType: 'INSTANCE',
      }),
    );
    expect(projectUsages(state, { projectId: 'p1' })).toEqual({});
    expect(projectUsages(state, { projectId: 'p2', consumerType: 'INSTANCE' })).toEqual({ VCPU: 2 });
    unwrap(putAllocations(state, makeConsumer('a').project('p2').on('cn1', { VCPU: 1 }).write(2)));
    expect(state.consumer(u('a'))?.consumerType).toBe('INSTANCE'); // kept when not given
  });
});
