/**
 * CellHealth (cells/cell-health.ts) on a virtual clock: which cells answer, at most one bounded
 * wait per cell that stops answering, nobody waits for a cell known to be down, and a cell that
 * comes back is found by a background probe.
 */
import { describe, expect, it } from 'vitest';
import { CellHealth } from '../../../cells/cell-health.ts';
import type { CellRecord } from '../../../cells/mapping.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { CellplaneError } from '../../../core/errors.ts';

const cell = (name: string) => ({ uuid: `${name}-uuid`, name }) as CellRecord;
const [A, B] = [cell('a'), cell('b')];
const CONFIG = { probeTimeoutMs: 1_000, upForMs: 2_000, reprobeDownMs: 500 };

/** Cells in `hung` never answer a probe; cells in `refused` fail at once. */
function world() {
  const clock = new VirtualClock(0);
  const hung = new Set<string>();
  const refused = new Set<string>();
  const probes: string[] = [];
  const changes: string[] = [];
  const health = new CellHealth(
    {
      clock,
      probe: async (c, signal) => {
        probes.push(c.name);
        if (refused.has(c.name)) throw new CellplaneError('unavailable', `${c.name}: ECONNREFUSED`);
        if (hung.has(c.name))
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
      onChange: (c, up) => changes.push(`${c.name} ${up ? 'up' : 'down'}`),
    },
    CONFIG,
  );
  /** `answering` with the clock moving until it settles; its names and the virtual ms it took. */
  const ask = async () => {
    const t0 = clock.now();
    let out: Awaited<ReturnType<CellHealth['answering']>> | undefined;
    const p = health.answering([A, B]).then((r) => (out = r));
    await clock.advance(0);
    for (let i = 0; i < 100 && !out; i++) await clock.advance(50);
    await p;
    return {
      up: out!.up.map((c) => c.name),
      down: out!.down.map((d) => d.cell.name),
      tookMs: clock.now() - t0,
    };
  };
  return { clock, hung, refused, probes, changes, health, ask };
}

describe('CellHealth', () => {
  it('probes unknown cells once and trusts a fresh "answers" for upForMs', async () => {
    const w = world();
    expect(await w.ask()).toMatchObject({ up: ['a', 'b'], down: [] });
    expect(await w.ask()).toMatchObject({ up: ['a', 'b'] });
    expect(w.probes).toEqual(['a', 'b']);
    await w.clock.advance(CONFIG.upForMs);
    await w.ask();
    expect(w.probes).toEqual(['a', 'b', 'a', 'b']);
  });

  it('a hung cell costs one probeTimeoutMs, then nobody waits for it', async () => {
    const w = world();
    await w.ask();
    await w.clock.advance(CONFIG.upForMs);
    w.hung.add('b');
    const first = await w.ask();
    expect(first).toMatchObject({ up: ['a'], down: ['b'] });
    expect(first.tookMs).toBeGreaterThanOrEqual(CONFIG.probeTimeoutMs);
    expect(first.tookMs).toBeLessThan(CONFIG.probeTimeoutMs + 100);
    const next = await w.ask();
    expect(next).toMatchObject({ up: ['a'], down: ['b'], tookMs: 0 });
    expect(w.health.knownDown(B)?.message).toMatch(/did not answer within 1000 ms/);
    expect(w.changes).toEqual(['b down']);
  });

  it('a down cell is probed again in the background and comes back on its first answer', async () => {
    const w = world();
    w.refused.add('b');
    expect(await w.ask()).toMatchObject({ down: ['b'] });
    w.refused.delete('b');
    expect(await w.ask()).toMatchObject({ down: ['b'] }); // too soon to probe again
    await w.clock.advance(CONFIG.reprobeDownMs);
    expect(await w.ask()).toMatchObject({ down: ['b'] }); // starts the background probe
    await w.clock.advance(0);
    expect(await w.ask()).toMatchObject({ up: ['a', 'b'], down: [] });
    expect(w.changes).toEqual(['b down', 'b up']);
  });

  it('what real operations show is the verdict: a failed list marks the cell down, a good one up', async () => {
    const w = world();
    w.health.report(A, false, new CellplaneError('timeout', 'cell "a" did not answer within 1000 ms'));
    expect(w.health.knownDown(A)?.code).toBe('timeout');
    w.health.report(A, true);
    expect(w.health.knownDown(A)).toBeUndefined();
    expect(await w.ask()).toMatchObject({ up: ['a', 'b'] });
    expect(w.probes).toEqual(['b']);
  });
});
