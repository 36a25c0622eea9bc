/**
 * The crash-safety rules of instance mappings (cells/instance-mappings.ts) under real concurrency:
 * the cell records in a real etcd, the mappings in a real Redis, several mappers (each its own etcd
 * client and Redis connection, as several API processes) mapping new instances while an operator
 * disables or deletes the cell. The interleaving is whatever the servers make of it; what must
 * hold whatever it is:
 * - a disable: every map that started after the disable returned is refused; the mappings left
 *   are exactly those whose map resolved (a refused one leaves nothing);
 * - a delete: either it is refused (some mapping was counted) and the cell is ready again with
 *   every resolved mapping, or it went through and no mapping points at the cell.
 * The deterministic interleavings (a disable or a delete between the check and the write) are in
 * the behaviour suite (test/unit/cells/instance-mappings-behaviour.ts, also run on etcd + Redis).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CellRegistry } from '../../cells/lifecycle.ts';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { toCellplaneError } from '../../core/errors.ts';
import { services, uniquePrefix } from '../real/services.ts';

/** Mappers at once (each an API process's etcd client and Redis connection). */
const MAPPERS = 6;
/** Maps that must have resolved before the operator acts (the race is on, not before it). */
const MAPPED_BEFORE_ACTING = 60;
/** Maps each mapper starts after the disable returned (all must be refused). */
const ATTEMPTS_AFTER_DISABLE = 20;
/** How long a case may take on a busy 2-core machine. */
const CASE_TIMEOUT_MS = 120_000;

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
});

interface Attempt {
  readonly uuid: string;
  readonly startedAt: number;
  outcome?: 'mapped' | string;
}

const uuidOf = (m: number, n: number) =>
  `00000000-0000-4000-8${String(m).padStart(3, '0')}-${String(n).padStart(12, '0')}`;

/** A registry on its own etcd client and Redis connection, all under the test's prefixes. */
async function registryOn(prefix: string): Promise<CellRegistry> {
  const coord = new EtcdCoordinator({ hosts: services().etcd, prefix: `/${prefix}` });
  const store = await RedisStore.open({ url: services().redis, prefix: `${prefix}.api` });
  closers.push(async () => {
    await store.close();
    await coord.close();
  });
  return new CellRegistry(coord, { clock: systemClock, mappingStore: store });
}

/** Mappers mapping new instances to `cellUuid` until `stop()` says so; every attempt recorded. */
function startMappers(mappers: CellRegistry[], cellUuid: string, stop: (m: number, n: number) => boolean) {
  const attempts: Attempt[] = [];
  const runs = mappers.map(async (r, m) => {
    for (let n = 0; !stop(m, n); n++) {
      const a: Attempt = { uuid: uuidOf(m, n), startedAt: Date.now() };
      attempts.push(a);
      try {
        await r.memberships.mapInstance(a.uuid, cellUuid, 'p');
        a.outcome = 'mapped';
      } catch (err) {
        const e = toCellplaneError(err);
        a.outcome = `${e.code}${e.retryable ? ' (retryable)' : ''}: ${e.message}`;
      }
    }
  });
  return { attempts, done: Promise.all(runs) };
}

const mappedIn = (attempts: readonly Attempt[]) =>
  attempts
    .filter((a) => a.outcome === 'mapped')
    .map((a) => a.uuid)
    .sort();

describe('instance mappings racing an operator, on real etcd and Redis', () => {
  it('a disable: no map started after it succeeds; exactly the resolved maps remain', {
    timeout: CASE_TIMEOUT_MS,
  }, async () => {
    const prefix = uniquePrefix('imrace');
    const admin = await registryOn(prefix);
    const mappers = await Promise.all(Array.from({ length: MAPPERS }, () => registryOn(prefix)));
    const cell = await admin.create({ name: 'cell-a', transport: 'cp.a', store: services().redis });
    let disabledAt = Number.POSITIVE_INFINITY;
    const afterDisable = new Array<number>(MAPPERS).fill(0);
    const run = startMappers(mappers, cell.uuid, (m, _n) => {
      if (Date.now() <= disabledAt) return false;
      return ++afterDisable[m]! > ATTEMPTS_AFTER_DISABLE;
    });
    while (run.attempts.filter((a) => a.outcome === 'mapped').length < MAPPED_BEFORE_ACTING)
      await new Promise((r) => setTimeout(r, 5));
    await admin.disable('cell-a', 'race');
    disabledAt = Date.now();
    await run.done;

    const late = run.attempts.filter((a) => a.startedAt > disabledAt);
    expect(late.length).toBe(MAPPERS * ATTEMPTS_AFTER_DISABLE);
    for (const a of late) expect(a.outcome, a.uuid).toMatch(/^conflict: cell "cell-a" (is|was) disabled/);
    const mapped = mappedIn(run.attempts);
    const left = (await admin.memberships.instanceMappings(cell.uuid)).map((m) => m.instanceUuid);
    expect(left).toEqual(mapped);
    expect(await admin.memberships.count(cell.uuid)).toEqual({ hosts: 0, instances: mapped.length });
    const refusedMeanwhile = run.attempts.filter((a) => a.outcome?.includes('was disabled meanwhile')).length;
    console.log(
      `[instance-mappings-race] disable: ${mapped.length} mapped, ${run.attempts.length - mapped.length} refused (${refusedMeanwhile} by the re-check after their write)`,
    );
  });

  it('a delete: refused with every resolved mapping kept, or done with none left pointing at the cell', {
    timeout: CASE_TIMEOUT_MS,
  }, async () => {
    const prefix = uniquePrefix('imrace');
    const admin = await registryOn(prefix);
    const mappers = await Promise.all(Array.from({ length: MAPPERS }, () => registryOn(prefix)));
    const cell = await admin.create({ name: 'cell-a', transport: 'cp.a', store: services().redis });
    let deleteDone = false;
    const run = startMappers(mappers, cell.uuid, (_m, n) => deleteDone && n > 0);
    const deleted = await admin.delete('cell-a').then(
      () => true,
      (err) => {
        expect(toCellplaneError(err).message).toMatch(
          /still has 0 host mapping\(s\) and \d+ instance mapping/,
        );
        return false;
      },
    );
    deleteDone = true;
    await run.done;
    const mapped = mappedIn(run.attempts);
    const left = (await admin.memberships.instanceMappings(cell.uuid)).map((m) => m.instanceUuid);
    if (deleted) {
      expect(await admin.find('cell-a')).toBeUndefined();
      expect(left).toEqual([]);
      expect(mapped).toEqual([]); // nothing that resolved can point at a deleted cell
    } else {
      expect((await admin.get('cell-a')).state).toBe('ready');
      expect(left).toEqual(mapped);
    }
    console.log(
      `[instance-mappings-race] delete ${deleted ? 'went through' : 'refused'}: ${mapped.length} mapped`,
    );
  });
});
