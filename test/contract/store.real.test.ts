/**
 * The Store contract on a real redis-server (the shared one from the global setup, one
 * key prefix per store), plus what only Redis has: key confinement under the prefix,
 * connection failures as `unavailable`, and durability across a restart with AOF on.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { freePorts } from '../../deploy/services.ts';
import { services, uniquePrefix } from '../real/services.ts';
import { PrivateRedis } from './private-redis.ts';
import { bytes, expectCode, generationsOf, put, storeContract, text, useStores } from './store.contract.ts';
import { assertAllOrNothing, assertEqualsModel, assertGenerationsIncrease } from './store-properties.ts';

const openStore = (prefix = uniquePrefix('store'), url = services().redis) =>
  RedisStore.open({ url, prefix });

storeContract('redis', () => openStore());

/** All keys in the shared Redis that match `pattern`, read with redis-cli (tests do not import ioredis). */
function redisKeys(pattern: string): string[] {
  const { port } = new URL(services().redis);
  const out = execFileSync('redis-cli', ['-p', port, '--scan', '--pattern', pattern], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

describe('RedisStore specifics', () => {
  const prefix = uniquePrefix('confined');
  const { store } = useStores(() => openStore(prefix));

  it('keeps every Redis key it writes under "<prefix>:"', async () => {
    await store().commit([
      put('a*b', bytes(1)),
      put('x:y', bytes(2)),
      { op: 'index', index: 'by name', member: 'm' },
    ]);
    const keys = redisKeys(`${prefix}*`).sort();
    expect(keys).toEqual([`${prefix}:i:by name`, `${prefix}:k:a*b`, `${prefix}:k:x:y`]);
  });

  it('fails to open with code unavailable when nothing listens', async () => {
    const [port] = await freePorts(1);
    await expectCode(openStore(uniquePrefix(), `redis://127.0.0.1:${port}`), 'unavailable');
  });
});

describe('Store safety properties (redis, lighter run)', () => {
  const make = () => openStore();
  const RUN = { numRuns: 25, maxCommits: 12 };

  it('safety: after any sequence of commits the store equals the reference model', () =>
    assertEqualsModel(make, RUN));
  it('safety: generations strictly increase per key while it exists', () =>
    assertGenerationsIncrease(make, RUN));
  it('safety: a commit applies all of its ops or none of them', () =>
    assertAllOrNothing(make, { ...RUN, numRuns: 10 }));
});

describe('RedisStore durability (private redis-server with appendonly yes)', () => {
  const redis = new PrivateRedis();
  afterAll(() => redis.destroy());

  it('keeps committed data across a restart and reports the outage as unavailable', async () => {
    const url = await redis.start();
    const store = await openStore('durable', url);
    try {
      const many = Array.from({ length: 50 }, (_, i) => put(`k${i}`, bytes(i, 0, 0xff)));
      expect(generationsOf(await store.commit(many)).k49).toBe(1);
      await store.commit([put('k0', text('second'), 1), { op: 'index', index: 'idx', member: 'kept' }]);

      await redis.stop(); // SIGTERM: Redis flushes the AOF as it shuts down
      await expectCode(store.get('k0'), 'unavailable');
      await redis.start();

      const fresh = await openStore('durable', url);
      try {
        expect(await fresh.get('k0')).toEqual({ key: 'k0', value: text('second'), generation: 2 });
        expect((await fresh.scanKeys('k')).length).toBe(50);
        expect((await fresh.get('k49'))?.value).toEqual(bytes(49, 0, 0xff));
        expect(await fresh.list('idx', { limit: 5 })).toEqual({ members: ['kept'], next: undefined });
      } finally {
        await fresh.close();
      }
      // The first store reconnects on its own once Redis is back.
      expect(await redis.eventually(() => store.get('k1'))).toMatchObject({ generation: 1 });
    } finally {
      await store.close();
    }
  });
});
