/**
 * The quota reconcile pass (api/compute/quota-reconcile.ts): its rules as a table over
 * planReconcile, what an instance counts for, and whole passes over cells one of which does not
 * answer — skipped and named, never used to "correct" usage downwards.
 */
import { describe, expect, it } from 'vitest';
import { QuotaLedger } from '../../../../api/compute/quota-ledger.ts';
import {
  type CountedInstance,
  countedOf,
  planReconcile,
  QuotaReconciler,
  type ReconcileReport,
} from '../../../../api/compute/quota-reconcile.ts';
import { type InstanceRecord, InstanceStore, newInstanceRecord } from '../../../../cells/instances.ts';
import type { CellRecord } from '../../../../cells/mapping.ts';
import { VirtualClock } from '../../../../core/adapters/memory/clock.ts';
import { MemoryStore } from '../../../../core/adapters/memory/store.ts';
import { CellplaneError } from '../../../../core/errors.ts';
import type { Store } from '../../../../core/ports/store.ts';
import type { Versioned } from '../../../../core/stores/records.ts';

const GRACE = 1_000;
const NOW = 10_000;
const claim = (cores: number, at: number, releasedAt: number | null = null) => ({
  id: 'x',
  generation: 3,
  value: { projectId: 'p', cores, ram: 512, at, releasedAt },
});
const inst = (cores: number, busy = false): CountedInstance => ({ projectId: 'p', cores, ram: 512, busy });

describe('planReconcile', () => {
  it.each([
    // name, claim of x, instance x in an answering cell, cells skipped + x's mapping → action
    ['instance without a claim is adopted', undefined, inst(2), [], 'adopt'],
    ['claim equal to the instance: nothing', claim(2, 0), inst(2), [], undefined],
    ['idle instance, claim too big (resize confirmed): lowered', claim(4, 0), inst(2), [], 'adjust'],
    ['busy instance, claim too big (resize in flight): kept', claim(4, 0), inst(2, true), [], undefined],
    ['busy instance, claim too small: raised', claim(1, 0), inst(2, true), [], 'adjust'],
    ['tombstone, instance exists again after the grace: revived', claim(2, 0, 0), inst(2), [], 'revive'],
    [
      'young tombstone, instance still listed (a delete racing the scan): nothing',
      claim(2, 0, NOW - 10),
      inst(2),
      [],
      undefined,
    ],
    ['old claim, no instance anywhere: dropped', claim(2, 0), undefined, [], 'drop'],
    [
      'young claim, no instance yet (a boot in flight): nothing',
      claim(2, NOW - 10),
      undefined,
      [],
      undefined,
    ],
    ['old tombstone: forgotten', claim(2, 0, 0), undefined, [], 'forget'],
    ['old claim, its cell skipped: nothing', claim(2, 0), undefined, ['down', 'down'], undefined],
    [
      'old claim, some cell skipped, mapping unknown: nothing',
      claim(2, 0),
      undefined,
      ['down', undefined],
      undefined,
    ],
    [
      'old claim, some cell skipped, mapped to one that answered: dropped',
      claim(2, 0),
      undefined,
      ['down', 'up'],
      'drop',
    ],
    [
      'old claim, some cell skipped, not mapped at all: dropped',
      claim(2, 0),
      undefined,
      ['down', null],
      'drop',
    ],
  ] as const)('%s', (_name, c, i, cells, expected) => {
    const [skipped, mapping] = cells.length ? cells : [undefined, undefined];
    const plan = planReconcile({
      claims: new Map(c ? [['x', c as Versioned<(typeof c)['value']>]] : []),
      instances: new Map(i ? [['x', i]] : []),
      skipped: new Set(skipped ? [skipped] : []),
      mapped: new Map(mapping !== undefined ? [['x', mapping]] : []),
      now: NOW,
      graceMs: GRACE,
    });
    expect(plan.map((a) => a.kind)).toEqual(expected ? [expected] : []);
  });

  it('what it adjusts to: the truth when idle, the larger of claim and truth when busy', () => {
    const plan = (c: number, i: CountedInstance) =>
      planReconcile({
        claims: new Map([['x', claim(c, 0)]]),
        instances: new Map([['x', { ...i, ram: 4096 }]]),
        skipped: new Set(),
        mapped: new Map(),
        now: NOW,
        graceMs: GRACE,
      })[0];
    expect(plan(4, inst(2))).toMatchObject({ next: { cores: 2, ram: 4096 } });
    expect(plan(4, inst(2, true))).toMatchObject({ next: { cores: 4, ram: 4096 } });
  });
});

