/**
 * The terminal summary and the progress reporter. Output goes to in-memory streams; the
 * progress reporter's wall clock is a variable the test moves.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { capacityTable, fragmentation } from '../../../sim/capacity.ts';
import { SimMetrics } from '../../../sim/metrics.ts';
import { ProgressReporter } from '../../../sim/report/progress.ts';
import { renderSummaryTable, shouldColour } from '../../../sim/report/terminal.ts';
import type { SimReport } from '../../../sim/report/types.ts';

function report(): SimReport {
  const m = new SimMetrics();
  for (let i = 0; i < 40; i++) {
    m.requestSubmitted(`r${i}`, i * 250, { flavor: 'small' });
    m.requestScheduled(`r${i}`, i * 250 + 3);
    if (i % 8 === 0)
      m.requestFailed(`r${i}`, i * 250 + 4, i % 16 === 0 ? 'NoValidHost' : 'evil\x1b[2Jreason');
    else m.requestActive(`r${i}`, i * 250 + 1234.5, { cell: 'c1', host: 'h' });
  }
  const fleet = { hosts: [{ name: 'h', cell: 'c1', az: 'a', free: { VCPU: 5 }, traits: [] }] };
  const flavors = [{ name: 'small', resources: { VCPU: 2 }, requiredTraits: [], forbiddenTraits: [] }];
  return {
    scenario: { name: 'steady', seed: 7, mode: 'virtual' },
    metrics: m.snapshot(),
    capacity: capacityTable(fleet, flavors),
    fragmentation: fragmentation(fleet, flavors),
    invariants: { checks: 99, violations: [] },
  };
}

function sink(isTTY: boolean): {
  stream: Writable & { isTTY?: boolean; columns?: number };
  text: () => string;
} {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  stream.isTTY = isTTY;
  stream.columns = 160;
  return { stream, text: () => chunks.join('') };
}

describe('renderSummaryTable', () => {
  it('prints aligned columns without colour when asked for plain text', () => {
    const out = renderSummaryTable(report(), { color: false });
    expect(out).not.toContain('\x1b[');
    const lines = out.split('\n');
    const start = lines.findIndex((l) => l.startsWith('Latency'));
    const latency = lines.slice(start + 1, start + 5); // header, dashes, schedule, end-to-end
    expect(latency[0]).toMatch(/latency\s+count\s+mean\s+p50\s+p95\s+p99\s+max/);
    // Right-aligned numbers: every line of the table ends in the same column.
    expect(new Set(latency.map((l) => l.length)).size).toBe(1);
    expect(latency[3]).toMatch(/^ {2}end-to-end\s+35\s/);
    expect(out).toMatch(/ {2}submitted\s+40\n/);
    expect(out).toMatch(/ {2}NoValidHost\s+3\n/);
  });

  it('shows control characters from user strings as visible escapes', () => {
    const out = renderSummaryTable(report(), { color: false });
    expect(out).toContain('evil\\x1b[2Jreason');
    expect(out).not.toContain('\x1b');
  });

  it('colours when asked, without breaking alignment', () => {
    const plain = renderSummaryTable(report(), { color: false });
    const coloured = renderSummaryTable(report(), { color: true });
    expect(coloured).toContain('\x1b[31m');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI codes
    expect(coloured.replace(/\x1b\[\d+m/g, '')).toBe(plain);
  });

  it.each([
    [{ isTTY: true }, {}, true],
    [{ isTTY: false }, {}, false],
    [{ isTTY: true }, { NO_COLOR: '1' }, false],
    [{ isTTY: false }, { FORCE_COLOR: '1' }, true],
  ])('shouldColour(%o, %o) is %s', (stream, env, want) => {
    expect(shouldColour(stream, env)).toBe(want);
  });
});

describe('ProgressReporter', () => {
  it('writes one line per interval of wall time when stdout is not a TTY', () => {
    const out = sink(false);
    let wall = 0;
    const p = new ProgressReporter({
      durationMs: 60_000,
      stream: out.stream,
      logIntervalMs: 10_000,
      now: () => wall,
    });
    for (let i = 1; i <= 5; i++) {
      wall = i * 5_000; // lines at 5 s, 15 s, 25 s of wall time (the first update always prints)
      p.update({ simTimeMs: i * 10_000, boots: i * 100, failures: i });
    }
    p.stop();
    p.stop(); // idempotent
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toEqual([
      'sim 10 s / 1 m 00 s (16%) | boots 100 | failed 1 | 10 boots/s',
      'sim 30 s / 1 m 00 s (50%) | boots 300 | failed 3 | 10 boots/s',
      'sim 50 s / 1 m 00 s (83%) | boots 500 | failed 5 | 10 boots/s',
      'sim 50 s / 1 m 00 s (83%) | boots 500 | failed 5 | 10 boots/s (done)',
    ]);
  });

  it('measures boots/s over the recent simulated window', () => {
    const out = sink(false);
    const p = new ProgressReporter({
      durationMs: 100_000,
      stream: out.stream,
      rateWindowMs: 5_000,
      now: () => 0,
    });
    p.update({ simTimeMs: 10_000, boots: 1000, failures: 0 }); // 100/s over the first 10 s
    p.update({ simTimeMs: 20_000, boots: 1200, failures: 0 }); // then 20/s
    expect(p.line()).toContain('| 20 boots/s');
  });

  it('draws a live bar on a TTY and releases it on stop', () => {
    const out = sink(true);
    const p = new ProgressReporter({ durationMs: 10_000, stream: out.stream });
    p.update({ simTimeMs: 5_000, boots: 42, failures: 2 });
    p.stop({ simTimeMs: 10_000, boots: 80, failures: 3 });
    const text = out.text();
    expect(text).toContain('boots 80 | failed 3');
    expect(text).toContain('100%');
  });

  it('rejects a planned duration that cannot be a 100% mark', () => {
    expect(() => new ProgressReporter({ durationMs: 0, stream: sink(false).stream })).toThrow(
      /positive finite/,
    );
  });
});
