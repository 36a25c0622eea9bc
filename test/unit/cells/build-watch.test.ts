/**
 * The build watch: no accepted build stays in BUILD for ever. The pass alone, as a table over a
 * small index, then on the real conductor (memory adapters, virtual clock): a build whose job
 * went missing is queued again and ends ACTIVE; a build that cannot progress ends ERROR at the
 * build timeout with a fault that says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { watchBuilds } from '../../../cells/conductor/build-watch.ts';
import { type InstanceRecord, newInstanceRecord } from '../../../cells/instances.ts';
import type { Versioned } from '../../../core/stores/records.ts';
import { ACK_WAIT_MS, type ConductorWorld, conductorWorld, M1, uuidOf } from './conductor-world.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const STALL = 120_000;
const TIMEOUT = 1_800_000;
const iso = (ms: number) => new Date(T0 + ms).toISOString();

function building(n: number, createdMs: number, updatedMs = createdMs): Versioned<InstanceRecord> {
  const r = newInstanceRecord(
    {
      uuid: uuidOf(n),
      name: `vm-${n}`,
      projectId: 'p',
      userId: 'u',
      flavor: M1,
      imageRef: 'i',
      requestId: `r${n}`,
    },
    iso(createdMs),
  );
  return { id: r.uuid, generation: 1, value: { ...r, updatedAt: iso(updatedMs) } };
}

/** One pass at `nowMs` over `recs`; what it kicked, expired and read. */
async function pass(
  nowMs: number,
  recs: Versioned<InstanceRecord>[],
  o: { inHand?: number[]; lastSeenMs?: Record<number, number> } = {},
) {
  const byUuid = new Map(recs.map((r) => [r.id, r]));
  const members = recs.map((r) => `${r.value.createdAt}|${r.id}`).sort();
  const reads: string[] = [];
  const kicked: string[] = [];
  const expired: string[] = [];
  const out = await watchBuilds({
    instances: {
      building: async ({ after, limit }) => {
        const from = after ? members.indexOf(after) + 1 : 0;
        const page = members.slice(from, from + limit);
        return { members: page, next: from + limit < members.length ? page.at(-1) : undefined };
      },
      get: async (uuid) => {
        reads.push(uuid);
        return byUuid.get(uuid);
      },
    },
    clock: { now: () => T0 + nowMs },
    stallMs: STALL,
    timeoutMs: TIMEOUT,
    inHand: (uuid) => (o.inHand ?? []).some((n) => uuidOf(n) === uuid),
    lastSeen: (uuid) => {
      const n = Object.keys(o.lastSeenMs ?? {}).find((k) => uuidOf(Number(k)) === uuid);
      return n === undefined ? undefined : T0 + o.lastSeenMs![Number(n)]!;
    },
    kick: async (rec) => void kicked.push(rec.id),
    expire: async (uuid) => void expired.push(uuid),
  });
  return { ...out, reads, kicked, expired };
}

describe('build watch pass', () => {
  it.each([
    // now 200 s: created 0 s, unchanged since → idle 200 s >= 120 s → kick
    { what: 'idle past the stall bound: kicked', rec: building(0, 0), kicked: 1, expired: 0 },
    // updated at 150 s → idle 50 s < 120 s
    { what: 'changed lately: left alone', rec: building(0, 0, 150_000), kicked: 0, expired: 0 },
    // a job of it delivered here at 190 s → idle 10 s
    { what: 'its job seen lately: left alone', rec: building(0, 0), seen: 190_000, kicked: 0, expired: 0 },
    { what: 'held by a job here: not even read', rec: building(0, 0), inHand: true, kicked: 0, expired: 0 },
  ])('$what', async ({ rec, seen, inHand, kicked, expired }) => {
    const out = await pass(200_000, [rec], {
      ...(seen === undefined ? {} : { lastSeenMs: { 0: seen } }),
      ...(inHand ? { inHand: [0] } : {}),
    });
    expect(out.kicked.length).toBe(kicked);
    expect(out.expired.length).toBe(expired);
    if (inHand) expect(out.reads).toEqual([]);
  });

  it('past the build timeout: expired, not kicked, whatever changed lately', async () => {
    // created 0 s, now 1,800 s = the timeout; updated 10 s ago
    const out = await pass(TIMEOUT, [building(0, 0, TIMEOUT - 10_000)]);
    expect(out).toMatchObject({ expired: [uuidOf(0)], kicked: [], checked: 1 });
  });

  it('stops at the first build younger than the stall bound (nothing newer is read)', async () => {
    // now 200 s: created 10 s and 50 s are old enough, 100 s and 150 s are not (200 - 100 < 120)
    const recs = [building(0, 10_000), building(1, 50_000), building(2, 100_000), building(3, 150_000)];
    const out = await pass(200_000, recs);
    expect(out.reads).toEqual([uuidOf(0), uuidOf(1)]);
    expect(out.kicked).toEqual([uuidOf(0), uuidOf(1)]);
  });

  it('pages through more builds than one page holds', async () => {
    const recs = Array.from({ length: 1_203 }, (_, i) => building(i, i));
    const out = await pass(600_000, recs);
    expect(out.kicked.length).toBe(1_000); // BUILD_WATCH_MAX_KICKS; the rest next pass
    expect(out.checked).toBe(1_203);
  });
});

describe('build watch on the conductor (memory)', () => {
  let w: ConductorWorld;
  afterEach(async () => {
    await w?.close();
  });

  it('a build whose job went missing is queued again and ends ACTIVE, and the kick is reported', async () => {
    w = await conductorWorld({ buildStallMs: 30_000, buildTimeoutMs: 600_000 });
    // The API's record, but its job never reached the queue (as a lost job would leave it).
    const rec = newInstanceRecord(
      {
        uuid: uuidOf(0),
        name: 'vm-0',
        projectId: 'p1',
        userId: 'u1',
        flavor: M1,
        imageRef: 'c',
        requestId: 'req-0',
      },
      new Date(w.clock.now()).toISOString(),
    );
    await w.instances.create(rec);
    await w.until('ACTIVE', async () => (await w.get(0))?.status === 'ACTIVE', 120_000);
    const kicks = w.roleEvents.filter((r) => (r.e as { type: string }).type === 'kicked');
    expect(kicks.map((k) => (k.e as { uuid: string }).uuid)).toEqual([uuidOf(0)]);
  });

  it('a build that cannot progress (its cell has no scheduler) ends ERROR at the build timeout, saying so', async () => {
    w = await conductorWorld({ buildStallMs: 3 * ACK_WAIT_MS, buildTimeoutMs: 300_000 });
    await w.shardsFirst.crash(); // every select now fails retryably: the job retries for ever
    await w.boot(0);
    await w.until('ERROR', async () => (await w.get(0))?.status === 'ERROR', 400_000);
    const r = (await w.get(0))!;
    expect(r.fault?.message).toMatch(
      /^Build timed out: still in BUILD \(task scheduling\) 300 s after it was accepted/,
    );
    expect(w.roleEvents.some((e) => (e.e as { type: string }).type === 'retry')).toBe(true);
    // Retried all along, so never kicked: a kick is for a build nothing drives.
    expect(w.roleEvents.some((e) => (e.e as { type: string }).type === 'kicked')).toBe(false);
  });
});
