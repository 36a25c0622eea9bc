/**
 * Renders a suite's results as markdown and keeps one section per suite in RESULTS.md,
 * between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->` (replaced on rerun,
 * appended the first time; the header above the first section is kept).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Machine } from './machine.ts';
import type { CaseResult } from './runner.ts';
import { formatOps, formatRatio, formatSig } from './stats.ts';
import type { Suite } from './types.ts';

export const RESULTS_HEADER = `# Benchmark results

Reproduce with \`npm run bench\` (all suites) or \`npm run bench -- --filter <suite>\`; each run
replaces its suite's section below. See [README.md](README.md) for options and how to add a suite.

These numbers come from a **shared 2-core VM** where other work runs at the same time: read
them as orders of magnitude and ratios between rows of one run, not as absolute capacity.
The load average at the start of each run is recorded with it.
`;

/**
 * A markdown table padded the way Biome formats markdown (so `biome check` stays clean): the
 * first `textColumns` columns left-aligned, the (numeric) rest right-aligned.
 */
export function markdownTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  textColumns = 1,
): string {
  const widths = head.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (cell: string, i: number) =>
    i < textColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!);
  const line = (cells: readonly string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = widths.map((w, i) => (i < textColumns ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`));
  return [line(head), `| ${rule.join(' | ')} |`, ...rows.map(line)].join('\n');
}

function ratioTable(suite: Suite, results: readonly CaseResult[]): string {
  const ratios = suite.ratios ?? [];
  const variants = [...new Set(results.map((r) => r.variant))];
  const rows = [...new Set(results.map((r) => r.row))].map((row) => {
    const hz = (v: string) => results.find((r) => r.row === row && r.variant === v)?.medianHz ?? Number.NaN;
    return [
      row,
      ...variants.map((v) => formatOps(hz(v))),
      ...ratios.map((q) => formatRatio(hz(q.of) / hz(q.to))),
    ];
  });
  return markdownTable(
    ['workload', ...variants.map((v) => `${v} ops/s`), ...ratios.map((q) => q.label)],
    rows,
  );
}

function detailTable(results: readonly CaseResult[]): string {
  const rows = results.map((r) => [
    r.row,
    r.variant,
    formatOps(r.hz),
    `±${r.rme.toFixed(1)}%`,
    formatSig(r.meanUs),
    formatSig(r.p50Us),
    formatSig(r.p99Us),
    String(r.samples),
  ]);
  return markdownTable(
    ['workload', 'variant', 'ops/s', 'rme', 'mean µs', 'p50 µs', 'p99 µs', 'samples'],
    rows,
    2,
  );
}

export function renderSection(
  suite: Suite,
  results: readonly CaseResult[],
  machine: Machine,
  command: string,
): string {
  const versions = Object.entries(machine.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const facts = [
    `- command: \`${command}\``,
    `- date: ${machine.date}; commit: ${machine.commit}${suite.seed === undefined ? '' : `; seed: ${suite.seed}`}`,
    `- machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.ramGiB} GiB RAM, load ${machine.loadAvg1m} at start; ${machine.os}`,
    `- node ${machine.node}${versions ? `; ${versions}` : ''}`,
  ];
  return [
    `## ${suite.title}`,
    '',
    suite.about,
    '',
    ...facts,
    '',
    'ops/s below are those of the median sample (robust to a disturbed sample on a shared VM);',
    "benchmark.js's mean-based ops/s and its ±rme are in the full table.",
    '',
    ratioTable(suite, results),
    '',
    ...(suite.notes ? [suite.notes(), ''] : []),
    '<details><summary>All cases (p50/p99 are over benchmark.js samples, each the mean of many calls)</summary>',
    '',
    detailTable(results),
    '',
    '</details>',
  ].join('\n');
}

export function upsertSection(doc: string, name: string, section: string): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${section}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

export function writeResults(file: URL, name: string, section: string): void {
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : RESULTS_HEADER;
  writeFileSync(file, upsertSection(doc, name, section));
}
