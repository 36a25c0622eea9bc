/**
 * Every kind of problem is reported at the right line:col with its key path. Each case breaks
 * the fixture's valid scenario in one place; `at` is a snippet whose first character is where
 * the problem must point.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../../sim/scenario.ts';
import { BASE, edit, problemsOf, where } from './scenario-fixture.ts';

interface Case {
  name: string;
  text: string;
  at: string;
  path: string;
  message: RegExp;
}

const cases: Case[] = [
  {
    name: 'a bad integer',
    text: edit('vcpus: 16', 'vcpus: two'),
    at: 'two',
    path: 'fleet.profiles.gen.vcpus',
    message: /^must be a positive integer, got "two"$/,
  },
  {
    name: 'an unknown key with a suggestion',
    text: edit('  seed: 5', '  sead: 5'),
    at: 'sead',
    path: 'run.sead',
    message: /^unknown key \(did you mean "seed"\?\)$/,
  },
  {
    name: 'an unknown key without a close match',
    text: edit('  seed: 5', '  colour: 5'),
    at: 'colour',
    path: 'run.colour',
    message: /^unknown key$/,
  },
  {
    name: 'a missing required key points at its parent',
    text: edit('  duration: 10m\n', ''),
    at: 'run:',
    path: 'run',
    message: /missing required key "duration"/,
  },
  {
    name: 'a bad duration',
    text: edit('duration: 10m', 'duration: 10 minutes'),
    at: '10 minutes',
    path: 'run.duration',
    message: /must be a duration like 500ms, 90s/,
  },
  {
    name: 'a size without a unit under a unitless key',
    text: edit('ram: 64GiB', 'ram: 64'),
    at: '64\n',
    path: 'fleet.profiles.gen.ram',
    message: /needs a unit .* use the key ending in _mb/,
  },
  {
    name: 'a misspelled enum value',
    text: edit('kind: poisson', 'kind: poison'),
    at: 'poison',
    path: 'workload.arrivals[0].kind',
    message: /must be one of constant, poisson, burst, trace, got "poison" \(did you mean "poisson"\?\)/,
  },
  {
    name: 'a key of another arrival kind',
    text: edit('      rate_per_second: 2', '      rate_per_second: 2\n      window: 1m'),
    at: 'window',
    path: 'workload.arrivals[0].window',
    message: /not used by kind poisson \(only by burst\)/,
  },
  {
    name: 'an unknown trait with the nearest standard name',
    text: edit('traits: [HW_CPU_X86_AVX2]', 'traits: [HW_CPU_X86_AVX22]'),
    at: 'HW_CPU_X86_AVX22',
    path: 'fleet.profiles.gen.traits[0]',
    message: /neither a standard trait nor CUSTOM_.*did you mean "HW_CPU_X86_AVX2"/,
  },
  {
    name: 'duplicate cell names',
    text: edit('cells: [c1, c2]', 'cells: [c1, c1]'),
    at: 'c1]',
    path: 'fleet.cells[1]',
    message: /cell names must be unique/,
  },
  {
    name: 'a mix naming an undefined flavor',
    text: edit('mix: { small: 3, avx: 1 }', 'mix: { smal: 3, avx: 1 }'),
    at: 'smal:',
    path: 'workload.mix.smal',
    message: /names no flavor of workload.flavors \(did you mean "small"\?\)/,
  },
  {
    name: 'a cell override naming a missing cell',
    text: edit(
      '  cells: [c1, c2]\n',
      '  cells: [c1, c2]\n  cell_overrides:\n    c3: { spawn_failure_rate: 0.1 }\n',
    ),
    at: 'c3:',
    path: 'fleet.cell_overrides.c3',
    message: /names no cell of fleet.cells \(did you mean "c1"\?\)/,
  },
  {
    name: 'a profile pinned to a missing cell',
    text: edit('count_per_cell: { c2: 2 }', 'count_per_cell: { c9: 2 }'),
    at: 'c9',
    path: 'fleet.profiles.bm.count_per_cell.c9',
    message: /names no cell of fleet.cells/,
  },
  {
    name: 'nats_restart in virtual mode',
    text: edit('  - kind: host_crash\n    at: 2m\n    count: 1\n', '  - kind: nats_restart\n    at: 2m\n'),
    at: 'nats_restart',
    path: 'faults[0].kind',
    message: /only valid with run.mode: real/,
  },
  {
    name: 'both ram and ram_mb',
    text: edit('ram_mb: 8192', 'ram_mb: 8192\n      ram: 8GiB'),
    at: 'ram: 8GiB',
    path: 'workload.flavors.avx.ram',
    message: /give only one of ram, ram_mb/,
  },
  {
    name: 'an extra spec cellplane does not act on',
    text: edit('trait:HW_CPU_X86_AVX2: required', 'hw:cpu_policy: dedicated'),
    at: 'hw:cpu_policy',
    path: 'workload.flavors.avx.extra_specs.hw:cpu_policy',
    message: /CPU pinning \(dedicated CPUs\) is not supported by cellplane yet/,
  },
  {
    name: 'a YAML syntax error',
    text: edit('mix: { small: 3, avx: 1 }', 'mix: { small: 3, avx: 1'),
    at: 'arrivals:',
    path: '(yaml)',
    message: /^YAML syntax: /,
  },
  {
    name: 'a duplicate YAML key',
    text: edit('  seed: 5', '  seed: 5\n  seed: 6'),
    at: 'seed: 6',
    path: '(yaml)',
    message: /unique/,
  },
];

describe('scenario problems are placed at line:col with their path', () => {
  it.each(cases)('$name', ({ text, at, path, message }) => {
    const problems = problemsOf(text);
    const hit = problems.find((p) => p.path === path);
    expect(hit, JSON.stringify(problems, null, 1)).toBeDefined();
    expect({ line: hit!.line, column: hit!.column }).toEqual(where(text, at));
    expect(hit!.message).toMatch(message);
  });
});

describe('ScenarioError', () => {
  it('lists every problem as file:line:col: path: message, in file order', () => {
    const text = edit('vcpus: 16', 'vcpus: two', edit('  seed: 5', '  sead: 5'));
    let err: unknown;
    try {
      parseScenario(text, { file: 'boot.yaml' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    const e = err as ScenarioError;
    expect(e.code).toBe('invalid');
    expect(e.problems).toHaveLength(2);
    const lines = e.message.split('\n');
    expect(lines[0]).toBe('boot.yaml: 2 problems:');
    const seed = where(text, 'sead');
    const vcpus = where(text, 'two');
    expect(lines[1]).toBe(
      `boot.yaml:${seed.line}:${seed.column}: run.sead: unknown key (did you mean "seed"?)`,
    );
    expect(lines[2]).toBe(
      `boot.yaml:${vcpus.line}:${vcpus.column}: fleet.profiles.gen.vcpus: must be a positive integer, got "two"`,
    );
  });

  it('reports an empty file and a non-map top level', () => {
    expect(problemsOf('')[0]!.message).toMatch(/empty/);
    expect(problemsOf('- 1\n- 2\n')[0]!.message).toMatch(/must be a map/);
  });

  it('follows anchors and merge keys, and reports through them', () => {
    const text = edit(
      '    gen:\n',
      '    base: &base\n      count: 0\n      vcpus: 16\n      ram: 64GiB\n      disk_gb: 500\n    gen:\n      <<: *base\n      count: 10\n',
      BASE.replace('      count: 10\n      vcpus: 16\n      ram: 64GiB\n      disk_gb: 500\n', ''),
    );
    // `base` has 0 hosts and `gen` overrides count: both parse; gen keeps the traits line.
    const problems = (() => {
      try {
        return parseScenario(text, { file: 't.yaml' }).fleet.totalHosts;
      } catch (e) {
        return (e as ScenarioError).message;
      }
    })();
    expect(problems).toBe(12);
  });
});

describe('robustness', () => {
  const example = readFileSync(join(import.meta.dirname, '../../../sim/scenarios/small-mixed.yaml'), 'utf8');
  const lines = example.split('\n');

  it('safety: a damaged file (lines dropped, values swapped) parses or throws ScenarioError, never anything else', () => {
    const junk = fc.constantFrom('x', '-1', '[]', '{}', '0', '1e9', '"', 'null', '~', '2.5');
    fc.assert(
      fc.property(
        fc.array(fc.nat(lines.length - 1), { maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(lines.length - 1), junk), { maxLength: 3 }),
        (drop, swaps) => {
          const out = lines.map((l, i) => {
            const swap = swaps.find(([at]) => at === i);
            return swap && l.includes(': ') ? `${l.slice(0, l.indexOf(': ') + 2)}${swap[1]}` : l;
          });
          const text = out.filter((_, i) => !drop.includes(i)).join('\n');
          try {
            parseScenario(text, { file: 'fuzz.yaml' });
          } catch (e) {
            expect(e).toBeInstanceOf(ScenarioError);
            for (const p of (e as ScenarioError).problems) expect(p.line).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
