import { describe, expect, it } from 'vitest';
import { hasCode } from '../../../core/errors.ts';
import {
  createProvider,
  deleteProvider,
  PlacementCodes,
  PlacementState,
  placementCodeOf,
  putAllocations,
  type StateChange,
  unwrap,
  updateProvider,
} from '../../../core/placement/operations.ts';
import { makeConsumer, makeProvider, makeState, uuidFor } from '../../builders.ts';

const u = uuidFor;

describe('creating providers', () => {
  it('starts a root at generation 0 with itself as root', () => {
    const state = new PlacementState();
    const rp = unwrap(createProvider(state, { uuid: u('cn1'), name: 'cn1' }));
    expect(rp).toMatchObject({
      uuid: u('cn1'),
      name: 'cn1',
      generation: 0,
      parentUuid: null,
      rootUuid: u('cn1'),
    });
    expect(state.providerByName('cn1')?.uuid).toBe(u('cn1'));
  });

  it('builds nested trees of any depth; every node knows its root', () => {
    const state = makeState(
      makeProvider('cn1').child(
        makeProvider('numa0').child(makeProvider('pf0').child(makeProvider('vf-pool0'))),
      ),
    );
    for (const name of ['numa0', 'pf0', 'vf-pool0']) expect(state.provider(u(name))?.rootUuid).toBe(u('cn1'));
    expect(state.provider(u('pf0'))?.parentUuid).toBe(u('numa0'));
    expect(state.subtree(u('numa0'))).toEqual([u('numa0'), u('pf0'), u('vf-pool0')]);
  });

  it.each([
    ['a duplicate name', { uuid: u('other'), name: 'cn1' }, 'conflict', PlacementCodes.duplicateName],
    ['a duplicate uuid', { uuid: u('cn1'), name: 'other' }, 'conflict', PlacementCodes.duplicateName],
    ['an empty name', { uuid: u('x'), name: '' }, 'invalid', PlacementCodes.undefined],
    ['a 201-character name', { uuid: u('x'), name: 'n'.repeat(201) }, 'invalid', PlacementCodes.undefined],
    [
      'a missing parent',
      { uuid: u('x'), name: 'x', parentUuid: u('nope') },
      'invalid',
      PlacementCodes.undefined,
    ],
    [
      'itself as parent',
      { uuid: u('x'), name: 'x', parentUuid: u('x') },
      'invalid',
      PlacementCodes.undefined,
    ],
  ] as const)('refuses %s', (_what, cmd, code, placementCode) => {
    const state = makeState(makeProvider('cn1'));
    const out = createProvider(state, cmd);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(hasCode(out.error, code)).toBe(true);
    expect(placementCodeOf(out.error)).toBe(placementCode);
    expect(state.providerCount).toBe(1);
  });

  it('accepts a 200-character name', () => {
    expect(createProvider(new PlacementState(), { uuid: u('x'), name: 'n'.repeat(200) }).ok).toBe(true);
  });
});

