import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../core/adapters/memory/store.ts';
import { defineMessage, encode } from '../../core/codec/envelope.ts';
import { hasCode } from '../../core/errors.ts';
import { Records } from '../../core/stores/records.ts';

interface Flavor {
  name: string;
  vcpus: number;
}

const parseFlavor = (body: unknown): Flavor => {
  const b = body as Partial<Flavor>;
  if (typeof b?.name !== 'string' || typeof b.vcpus !== 'number') throw new Error('bad flavor');
  return { name: b.name, vcpus: b.vcpus };
};
const FlavorV1 = defineMessage<Flavor>({ type: 'cp.api.flavor', major: 1, minor: 0, parse: parseFlavor });

describe('Records: typed, versioned records over a Store', () => {
  it('writes through commits and reads back values with generations', async () => {
    const store = new MemoryStore();
    const flavors = new Records(store, 'flavors', FlavorV1);
    const res = await store.commit([flavors.put('m1.small', { name: 'm1.small', vcpus: 1 }, 0)]);
    expect(res).toEqual({ ok: true, generations: { 'flavors/m1.small': 1 } });
    expect(await flavors.get('m1.small')).toEqual({
      id: 'm1.small',
      value: { name: 'm1.small', vcpus: 1 },
      generation: 1,
    });
    // A second create of the same id is a conflict, not an overwrite.
    const again = await store.commit([flavors.put('m1.small', { name: 'm1.small', vcpus: 2 }, 0)]);
    expect(again.ok).toBe(false);
    expect(await flavors.getMany(['m1.small', 'none'])).toEqual([
      { id: 'm1.small', value: { name: 'm1.small', vcpus: 1 }, generation: 1 },
      undefined,
    ]);
  });

  it('keeps key spaces apart and lists ids of one space', async () => {
    const store = new MemoryStore();
    const a = new Records(store, 'flavors', FlavorV1);
    const b = new Records(store, 'flavors-old', FlavorV1);
    await store.commit([
      a.put('y', { name: 'y', vcpus: 1 }),
      a.put('x', { name: 'x', vcpus: 1 }),
      b.put('z', { name: 'z', vcpus: 1 }),
    ]);
    expect(await a.ids()).toEqual(['x', 'y']);
    await store.commit([a.delete('x', 1), a.check('y', 1)]);
    expect(await a.ids()).toEqual(['y']);
  });

  it('reads a record written by a newer minor and refuses an unknown major', async () => {
    const store = new MemoryStore();
    const flavors = new Records(store, 'flavors', FlavorV1);
    const newer = defineMessage<Flavor & { disk: number }>({
      ...FlavorV1,
      minor: 3,
      parse: (b) => b as Flavor & { disk: number },
    });
    await store.commit([
      { op: 'put', key: flavors.key('f'), value: encode(newer, { name: 'f', vcpus: 4, disk: 10 }) },
    ]);
    expect((await flavors.get('f'))?.value).toEqual({ name: 'f', vcpus: 4 });
    const v2 = defineMessage<Flavor>({ ...FlavorV1, major: 2 });
    await store.commit([{ op: 'put', key: flavors.key('g'), value: encode(v2, { name: 'g', vcpus: 1 }) }]);
    const err = await flavors.get('g').catch((e: unknown) => e);
    expect(hasCode(err, 'unsupportedVersion')).toBe(true);
  });

  it('rejects malformed spaces and ids as invalid', () => {
    const store = new MemoryStore();
    expect(() => new Records(store, 'Bad/Space', FlavorV1)).toThrow(/lowercase/);
    expect(() => new Records(store, 'ok', FlavorV1).key('')).toThrow(/non-empty/);
  });
});
