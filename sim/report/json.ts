/**
 * JSON report: the `SimReport` as written to disk, keys in a stable order so two runs of the
 * same seed give byte-identical files.
 */
import { rename, writeFile } from 'node:fs/promises';
import type { SimReport } from './types.ts';

/** JSON with object keys sorted (arrays keep their order), two-space indent, trailing newline. */
export function stableJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => sortKeys(v), 2)}\n`;
}

function sortKeys(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = src[k];
  return out;
}

/** Writes the report atomically (temp file then rename): a reader never sees half a report. */
export async function writeJsonReport(path: string, report: SimReport): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, stableJson(report), 'utf8');
  await rename(tmp, path);
}
