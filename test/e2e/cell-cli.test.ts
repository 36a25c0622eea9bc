/**
 * `cellplane cell …` end to end: the real command line (the `./cellplane` script, a new
 * process per command) against the real etcd of the test fixture, under a unique prefix.
 * Host mappings are made through the library, as a host agent would, and instance mappings as
 * the API (in its Redis) or an earlier version (in etcd) would, to check that delete is refused
 * while they remain and that `repair` moves the etcd ones.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CellRegistry } from '../../cells/lifecycle.ts';
import { INSTANCE_MAPPINGS_PREFIX, InstanceMappingMessage, instanceMappingKey } from '../../cells/mapping.ts';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { encode } from '../../core/codec/envelope.ts';
import type { Store } from '../../core/ports/store.ts';
import { services, uniquePrefix } from '../real/services.ts';
import { apiStoreOf } from './fixtures/api-store.ts';

const execFileP = promisify(execFile);
/** The script under test; CELLPLANE_BIN points at another build of it (e.g. an installed one). */
const CELLPLANE = process.env.CELLPLANE_BIN ?? join(import.meta.dirname, '..', '..', 'cellplane');
/** One command: a fresh Node process under tsx, slow on a busy 2-core machine. */
const COMMAND_TIMEOUT_MS = 30_000;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cellplane(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete fullEnv[k];
  try {
    const { stdout, stderr } = await execFileP(CELLPLANE, args, {
      env: fullEnv,
      timeout: COMMAND_TIMEOUT_MS,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const coords: EtcdCoordinator[] = [];
const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(coords.splice(0).map((c) => c.close()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

describe('cellplane cell (real etcd)', () => {
  it(
    'creates, lists, shows, disables, enables and deletes cells; refuses what it must with exit code 1',
    async () => {
      const prefix = `/${uniquePrefix('cellcli')}`;
      const cell = (...args: string[]) =>
        cellplane(['cell', ...args, '--prefix', prefix], {
          CELLPLANE_ETCD_URL: services().etcd,
          CELLPLANE_REDIS_URL: services().redis,
        });
      const json = async (...args: string[]) => {
        const r = await cell(...args, '--json');
        expect(r, r.stderr).toMatchObject({ code: 0 });
        return JSON.parse(r.stdout);
      };

      const c1 = await json('create', 'cell1', '--store', 'redis://127.0.0.1:6379/1');
      expect(c1).toMatchObject({ name: 'cell1', transport: 'cp.cell1', state: 'ready', disabled: false });
      expect(Date.parse(c1.createdAt)).not.toBeNaN();
      await json(
        'create',
        'cell2',
        '--store',
        'redis://127.0.0.1:6379/2',
        '--transport',
        'nats://10.0.0.2:4222',
        '--disabled',
        '--reason',
        'burn-in',
      );

      const dup = await cell('create', 'cell1', '--store', 'redis://127.0.0.1:6379/9');
      expect(dup).toMatchObject({ code: 1, stdout: '' });
      expect(dup.stderr).toContain('a cell named "cell1" already exists');

      const table = await cell('list');
      expect(table.code).toBe(0);
      expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+UUID\s+STATUS\s+TRANSPORT\s+STORE\s+REASON$/);
      expect(table.stdout).toMatch(/^cell2\s+\S+\s+disabled\s+nats:\/\/10\.0\.0\.2:4222\s+\S+\s+burn-in$/m);

      const shown = await json('show', c1.uuid);
      expect(shown).toMatchObject({ name: 'cell1', mappings: { hosts: 0, instances: 0 } });

      const unknown = await cell('show', 'cell9');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('no cell named "cell9" (run "cellplane cell list"');

      expect(await json('disable', 'cell1', '--reason', 'maintenance')).toMatchObject({
        disabled: true,
        disabledReason: 'maintenance',
      });
      expect(await json('enable', 'cell2')).toMatchObject({ disabled: false });

      // A host agent maps its host to cell1: delete must refuse, saying how many remain.
      const coord = new EtcdCoordinator({ hosts: services().etcd, prefix });
      coords.push(coord);
      const mappingStore = apiStoreOf(services().redis, prefix.slice(1));
      stores.push(mappingStore);
      const registry = new CellRegistry(coord, { clock: systemClock, mappingStore });
      await registry.memberships.mapHost('compute-1', c1.uuid);
      const refused = await cell('delete', 'cell1');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('still has 1 host mapping(s) and 0 instance mapping(s)');
      await registry.memberships.unmapHost('compute-1');

      expect(await json('delete', 'cell1')).toMatchObject({ deleted: { uuid: c1.uuid } });
      const left = await json('list');
      expect(left.map((c: { name: string; disabled: boolean }) => [c.name, c.disabled])).toEqual([
        ['cell2', false],
      ]);
    },
    20 * COMMAND_TIMEOUT_MS,
  ); // ~20 CLI processes, one after another

  it(
    "counts the instance mappings in the API's Redis, and repair moves those an earlier version left in etcd",
    async () => {
      const prefix = `/${uniquePrefix('cellcli')}`;
      const env = { CELLPLANE_ETCD_URL: services().etcd, CELLPLANE_REDIS_URL: services().redis };
      const cell = (...args: string[]) => cellplane(['cell', ...args, '--prefix', prefix], env);
      const json = async (...args: string[]) => {
        const r = await cell(...args, '--json');
        expect(r, r.stderr).toMatchObject({ code: 0 });
        return JSON.parse(r.stdout);
      };
      const c1 = await json('create', 'cell1', '--store', 'redis://127.0.0.1:6379/1');
      const coord = new EtcdCoordinator({ hosts: services().etcd, prefix });
      coords.push(coord);
      const mappingStore = apiStoreOf(services().redis, prefix.slice(1));
      stores.push(mappingStore);
      const registry = new CellRegistry(coord, { clock: systemClock, mappingStore });
      // One instance mapped as the API maps it now, one as an earlier version did (a key in etcd).
      const [now, legacy] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
      await registry.memberships.mapInstance(now, c1.uuid, 'p');
      const old = { instanceUuid: legacy, cellUuid: c1.uuid, projectId: 'p', mappedAt: 1_700_000_000_000 };
      await coord.cas(instanceMappingKey(legacy), encode(InstanceMappingMessage, old), 0);

      expect(await json('show', 'cell1')).toMatchObject({ mappings: { hosts: 0, instances: 2 } });
      expect(await json('repair')).toEqual({
        freed: [],
        mappings: { moved: 1, alreadyMoved: 0, unmappedMeanwhile: 0, conflicts: [] },
      });
      expect(await coord.list(INSTANCE_MAPPINGS_PREFIX)).toEqual([]);
      expect(await registry.memberships.instanceMapping(legacy)).toEqual(old);
      const refused = await cell('delete', 'cell1');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('still has 0 host mapping(s) and 2 instance mapping(s)');

      const blind = await cellplane(['cell', 'show', 'cell1', '--prefix', prefix], {
        ...env,
        CELLPLANE_REDIS_URL: undefined,
      });
      expect(blind.code).toBe(1);
      expect(blind.stderr).toContain("the instance mappings live in the API's Redis: pass --redis URL");
    },
    10 * COMMAND_TIMEOUT_MS,
  );

  it('says how to point it at etcd when neither --etcd nor CELLPLANE_ETCD_URL is set', async () => {
    const r = await cellplane(['cell', 'list'], { CELLPLANE_ETCD_URL: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pass --etcd URL or set CELLPLANE_ETCD_URL');
  });
});
