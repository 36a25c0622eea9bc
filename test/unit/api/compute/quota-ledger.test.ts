/**
 * The quota ledger (api/compute/quota-ledger.ts): usage per project kept in the API store, claimed
 * by boots, given back by finished deletes, grown by upsizes — Nova's arithmetic and messages.
 */
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../../../api/compute/quota.ts';
import { MAX_CLAIMS_PER_COMMIT, QuotaLedger } from '../../../../api/compute/quota-ledger.ts';
import { MemoryStore } from '../../../../core/adapters/memory/store.ts';

let n = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
const uuids = (k: number) => Array.from({ length: k }, uuid);
const LIMITS = defaultLimits(); // instances 10, cores 20, ram 51200

function ledger() {
  let now = 1_000;
  const l = new QuotaLedger(new MemoryStore(), () => now);
  return { l, tick: (ms: number) => (now += ms) };
}

const tiny = (min: number, want: number, limits = LIMITS) => ({
  projectId: 'p',
  limits,
  cores: 1,
  ram: 512,
  min,
  uuids: uuids(want),
});

describe('QuotaLedger', () => {
  it('counts what it admitted: instances, cores and RAM per project', async () => {
    const { l } = ledger();
    expect(await l.reserve({ ...tiny(1, 2), cores: 2, ram: 2048 })).toEqual({ ok: true, count: 2 });
    expect(await l.reserve({ ...tiny(1, 1), projectId: 'q' })).toEqual({ ok: true, count: 1 });
    // 2 × (2 cores, 2048 MiB) in p; q apart
    expect(await l.usage('p')).toEqual({ instances: 2, cores: 4, ram: 4096 });
    expect(await l.usage('q')).toEqual({ instances: 1, cores: 1, ram: 512 });
    expect(await l.usage('nobody')).toEqual({ instances: 0, cores: 0, ram: 0 });
  });

  it.each([
    // used, request (min..max per instance of 4 cores) → admitted or Nova's message
    ['4 fit in 20 cores: all 4', 0, 1, 4, { ok: true, count: 4 }],
    ['16 used: 1 of 4 more fits, min 1', 16, 1, 4, { ok: true, count: 1 }],
    [
      '16 used: min 2 does not fit',
      16,
      2,
      4,
      { ok: false, message: 'Quota exceeded for cores: Requested 8, but already used 16 of 20 cores' },
    ],
  ])('multi-create: %s', async (_name, used, min, max, expected) => {
    const { l } = ledger();
    if (used) await l.reserve({ ...tiny(used / 4, used / 4), cores: 4 });
    expect(await l.reserve({ ...tiny(min, max), cores: 4 })).toEqual(expected);
  });

  it('a lowered limit refuses any growth while usage is above it (Nova check_deltas)', async () => {
    const { l } = ledger();
    await l.reserve(tiny(3, 3));
    const r = await l.reserve(tiny(1, 1, { ...LIMITS, instances: 2 }));
    expect(r).toEqual({
      ok: false,
      message: 'Quota exceeded for instances: Requested 1, but already used 3 of 2 instances',
    });
  });

  it('concurrent reserves in one process go out as one commit each batch, in order, never over the limit', async () => {
    const { l } = ledger();
    const limits = { ...LIMITS, instances: 5 };
    const results = await Promise.all(Array.from({ length: 8 }, () => l.reserve(tiny(1, 1, limits))));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true, false, false, false]);
    expect((await l.usage('p')).instances).toBe(5);
  });

  it('two ledgers on one store (two API replicas) never both pass a limit only one fits in', async () => {
    const store = new MemoryStore();
    const [a, b] = [new QuotaLedger(store), new QuotaLedger(store)];
    const limits = { ...LIMITS, instances: 3 };
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).reserve(tiny(1, 1, limits))),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect((await a.usage('p')).instances).toBe(3);
  });

  it('release gives back once: a tombstone stays, a second release (a redelivered delete) is a no-op', async () => {
    const { l } = ledger();
    const req = tiny(2, 2);
    await l.reserve(req);
    expect(await l.release(req.uuids[0]!)).toBe(true);
    expect(await l.release(req.uuids[0]!)).toBe(false);
    expect(await l.release(uuid())).toBe(false); // never claimed
    expect(await l.usage('p')).toEqual({ instances: 1, cores: 1, ram: 512 });
    const tomb = await l.claims.get(req.uuids[0]!);
    expect(tomb?.value.releasedAt).not.toBeNull();
  });

  it('resize: only the growth is checked; the claim holds the larger of both flavors', async () => {
    const { l } = ledger();
    const req = { ...tiny(1, 1), cores: 2, ram: 4096 };
    await l.reserve(req);
    await l.reserve({ ...tiny(1, 1), cores: 16 }); // 18 of 20 cores used
    const id = req.uuids[0]!;
    // 2 → 8 cores: growth 6 > 2 free
    expect(await l.resize(id, 'p', LIMITS, { cores: 2, ram: 4096 }, { cores: 8, ram: 1024 })).toEqual({
      refused: 'Quota exceeded for cores: Requested 6, but already used 18 of 20 cores',
    });
    // 2 → 4 cores, RAM down to 1024: growth 2 fits; the claim keeps 4096 MiB until reconcile
    expect(await l.resize(id, 'p', LIMITS, { cores: 2, ram: 4096 }, { cores: 4, ram: 1024 })).toBe('ok');
    expect(await l.usage('p')).toEqual({ instances: 2, cores: 20, ram: 4096 + 512 });
  });

  it('refuses a reservation larger than one commit may hold', () => {
    const { l } = ledger();
    expect(() => l.reserve(tiny(1, MAX_CLAIMS_PER_COMMIT + 1))).toThrow(/at most 500/);
  });
});
