/**
 * Safety properties of quota accounting (quota-ledger.ts + quota-reconcile.ts) over random
 * histories of boots, deletes and reconcile passes from two API replicas, every Store call of the
 * API store and of the cell interleaved by fast-check's scheduler, with crashes: a boot that dies
 * after its reserve (claims, no instance) and a delete that dies between purging the record and
 * releasing the claim (fast-check prints the seed and the shrunk history of any failure).
 *
 *   safety:   at every step the instances that exist never exceed a limit, and the ledger never
 *             counts less than exists (so no reserve can pass on an under-count);
 *   liveness: once the crashes are past the grace period, one reconcile pass makes every
 *             project's usage equal the instances that exist, and a second pass changes nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type InstanceCounts, ZERO_COUNTS } from '../../../../api/compute/quota.ts';
import { QuotaLedger } from '../../../../api/compute/quota-ledger.ts';
import {
  DEFAULT_QUOTA_CLAIM_GRACE_MS,
  QuotaReconciler,
  type ReconcileSource,
} from '../../../../api/compute/quota-reconcile.ts';
import { InstanceStore, newInstanceRecord } from '../../../../cells/instances.ts';
import type { CellRecord } from '../../../../cells/mapping.ts';
import { VirtualClock } from '../../../../core/adapters/memory/clock.ts';
import { MemoryStore } from '../../../../core/adapters/memory/store.ts';
import type { Store } from '../../../../core/ports/store.ts';

const PROJECTS = ['p', 'q'];
const SHAPES = [
  { cores: 1, ram: 512 },
  { cores: 2, ram: 2048 },
  { cores: 4, ram: 1024 },
];
const CELL = { uuid: 'c0000000-0000-4000-8000-000000000001', name: 'cell1' } as CellRecord;

type Op =
  | {
      kind: 'boot';
      replica: number;
      project: number;
      shape: number;
      min: number;
      extra: number;
      crash: boolean;
    }
  | { kind: 'delete'; pick: number; crash: boolean }
  | { kind: 'reconcile'; replica: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('boot' as const),
    replica: fc.integer({ min: 0, max: 1 }),
    project: fc.integer({ min: 0, max: PROJECTS.length - 1 }),
    shape: fc.integer({ min: 0, max: SHAPES.length - 1 }),
    min: fc.integer({ min: 1, max: 2 }),
    extra: fc.integer({ min: 0, max: 2 }),
    crash: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat(), crash: fc.boolean() }),
  fc.record({ kind: fc.constant('reconcile' as const), replica: fc.integer({ min: 0, max: 1 }) }),
);

const limitsArb = fc.record({
  instances: fc.integer({ min: 1, max: 6 }),
  cores: fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 12 })),
  ram: fc.oneof(fc.constant(-1), fc.integer({ min: 512, max: 8192 })),
});

/** Every call of `store` waits for the scheduler's go. */
function scheduled(store: Store, s: fc.Scheduler): Store {
  const gate = <T>(label: string, f: () => Promise<T>) => s.schedule(Promise.resolve(label), label).then(f);
  return {
    get: (k) => gate(`get ${k}`, () => store.get(k)),
    getMany: (ks) => gate('getMany', () => store.getMany(ks)),
    commit: (ops) => gate('commit', () => store.commit(ops)),
    list: (i, o) => gate(`list ${i}`, () => store.list(i, o)),
    count: (i) => gate(`count ${i}`, () => store.count(i)),
    scanKeys: (p) => gate('scanKeys', () => store.scanKeys(p)),
    close: () => store.close(),
  };
}

/** What exists in the cell, per project (read directly, not through the scheduler). */
async function truth(cell: InstanceStore): Promise<Map<string, InstanceCounts>> {
  const out = new Map<string, InstanceCounts>();
  for await (const r of cell.all()) {
    const u = out.get(r.value.projectId) ?? ZERO_COUNTS;
    out.set(r.value.projectId, {
      instances: u.instances + 1,
      cores: u.cores + r.value.flavor.vcpus,
      ram: u.ram + r.value.flavor.ram,
    });
  }
  return out;
}

const RESOURCES = ['instances', 'cores', 'ram'] as const;

