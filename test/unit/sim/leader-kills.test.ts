/**
 * The leader-kills scenario (issue #11): thousands of boots while scheduler and conductor leaders
 * are killed at seeded moments, as SIGKILL would (core/adapters/memory/process.ts). Every
 * accepted request ends ACTIVE or ERROR with a cause; none is left in BUILD (the invariant
 * checker reads every cell store at the end); and a replay with the same seed is the same run.
 * The same scenario runs in real time with `cellplane sim sim/scenarios/leader-kills.yaml --real`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../../sim/run.ts';
import { parseScenario } from '../../../sim/scenario.ts';

/** Shorter than the file's 5 minutes (still ~2,400 boots and a dozen kills) to keep the suite quick. */
const DURATION_MS = 2 * 60_000;

describe('sim: leader kills at seeded moments', () => {
  it('every accepted boot ends ACTIVE or ERROR with a cause, none in BUILD; the replay is the same run', {
    timeout: 180_000,
  }, async () => {
    const file = 'sim/scenarios/leader-kills.yaml';
    const parsed = parseScenario(readFileSync(file, 'utf8'), { file });
    const s = { ...parsed, run: { ...parsed.run, durationMs: DURATION_MS } };
    const lines: string[] = [];
    const a = await runSimulation(s, { log: (l) => lines.push(l) });
    const kills = lines.filter((l) => /leader_loss: .* killed/.test(l));
    console.log(
      `leader-kills: ${a.submitted} boots, ${a.active} ACTIVE, ${a.failed} ERROR, ${kills.length} kills`,
    );
    expect(kills.filter((l) => l.includes('conductor_leader_loss')).length).toBeGreaterThanOrEqual(3);
    expect(kills.filter((l) => l.includes('scheduler_leader_loss')).length).toBeGreaterThanOrEqual(3);
    expect(a.submitted).toBeGreaterThan(2_000);
    expect(a.violations.map((v) => `${v.invariant}: ${v.message}`)).toEqual([]);
    expect(a.active + a.failed).toBe(a.submitted);
    const b = await runSimulation(s);
    expect(b.hash).toBe(a.hash);
  });
});
