/** The JSON report: stable bytes, written atomically. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { capacityTable, fragmentation } from '../../../sim/capacity.ts';
import { SimMetrics } from '../../../sim/metrics.ts';
import { stableJson, writeJsonReport } from '../../../sim/report/json.ts';
import type { SimReport } from '../../../sim/report/types.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function report(scenario: SimReport['scenario']): SimReport {
  const m = new SimMetrics();
  m.requestSubmitted('r', 0, { flavor: 'f' });
  m.requestActive('r', 12, { cell: 'c', host: 'h' });
  const fleet = { hosts: [{ name: 'h', cell: 'c', az: 'a', free: { VCPU: 3 }, traits: [] }] };
  const flavors = [{ name: 'f', resources: { VCPU: 1 }, requiredTraits: [], forbiddenTraits: [] }];
  return {
    scenario,
    metrics: m.snapshot(),
    capacity: capacityTable(fleet, flavors),
    fragmentation: fragmentation(fleet, flavors),
    invariants: { checks: 1, violations: [] },
  };
}

describe('JSON report', () => {
  it('sorts object keys, so field order in the scenario does not change the bytes', () => {
    const a = stableJson(report({ name: 's', seed: 1, mode: 'virtual', zeta: 1, alpha: { y: 2, x: 1 } }));
    const b = stableJson(report({ alpha: { x: 1, y: 2 }, zeta: 1, mode: 'virtual', seed: 1, name: 's' }));
    expect(a).toBe(b);
    expect(a.indexOf('"alpha"')).toBeLessThan(a.indexOf('"zeta"'));
  });

  it('writes the file atomically and leaves no temp file behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cellplane-report-'));
    dirs.push(dir);
    const r = report({ name: 's', seed: 1, mode: 'virtual' });
    const path = join(dir, 'report.json');
    await writeJsonReport(path, r);
    expect(await readFile(path, 'utf8')).toBe(stableJson(r));
    expect(JSON.parse(await readFile(path, 'utf8')).metrics.requests.active).toBe(1);
    expect(await readdir(dir)).toEqual(['report.json']);
  });
});
