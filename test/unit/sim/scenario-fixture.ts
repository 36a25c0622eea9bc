/**
 * A small valid scenario as text, and helpers to break it in one place and find where a
 * problem should be reported (the line:col of a unique snippet of the text).
 */

import { expect } from 'vitest';
import { parseScenario, type Scenario, ScenarioError } from '../../../sim/scenario.ts';
import type { ScenarioProblem } from '../../../sim/scenario-types.ts';

export const BASE = `name: base
run:
  duration: 10m
  seed: 5
fleet:
  cells: [c1, c2]
  profiles:
    gen:
      count: 10
      vcpus: 16
      ram: 64GiB
      disk_gb: 500
      traits: [HW_CPU_X86_AVX2]
    bm:
      count_per_cell: { c2: 2 }
      vcpus: 32
      ram: 128GiB
      disk: 1TiB
      baremetal: { resource_class: gold }
workload:
  flavors:
    small: { vcpus: 1, ram: 2GiB, disk_gb: 10 }
    avx:
      vcpus: 4
      ram_mb: 8192
      extra_specs:
        trait:HW_CPU_X86_AVX2: required
    metal:
      vcpus: 32
      ram: 128GiB
      extra_specs: { resources:CUSTOM_BAREMETAL_GOLD: 1, resources:VCPU: 0, resources:MEMORY_MB: 0 }
  mix: { small: 3, avx: 1 }
  arrivals:
    - kind: poisson
      rate_per_second: 2
faults:
  - kind: host_crash
    at: 2m
    count: 1
`;

/** BASE with `from` replaced by `to` (from must occur exactly once). */
export function edit(from: string, to: string, text = BASE): string {
  const i = text.indexOf(from);
  if (i < 0 || text.indexOf(from, i + 1) >= 0) throw new Error(`fixture: "${from}" must occur exactly once`);
  return text.slice(0, i) + to + text.slice(i + from.length);
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
export function where(text: string, needle: string): { line: number; column: number } {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`fixture: "${needle}" not in the text`);
  const before = text.slice(0, i).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

export function parse(text: string, readFile?: (p: string) => string): Scenario {
  return parseScenario(text, { file: 'test.yaml', ...(readFile ? { readFile } : {}) });
}

/** The problems parsing `text` reports (fails the test when it parses). */
export function problemsOf(text: string, readFile?: (p: string) => string): ScenarioProblem[] {
  try {
    parse(text, readFile);
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return [...(err as ScenarioError).problems];
  }
  throw new Error('expected the scenario to be rejected, but it parsed');
}
