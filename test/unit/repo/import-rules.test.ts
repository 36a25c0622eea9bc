/**
 * The import rules (README.md "Development", each folder's README "Dependency rule") as a table,
 * checked against the linter that enforces them: in a scratch tree, a probe file in every
 * top-level folder imports every other folder, an adapter, a server client and the HTTP framework,
 * and Biome run with this repo's biome.jsonc must refuse exactly the imports the table forbids.
 * Also: every top-level folder holding code has a row and a README that states its rule, and an
 * import cycle is an error that names the files it goes through.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeFolders, REPO } from './tree.ts';

const BIOME = join(REPO, 'node_modules', '.bin', 'biome');

/**
 * Which top-level folders each may import (besides itself), as the folders' READMEs state it.
 * Keep in step with biome.jsonc and README.md ("Development").
 */
const MAY_IMPORT: Record<string, readonly string[] | 'everything'> = {
  core: [],
  actors: ['core'],
  cells: ['actors', 'core'],
  'host-agent': ['actors', 'core'],
  api: ['cells', 'actors', 'core'],
  deploy: ['api', 'cells', 'host-agent', 'actors', 'core'],
  sim: ['deploy', 'api', 'cells', 'host-agent', 'actors', 'core'],
  cli: ['sim', 'deploy', 'api', 'cells', 'host-agent', 'actors', 'core'],
  bench: 'everything',
  test: 'everything',
};
const FOLDERS = Object.keys(MAY_IMPORT);
const mayImport = (from: string, to: string) => {
  const rule = MAY_IMPORT[from]!;
  return rule === 'everything' || rule.includes(to);
};
/** Folders that may import core/adapters/ (the others get their adapters handed in as ports). */
const MAY_IMPORT_ADAPTERS = new Set(['core/adapters', 'deploy', 'sim', 'cli', 'bench', 'test']);
/** Folders that may import the NATS, etcd and Redis clients. */
const MAY_IMPORT_CLIENTS = new Set(['core/adapters', 'test']);
const CLIENTS = ['@nats-io/transport-node', '@nats-io/jetstream', '@nats-io/kv', 'etcd3', 'ioredis'];
/** Folders that may import the HTTP framework: api/ and the folders that may import api/. */
const MAY_IMPORT_HTTP = new Set(['api', 'deploy', 'sim', 'cli', 'bench', 'test']);
const HTTP = ['fastify', '@fastify/websocket'];
/** Node's I/O modules, refused in core/ outside core/adapters/ (core/ is pure: its I/O goes through ports). */
const CORE_IO = ['node:net', 'node:child_process', 'node:fs', 'node:timers'];

interface Probe {
  /** Path of the probe file, relative to the scratch root. */
  readonly file: string;
  readonly source: string;
  readonly refused: boolean;
}

/** One probe per (folder, import): `<from>/zz-probe/<n>.ts` importing `spec`. */
function probes(): Probe[] {
  const out: Probe[] = [];
  const add = (from: string, spec: string, refused: boolean) =>
    out.push({
      file: `${from}/zz-probe/${out.length}.ts`,
      source: `import { x } from '${spec}';\nexport const probe = x;\n`,
      refused,
    });
  const up = (from: string) => '../'.repeat(from.split('/').length + 1);
  for (const from of [...FOLDERS, 'core/adapters']) {
    const top = from.split('/')[0]!;
    for (const to of FOLDERS) {
      if (to === top) continue;
      const refused = !mayImport(top, to);
      add(from, `${up(from)}${to}/x.ts`, refused);
      add(from, `#${to}/x.ts`, refused);
    }
    if (top !== 'core') {
      const refused = !MAY_IMPORT_ADAPTERS.has(from);
      add(from, `${up(from)}core/adapters/memory/store.ts`, refused);
      add(from, '#core/adapters/redis/store.ts', refused);
    }
    for (const client of CLIENTS) add(from, client, !MAY_IMPORT_CLIENTS.has(from));
    for (const http of HTTP) add(from, http, !MAY_IMPORT_HTTP.has(top));
    if (top === 'core') for (const io of CORE_IO) add(from, io, from === 'core');
  }
  return out;
}

interface Diagnostic {
  category: string;
  location: { path: string };
}

const scratch = mkdtempSync(join(tmpdir(), 'cellplane-import-rules-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes `files` under a fresh scratch root holding a copy of biome.jsonc, runs Biome there. */
function lint(name: string, files: Record<string, string>, reporter: 'json' | 'default') {
  const root = join(scratch, name);
  mkdirSync(root);
  copyFileSync(join(REPO, 'biome.jsonc'), join(root, 'biome.jsonc'));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), source);
  }
  const run = spawnSync(
    BIOME,
    ['lint', `--reporter=${reporter}`, '--max-diagnostics=none', '--vcs-enabled=false', '--colors=off', '.'],
    { cwd: root, encoding: 'utf8' },
  );
  if (run.error) throw run.error;
  // The JSON report goes to stdout; the default reporter prints its diagnostics on stderr.
  return reporter === 'json' ? run.stdout : run.stderr;
}

describe('the import rules', () => {
  it('cover every top-level folder that holds code, and each states its rule in its README', () => {
    expect(codeFolders(REPO)).toEqual([...FOLDERS].sort());
    for (const folder of FOLDERS) {
      const readme = join(REPO, folder, 'README.md');
      expect(existsSync(readme), `${folder}/README.md`).toBe(true);
      expect(readFileSync(readme, 'utf8'), `${folder}/README.md`).toContain('**Dependency rule:**');
    }
  });

  it('are what Biome enforces: it refuses exactly the imports the table forbids', () => {
    const all = probes();
    const out = lint('rules', Object.fromEntries(all.map((p) => [p.file, p.source])), 'json');
    const report = JSON.parse(out) as { diagnostics: Diagnostic[] };
    const refused = new Set(
      report.diagnostics
        .filter((d) => d.category === 'lint/style/noRestrictedImports')
        .map((d) => d.location.path),
    );
    const label = (p: Probe) => `${p.file.split('/zz-probe/')[0]} -> ${p.source.split("'")[1]}`;
    const got = all.filter((p) => refused.has(p.file)).map(label);
    const want = all.filter((p) => p.refused).map(label);
    expect(got).toEqual(want);
    // The table forbids something in every row but bench/ and test/: the probes are not vacuous.
    expect(want.length).toBeGreaterThan(100);
  });

  it('make an import cycle an error that names the files it goes through, type-only imports included', () => {
    const out = lint(
      'cycle',
      {
        'cells/a.ts': "import { b } from './b.ts';\nexport const a = () => b();\n",
        'cells/b.ts': "import type { C } from './c.ts';\nexport const b = (): C | undefined => undefined;\n",
        'cells/c.ts': "import { a } from './a.ts';\nexport type C = ReturnType<typeof a>;\n",
        'cells/d.ts': "import { a } from './a.ts';\nexport const d = a;\n",
      },
      'default',
    );
    for (const file of ['cells/a.ts', 'cells/b.ts', 'cells/c.ts'])
      expect(out).toMatch(new RegExp(`${file}:\\d+:\\d+ lint/suspicious/noImportCycles`));
    expect(out).not.toMatch(/cells\/d\.ts:\d+:\d+ lint\/suspicious\/noImportCycles/);
    expect(out).toContain('This import resolves to cells/b.ts');
    expect(out).toContain('... which imports cells/c.ts');
  });
});