describe('updating providers', () => {
  const tree = () =>
    makeState(makeProvider('a').child(makeProvider('b').child(makeProvider('c'))), makeProvider('d'));

  it('renames without changing the generation, and frees the old name', () => {
    const state = tree();
    unwrap(updateProvider(state, u('d'), { name: 'd2' }));
    expect(state.provider(u('d'))).toMatchObject({ name: 'd2', generation: 0 });
    expect(state.providerByName('d')).toBeUndefined();
    expect(createProvider(state, { uuid: u('e'), name: 'd' }).ok).toBe(true);
  });

  it('refuses a name held by another provider', () => {
    const out = updateProvider(tree(), u('d'), { name: 'a' });
    expect(!out.ok && placementCodeOf(out.error)).toBe(PlacementCodes.duplicateName);
  });

  it('gives a root a parent (1.14) and re-roots its subtree', () => {
    const state = tree();
    unwrap(updateProvider(state, u('a'), { name: 'a', parentUuid: u('d') }));
    for (const n of ['a', 'b', 'c']) expect(state.provider(u(n))?.rootUuid).toBe(u('d'));
    expect([...(state.provider(u('d'))?.children ?? [])]).toEqual([u('a')]);
  });

  it.each([
    ['re-parenting', 'b', u('d'), false, /re-parenting a provider is not currently allowed/],
    ['un-parenting', 'b', null, false, /un-parenting a provider is not currently allowed/],
    ['a loop', 'a', u('c'), true, /creating loop/],
    ['itself', 'a', u('a'), true, /creating loop/],
    ['a missing parent', 'b', u('nope'), true, /parent provider UUID does not exist/],
  ] as const)('refuses %s', (_what, name, parentUuid, allowReparenting, message) => {
    const state = tree();
    const out = updateProvider(state, u(name), { name, parentUuid, allowReparenting });
    expect(!out.ok && out.error.message).toMatch(message);
    expect(state.provider(u('c'))?.rootUuid).toBe(u('a'));
  });

  it('re-parents and un-parents from 1.37, moving roots along', () => {
    const state = tree();
    unwrap(updateProvider(state, u('b'), { name: 'b', parentUuid: u('d'), allowReparenting: true }));
    expect(state.provider(u('c'))?.rootUuid).toBe(u('d'));
    expect(state.provider(u('a'))?.children.size).toBe(0);
    unwrap(updateProvider(state, u('b'), { name: 'b', parentUuid: null, allowReparenting: true }));
    expect(state.provider(u('b'))).toMatchObject({ parentUuid: null, rootUuid: u('b') });
    expect(state.provider(u('c'))?.rootUuid).toBe(u('b'));
  });

  it('is 404 for an unknown provider', () => {
    const out = updateProvider(tree(), u('zz'), { name: 'zz' });
    expect(!out.ok && out.error.code).toBe('notFound');
  });
});

describe('deleting providers', () => {
  it('refuses a parent, then deletes bottom-up', () => {
    const state = makeState(makeProvider('cn1').child(makeProvider('gpu0')));
    const out = deleteProvider(state, u('cn1'));
    expect(!out.ok && placementCodeOf(out.error)).toBe(PlacementCodes.cannotDeleteParent);
    unwrap(deleteProvider(state, u('gpu0')));
    expect(state.provider(u('cn1'))?.children.size).toBe(0);
    unwrap(deleteProvider(state, u('cn1')));
    expect(state.providerCount).toBe(0);
    expect(state.providerByName('cn1')).toBeUndefined();
  });

  it('refuses a provider holding allocations until they are gone', () => {
    const state = makeState(makeProvider('cn1').inventory('VCPU', 4));
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 1 }).write(null)));
    const out = deleteProvider(state, u('cn1'));
    expect(!out.ok && placementCodeOf(out.error)).toBe(PlacementCodes.providerInUse);
    expect(!out.ok && out.error.code).toBe('conflict');
  });

  it('is 404 for an unknown provider', () => {
    const out = deleteProvider(new PlacementState(), u('x'));
    expect(!out.ok && out.error.code).toBe('notFound');
  });
});

describe('change notifications', () => {
  it('reports each change after it is applied, for an index to follow', () => {
    const state = new PlacementState();
    const seen: StateChange[] = [];
    const stop = state.subscribe((c) => seen.push(c));
    makeProvider('cn1').inventory('VCPU', 4).trait('HW_CPU_X86_AVX2').addTo(state);
    unwrap(putAllocations(state, makeConsumer('vm1').on('cn1', { VCPU: 1 }).write(null)));
    stop();
    unwrap(createProvider(state, { uuid: u('x'), name: 'x' })); // after stop(): not seen
    expect(seen.map((c) => `${c.kind}:${c.what}`)).toEqual([
      'provider:created',
      'provider:inventories',
      'provider:traits',
      'consumer:written',
      'provider:usages',
    ]);
  });
});
