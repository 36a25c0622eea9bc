/**
 * The real OpenStack Placement (Debian's python3-placement, 8.0, microversions up to 1.39)
 * as a peer for compatibility tests and benchmarks: a private instance on a free loopback
 * port with a sqlite database in a temp dir and `noauth2` (token `admin` is an admin).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../deploy/services.ts';

export interface PlacementPeer {
  readonly url: string;
  readonly dir: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

export async function startRealPlacement(): Promise<PlacementPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'cp-placement-peer-'));
  const conf = join(dir, 'placement.conf');
  writeFileSync(
    conf,
    `[api]\nauth_strategy = noauth2\n[placement_database]\nconnection = sqlite:///${join(dir, 'placement.sqlite')}\n`,
  );
  execFileSync('placement-manage', ['--config-file', conf, 'db', 'sync'], { stdio: 'ignore' });
  const [port] = (await freePorts(1)) as [number];
  const log = openSync(join(dir, 'api.log'), 'a');
  const child: ChildProcess = spawn(
    '/usr/bin/python3',
    ['/usr/bin/placement-api', '--host', '127.0.0.1', '--port', String(port)],
    { env: { ...process.env, OS_PLACEMENT_CONFIG_DIR: dir }, stdio: ['ignore', log, log] },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  await waitForHttp(url, START_TIMEOUT_MS, () => child.exitCode !== null).catch(async (err) => {
    await stop();
    throw err;
  });
  return { url, dir, stop };
}

/** Polls `GET url/` until it answers 200, the process dies, or the deadline passes. */
export async function waitForHttp(url: string, timeoutMs: number, died: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (died()) throw new Error(`server for ${url} exited during start-up`);
    try {
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
