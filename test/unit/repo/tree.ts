/**
 * The repository's own source files, as the checks of this folder see them: everything under the
 * repository root except node_modules/, folders whose name starts with a dot (.git, .cellplane…)
 * and the folders .gitignore names (build outputs, reports).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** TypeScript, the language the import rules are about. */
export const TS_EXTENSIONS: readonly string[] = ['.ts', '.mts', '.cts'];
/** Every language of the repository's code (the size rule covers them all). */
export const CODE_EXTENSIONS: readonly string[] = [...TS_EXTENSIONS, '.js', '.mjs', '.cjs', '.py', '.sh'];

/** Folder paths .gitignore names (`dist/`, `bench/out/`), relative to the root, without the slash. */
function ignoredFolders(root: string): Set<string> {
  const lines = readFileSync(join(root, '.gitignore'), 'utf8').split('\n');
  return new Set(lines.filter((l) => l.endsWith('/') && !l.startsWith('#')).map((l) => l.slice(0, -1)));
}

/** Files with one of `extensions`, as paths relative to `root` with `/`, sorted. */
export function sourceFiles(root: string, extensions: readonly string[]): string[] {
  const ignored = ignoredFolders(root);
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name === 'node_modules' || e.name.startsWith('.') || ignored.has(path) || ignored.has(e.name))
          continue;
        walk(path);
      } else if (e.isFile() && extensions.includes(extname(e.name))) out.push(path);
    }
  };
  walk('');
  return out.sort();
}

/** Top-level folders holding TypeScript, sorted. */
export function codeFolders(root: string): string[] {
  const tops = sourceFiles(root, TS_EXTENSIONS)
    .filter((f) => f.includes('/'))
    .map((f) => f.split('/')[0]!);
  return [...new Set(tops)].sort();
}
