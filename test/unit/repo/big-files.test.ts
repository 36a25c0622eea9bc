/**
 * STYLE: files mostly ~150 lines, rarely over 400, and one that must be bigger says why in its
 * header. Every code file over MAX_LINES lines — tests included: they are read as specifications
 * too — starts with a header comment holding the marker "Big because" and the reason, e.g.
 *   /** … Big because it is one table of one generator per route: long by nature. *\/
 * A file's header is every comment before its first line of code (a shebang aside).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODE_EXTENSIONS, REPO, sourceFiles } from './tree.ts';

/** The line count above which a file must say why it is big. */
const MAX_LINES = 400;
/** The marker, then at least a word of reason, in the header comment. */
const BIG_BECAUSE = /\bbig because\b\W*\w+/i;

/**
 * ALLOWLIST: files over MAX_LINES without the marker on 2026-12-07, each with the reason and who
 * removes it (an entry whose file is gone, shrank or got its header fails the test: delete it).
 */
const KNOWN_BIG: Record<string, string> = {
  'cells/instances.ts':
    'instance records, their store and the state changes in one file; issue 12 reworks the records (compact records, mappings off etcd): whoever lands that splits it',
  'sim/realtime/run.ts':
    'runRealtime is one ~280-line function; split it into its phases after branch `usecase` changes how the simulator submits (issue 12)',
};

/** Lines as `wc -l` counts them, plus a last line without a newline. */
function lineCount(text: string): number {
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

/** The comments before the first line of code: `//`, `/* … *\/` and, in .py/.sh files, `#`. */
function header(text: string, hashComments: boolean): string {
  const out: string[] = [];
  let inBlock = false;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (inBlock) {
      out.push(line);
      if (line.includes('*/')) inBlock = false;
      continue;
    }
    if (line === '' || (i === 0 && line.startsWith('#!'))) continue;
    if (line.startsWith('//') || (hashComments && line.startsWith('#'))) out.push(line);
    else if (line.startsWith('/*')) {
      out.push(line);
      inBlock = !line.includes('*/', 2);
    } else break;
  }
  return out.join('\n');
}

interface BigFile {
  readonly file: string;
  readonly lines: number;
  readonly saysWhy: boolean;
}

function bigFiles(): BigFile[] {
  const out: BigFile[] = [];
  for (const file of sourceFiles(REPO, CODE_EXTENSIONS)) {
    const text = readFileSync(join(REPO, file), 'utf8');
    const lines = lineCount(text);
    if (lines <= MAX_LINES) continue;
    const hash = file.endsWith('.py') || file.endsWith('.sh');
    out.push({ file, lines, saysWhy: BIG_BECAUSE.test(header(text, hash)) });
  }
  return out;
}

describe(`files over ${MAX_LINES} lines`, () => {
  const big = bigFiles();

  it('say why in their header ("Big because …"), or are on the allowlist', () => {
    const unexplained = big.filter((b) => !b.saysWhy && !(b.file in KNOWN_BIG));
    expect(unexplained.map((b) => `${b.file}: ${b.lines} lines, no "Big because" in its header`)).toEqual([]);
  });

  it('the allowlist holds only files that still need it', () => {
    const stillNeeded = new Set(big.filter((b) => !b.saysWhy).map((b) => b.file));
    const stale = Object.keys(KNOWN_BIG).filter((f) => !stillNeeded.has(f));
    expect(
      stale.map((f) => `${f}: gone, ${MAX_LINES} lines or fewer, or says why: delete its entry`),
    ).toEqual([]);
  });
});

describe('header', () => {
  it.each([
    ['a block comment', '/**\n * A.\n * Big because x.\n */\nimport a;\n', false, true],
    [
      'line comments after a shebang',
      '#!/usr/bin/env node\n// A.\n// Big because x.\ncode();\n',
      false,
      true,
    ],
    ['# comments in a shell script', '#!/bin/sh\n# A.\n# Big because x.\nset -e\n', true, true],
    ['the marker below the first code line', '/** A. */\nimport a;\n// Big because x.\n', false, false],
    ['the marker with no reason', '/** Big because */\nimport a;\n', false, false],
    ['a one-line block', '/* Big because it must. */ \ncode();\n', false, true],
  ])('%s: marker found = %s', (_what, text, hash, found) => {
    expect(BIG_BECAUSE.test(header(text, hash))).toBe(found);
  });
});
