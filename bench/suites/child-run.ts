/**
 * Runs a suite's child process (`node --import tsx FILE ARGS…`) from a synchronous `prepare`
 * (the harness is synchronous, as for the cells and placement suites): its one-line JSON result,
 * or why it failed, with the command either way so that RESULTS.md can say how to rerun it.
 */
import { execFileSync } from 'node:child_process';
import { lastJsonLine } from './cells-latency.ts';

export type ChildOutcome<T> =
  | { readonly ok: true; readonly value: T; readonly cmd: string }
  | { readonly ok: false; readonly reason: string; readonly cmd: string };

const FAILURE_CHARS = 240;

export function runChild<T>(
  file: string,
  args: readonly (string | number)[],
  opts: { timeoutMs: number; nodeArgs?: readonly string[] },
): ChildOutcome<T> {
  const nodeArgs = opts.nodeArgs ?? [];
  const cmd = ['node', ...nodeArgs, '--import', 'tsx', file, ...args].join(' ');
  console.log(`    ${cmd}`);
  try {
    const out = execFileSync('node', [...nodeArgs, '--import', 'tsx', file, ...args.map(String)], {
      encoding: 'utf8',
      timeout: opts.timeoutMs, // then SIGTERM
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    return { ok: true, value: lastJsonLine<T>(out, file), cmd };
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    const lines = stderr.split('\n');
    const at = lines.findIndex((l) => /^\s*(\w*Error|CellplaneError)\b/.test(l));
    // A message that ends with ':' continues on the next line (a ScenarioError's problems).
    const line =
      at < 0
        ? (err as Error).message.split('\n')[0]!
        : `${lines[at]!.trim()}${lines[at]!.trim().endsWith(':') ? ` ${lines[at + 1]?.trim() ?? ''}` : ''}`;
    return { ok: false, reason: line.trim().slice(0, FAILURE_CHARS).replaceAll('|', '/'), cmd };
  }
}
