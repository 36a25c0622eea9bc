/**
 * Finds a Chromium for browser tests, installing Debian's `chromium` package when it is missing
 * and we are root (as on developer machines and CI). Playwright's own browser download is never
 * used: only Debian's packages and the npm registry are reachable.
 *
 * Order: $CELLPLANE_CHROMIUM (must exist), then /usr/bin/chromium, /usr/bin/chromium-browser,
 * then `apt-get install -y chromium` (after `apt-get update` if the first try fails).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
/** apt-get can take minutes on a cold cache; never longer than this. */
const APT_TIMEOUT_MS = 10 * 60_000;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function found(): string | undefined {
  return CANDIDATES.find(executable);
}

async function apt(args: string[]): Promise<void> {
  await run('apt-get', args, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: APT_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
}

function tail(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim().split('\n').slice(-5).join('\n');
}

let pending: Promise<string> | undefined;

/** Absolute path of a Chromium binary; installs Debian's package if needed. */
export function chromiumPath(): Promise<string> {
  pending ??= locate();
  return pending;
}

async function locate(): Promise<string> {
  const fromEnv = process.env.CELLPLANE_CHROMIUM;
  if (fromEnv) {
    if (executable(fromEnv)) return fromEnv;
    throw new Error(
      `CELLPLANE_CHROMIUM=${fromEnv} is not an executable file; point it at a Chromium binary or unset it`,
    );
  }
  const existing = found();
  if (existing) return existing;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error(
      'Chromium not found at /usr/bin/chromium. Install it (Debian: `sudo apt-get install -y chromium`) ' +
        'or set CELLPLANE_CHROMIUM to a Chromium binary.',
    );
  }
  try {
    await apt(['install', '-y', 'chromium']);
  } catch {
    // A fresh machine has no package lists yet: fetch them once and try again.
    try {
      await apt(['update']);
      await apt(['install', '-y', 'chromium']);
    } catch (err) {
      throw new Error(
        `Chromium is missing and \`apt-get install -y chromium\` failed:\n${tail(err)}\n` +
          'Install it by hand or set CELLPLANE_CHROMIUM to a Chromium binary.',
      );
    }
  }
  const installed = found();
  if (!installed) throw new Error(`apt-get installed chromium but none of ${CANDIDATES.join(', ')} exists`);
  return installed;
}
