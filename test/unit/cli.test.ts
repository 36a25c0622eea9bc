import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cellplane = join(import.meta.dirname, '..', '..', 'cellplane');

describe('the cellplane command line', () => {
  it('lists its commands in --help', async () => {
    const { stdout } = await run(cellplane, ['--help']);
    expect(stdout).toMatch(/^\s+demo\b/m);
    expect(stdout).toMatch(/^\s+services\b/m);
  });

  it('runs the demo on embedded defaults and reports every count correct', async () => {
    const { stdout } = await run(cellplane, ['demo', '--actors', '200', '--messages', '2000', '--json']);
    const summary = JSON.parse(stdout) as {
      ok: boolean;
      actors: number;
      expectedTotal: number;
      persistedTotal: number;
    };
    expect(summary).toMatchObject({ ok: true, actors: 200 });
    expect(summary.persistedTotal).toBe(summary.expectedTotal);
  });

  it('rejects a bad option with a clear message and exit code 1', async () => {
    const err = await run(cellplane, ['demo', '--actors', 'lots']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain(
      '--actors must be an integer from 1 to 1000000, got "lots"',
    );
  });
});