describe('countedOf', () => {
  const flavor = (vcpus: number, ram: number) => ({
    id: `${vcpus}`,
    name: `${vcpus}`,
    vcpus,
    ram,
    disk: 0,
    ephemeral: 0,
    swap: 0,
    extraSpecs: {},
  });
  const rec = (over: Partial<InstanceRecord>) => ({
    ...newInstanceRecord(
      {
        uuid: 'x',
        name: 'x',
        projectId: 'p',
        userId: 'u',
        flavor: flavor(2, 1024),
        imageRef: 'i',
        requestId: 'r',
      },
      '2030-01-01T00:00:00.000Z',
    ),
    taskState: null,
    ...over,
  });

  it('an idle instance counts its flavor; one mid-move the larger of both flavors, and is busy', () => {
    expect(countedOf(rec({}))).toEqual({ projectId: 'p', cores: 2, ram: 1024, busy: false });
    const moving = rec({
      flavor: flavor(4, 512),
      migration: { oldFlavor: flavor(2, 1024), newFlavor: flavor(4, 512) } as InstanceRecord['migration'],
    });
    expect(countedOf(moving)).toEqual({ projectId: 'p', cores: 4, ram: 1024, busy: true });
    expect(countedOf(rec({ taskState: 'deleting' })).busy).toBe(true);
  });
});

/** A Store whose every call fails as a stopped Redis's would. */
const downStore = (): Store =>
  new Proxy({} as Store, {
    get: () => async () => {
      throw new CellplaneError('unavailable', 'redis unavailable during get: connect ECONNREFUSED');
    },
  });

describe('QuotaReconciler', () => {
  const cellA = { uuid: 'a0000000-0000-4000-8000-000000000001', name: 'up' } as CellRecord;
  const cellB = { uuid: 'b0000000-0000-4000-8000-000000000002', name: 'down' } as CellRecord;

  async function world() {
    const clock = new VirtualClock(1_000_000);
    const ledger = new QuotaLedger(new MemoryStore(), () => clock.now());
    const live = new InstanceStore(new MemoryStore());
    const mapped = new Map<string, CellRecord>();
    const reports: ReconcileReport[] = [];
    const reconciler = new QuotaReconciler({
      ledger,
      clock,
      graceMs: GRACE,
      intervalMs: 5_000,
      source: {
        cells: () => [cellA, cellB],
        instances: async (c) => (c === cellA ? live : new InstanceStore(downStore())),
        cellOf: async (uuid) => mapped.get(uuid),
      },
      onPass: (r) => reports.push(r),
    });
    const reserve = async (uuid: string, cell: CellRecord) => {
      mapped.set(uuid, cell);
      await ledger.reserve({
        projectId: 'p',
        limits: { instances: -1 },
        cores: 1,
        ram: 512,
        min: 1,
        uuids: [uuid],
      });
    };
    return { clock, ledger, live, reconciler, reports, reserve };
  }

  it('skips a cell that does not answer, names it, and keeps the claims that may be its instances', async () => {
    const w = await world();
    await w.reserve('in-down-cell', cellB);
    await w.reserve('crashed-in-up-cell', cellA); // reserved, never recorded
    await w.clock.advance(GRACE + 1);
    const r = await w.reconciler.pass();
    expect(r.skipped).toEqual([{ cell: 'down', error: expect.stringMatching(/ECONNREFUSED/) }]);
    expect(r.changes).toMatchObject({ drop: 1 });
    expect(await w.ledger.usage('p')).toEqual({ instances: 1, cores: 1, ram: 512 });
    expect(await w.ledger.claims.get('in-down-cell')).toBeDefined();
  });

  it('runs one pass at start and one every interval, reporting each, until stopped', async () => {
    const w = await world();
    w.reconciler.start();
    await w.clock.advance(0);
    await w.clock.advance(5_000);
    await w.clock.advance(5_000);
    await w.reconciler.stop();
    await w.clock.advance(20_000);
    expect(w.reports).toHaveLength(3);
    expect(w.reports.every((r) => r.skipped.length === 1)).toBe(true);
  });
});
