/**
 * Trace CSVs: read relative to the scenario file, every bad cell reported at the CSV's own
 * line:col, header or no header, quoting.
 */

import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../../sim/scenario.ts';
import { MAX_TRACE_PROBLEMS, splitCsvLine } from '../../../sim/scenario-trace.ts';
import { edit } from './scenario-fixture.ts';

const WITH_TRACE = edit(
  '    - kind: poisson\n      rate_per_second: 2\n',
  '    - kind: trace\n      file: traces/t.csv\n      start: 10s\n      time_scale: 0.5\n',
);

function run(csv: string, file = 'scen/test.yaml') {
  const reads: string[] = [];
  const readFile = (p: string) => {
    reads.push(p);
    return csv;
  };
  try {
    return {
      scenario: parseScenario(WITH_TRACE, { file, readFile }),
      reads,
      problems: [] as ScenarioError['problems'],
    };
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return { scenario: null, reads, problems: e.problems, message: e.message };
  }
}

describe('trace files', () => {
  it('resolves the path against the scenario folder and applies start and time_scale', () => {
    const r = run('0,small,100\n4,"VCPU=2,MEMORY_MB=4096",,p1,g1\n2,avx,10,,g2:affinity\n');
    expect(r.reads).toEqual(['scen/traces/t.csv']);
    const t = r.scenario!.workload.arrivals[0]!;
    if (t.kind !== 'trace') throw new Error('not a trace');
    // submit = start 10 s + submit_s * 0.5; durations scale alike; rows sorted by submit time.
    expect(t.records.map((x) => [x.line, x.submitMs, x.durationMs])).toEqual([
      [1, 10_000, 50_000],
      [3, 11_000, 5_000],
      [2, 12_000, null],
    ]);
    expect(t.records[2]).toMatchObject({
      flavor: null,
      resources: { VCPU: 2, MEMORY_MB: 4096 },
      project: 'p1',
      group: { id: 'g1', policy: 'anti-affinity' },
    });
    expect(t.records[1]!.group).toEqual({ id: 'g2', policy: 'affinity' });
  });

  it('accepts a header in any column order', () => {
    const r = run('# comment\nflavor,duration_s,submit_s\nsmall,5,1\n');
    const t = r.scenario!.workload.arrivals[0]!;
    expect(t.kind === 'trace' && t.records[0]).toMatchObject({
      line: 3,
      flavor: 'small',
      durationMs: 2_500,
      submitMs: 10_500,
    });
  });

  const bad: Array<[string, string, number, number, string, RegExp]> = [
    // [case, csv, line, col, column name, message]
    [
      'an unknown flavor',
      '0,small,1\n5,smal,1\n',
      2,
      3,
      'flavor',
      /unknown flavor "smal" \(did you mean "small"\?\)/,
    ],
    [
      'a bad submit time',
      'submit_s,flavor,duration_s\nsoon,small,1\n',
      2,
      1,
      'submit_s',
      /must be a number of seconds >= 0, got "soon"/,
    ],
    ['a bad duration', '0,small,1\n1,small,-3\n', 2, 9, 'duration_s', /got "-3"/],
    ['a bad resource class', '0,"VCPU=2,MEM=3",1\n', 1, 3, 'flavor', /"MEM" is not a resource class name/],
    [
      'resources no host can hold',
      '0,VCPU=64;MEMORY_MB=1024,1\n',
      1,
      3,
      'flavor',
      /no host could ever fit .*needs 64 VCPU but the largest host offers 16 VCPU/,
    ],
    [
      'a bad group policy',
      '0,small,1,,g:afinity\n',
      1,
      12,
      'group',
      /unknown policy "afinity" \(did you mean "affinity"\?\)/,
    ],
    [
      'an unknown header column',
      'submit_s,flavour,duration_s\n',
      1,
      10,
      'header',
      /unknown column "flavour" \(did you mean "flavor"\?\)/,
    ],
    ['too many fields', '0,small,1,p,g,extra\n', 1, 15, 'row', /6 fields but the trace has 5 columns/],
    ['an unterminated quote', '0,"VCPU=1,small,1\n', 1, 1, 'row', /unterminated quoted field/],
  ];

  it.each(bad)('reports %s at the CSV line:col', (_name, csv, line, column, col, message) => {
    const r = run(csv);
    const p = r.problems.find(
      (x) => x.path === `workload.arrivals[0].trace.${col}` && message.test(x.message),
    );
    expect(p, JSON.stringify(r.problems)).toBeDefined();
    expect(p).toMatchObject({ file: 'scen/traces/t.csv', line, column });
    expect(p!.message).toMatch(message);
    expect(r.message).toContain(`scen/traces/t.csv:${line}:${column}: workload.arrivals[0].trace.${col}: `);
  });

  it('reports an unreadable file at the file key', () => {
    const readFile = () => {
      throw new Error('ENOENT: no such file');
    };
    expect(() => parseScenario(WITH_TRACE, { file: 'x.yaml', readFile })).toThrow(
      /x\.yaml:\d+:13: workload\.arrivals\[0\]\.file: cannot read trace traces\/t\.csv: ENOENT/,
    );
  });

  it(`lists at most ${MAX_TRACE_PROBLEMS} problems per file, then counts the rest`, () => {
    const csv = Array.from({ length: MAX_TRACE_PROBLEMS + 7 }, () => '0,nope,1').join('\n');
    const r = run(csv);
    expect(r.problems).toHaveLength(MAX_TRACE_PROBLEMS + 1);
    expect(r.problems.at(-1)!.message).toBe('... and 7 more problems in this file');
  });

  it('splits CSV lines with quotes and escaped quotes', () => {
    expect(splitCsvLine('a,"b,c","d""e",')).toEqual([
      { text: 'a', column: 1 },
      { text: 'b,c', column: 3 },
      { text: 'd"e', column: 9 },
      { text: '', column: 16 },
    ]);
  });
});
