/** What the numbers were measured on: recorded with every result. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  readonly date: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly ramGiB: number;
  readonly loadAvg1m: number;
  readonly node: string;
  readonly os: string;
  /** Short commit, `+dirty` when tracked files differ from it. */
  readonly commit: string;
  readonly versions: Readonly<Record<string, string>>;
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function packageVersion(name: string): string {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

export function machineInfo(packages: readonly string[] = []): Machine {
  const cpus = os.cpus();
  const head = git(['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAvg1m: Math.round(os.loadavg()[0]! * 100) / 100,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    commit: dirty ? `${head}+dirty` : head,
    versions: Object.fromEntries(packages.map((p) => [p, packageVersion(p)])),
  };
}