describe('quota accounting safety properties', () => {
  it('safety + convergence: no interleaving of boots, deletes, crashes and reconcile passes exceeds a limit; reconcile converges', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        limitsArb,
        fc.array(op, { minLength: 1, maxLength: 14 }),
        async (s, limits, ops) => {
          const clock = new VirtualClock(1_000_000);
          const apiStore = new MemoryStore();
          const cellStore = new MemoryStore();
          const ledgers = [0, 1].map((_) => new QuotaLedger(scheduled(apiStore, s), () => clock.now()));
          const cell = new InstanceStore(scheduled(cellStore, s));
          const direct = new InstanceStore(cellStore);
          const source = (store: InstanceStore): ReconcileSource => ({
            cells: () => [CELL],
            instances: async () => store,
            cellOf: async () => CELL,
          });
          const reconcilers = ledgers.map(
            (l) => new QuotaReconciler({ ledger: l, source: source(cell), clock }),
          );
          const full = { ...limits, cores: limits.cores, ram: limits.ram };
          let seq = 0;
          const boot = async (o: Extract<Op, { kind: 'boot' }>) => {
            const projectId = PROJECTS[o.project]!;
            const shape = SHAPES[o.shape]!;
            const uuids = Array.from(
              { length: o.min + o.extra },
              () => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`,
            );
            const r = await ledgers[o.replica]!.reserve({
              projectId,
              limits: full,
              ...shape,
              min: o.min,
              uuids,
            });
            if (!r.ok || o.crash) return; // a crash after the reserve: claims, no instance
            for (const uuid of uuids.slice(0, r.count)) {
              const flavor = {
                id: 'f',
                name: 'f',
                vcpus: shape.cores,
                ram: shape.ram,
                disk: 0,
                ephemeral: 0,
                swap: 0,
                extraSpecs: {},
              };
              const rec = newInstanceRecord(
                { uuid, name: uuid, projectId, userId: 'u', flavor, imageRef: 'i', requestId: 'r' },
                new Date(clock.now()).toISOString(),
              );
              await cell.create(rec);
            }
          };
          const del = async (o: Extract<Op, { kind: 'delete' }>) => {
            const live: string[] = [];
            for await (const r of direct.all()) live.push(r.id);
            const uuid = live[o.pick % Math.max(1, live.length)];
            if (!uuid) return;
            const rec = await cell.get(uuid);
            if (rec && !(await cell.purge(rec))) return; // lost to another delete: it releases
            if (!o.crash) await ledgers[0]!.release(uuid); // the conductor's onDeleted
          };
          const tasks = ops.map((o) =>
            o.kind === 'boot' ? boot(o) : o.kind === 'delete' ? del(o) : reconcilers[o.replica]!.pass(),
          );
          let done = false;
          const all = Promise.all(tasks).finally(() => {
            done = true;
          });
          const check = async () => {
            const exists = await truth(direct);
            const plain = new QuotaLedger(apiStore);
            for (const p of PROJECTS) {
              const e = exists.get(p) ?? ZERO_COUNTS;
              const counted = await plain.usage(p);
              for (const r of RESOURCES) {
                if (full[r] >= 0)
                  expect(e[r], `${p} ${r} exists over its limit`).toBeLessThanOrEqual(full[r]);
                expect(counted[r], `${p} ${r} counted below what exists`).toBeGreaterThanOrEqual(e[r]);
              }
            }
          };
          while (!done) {
            if (s.count() > 0) await s.waitOne();
            else await new Promise((r) => setImmediate(r));
            await check();
          }
          await all;

          // Heal: past the grace every crash's leftover is fair game for reconcile.
          await clock.advance(DEFAULT_QUOTA_CLAIM_GRACE_MS + 1);
          const healer = new QuotaReconciler({
            ledger: new QuotaLedger(apiStore, () => clock.now()),
            source: source(direct),
            clock,
          });
          const first = await healer.pass();
          expect(first.error).toBeUndefined();
          const exists = await truth(direct);
          const plain = new QuotaLedger(apiStore);
          for (const p of PROJECTS) expect(await plain.usage(p)).toEqual(exists.get(p) ?? ZERO_COUNTS);
          const again = await healer.pass();
          expect(
            Object.values(again.changes).every((n) => n === 0),
            JSON.stringify(again.changes),
          ).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
