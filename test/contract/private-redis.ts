/**
 * A redis-server of a test's own (free port, its own temp dir, AOF on) that the test may
 * stop and start again, empty, or pause (hung) and resume — the shared one from the global setup
 * must not be touched.
 * `destroy()` stops the process and removes the dir; call it in afterAll.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findBinary, freePorts, isReady } from '../../deploy/services.ts';

/** How long start, stop and `eventually` wait before failing. */
const DEADLINE_MS = 15_000;
const POLL_MS = 50;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PrivateRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'cellplane-redis-'));
  private port: number | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  /** Starts (or restarts, on the same port and data) and resolves the URL once Redis answers. */
  async start(): Promise<string> {
    const bin = findBinary('redis');
    if (!bin) throw new Error('redis-server is not installed');
    this.port ??= (await freePorts(1))[0]!;
    const log = openSync(join(this.dir, 'redis.log'), 'a');
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes'];
    const child = spawn(bin, [...args, '--dir', this.dir], { stdio: ['ignore', log, log] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const ports = { nats: 0, etcd: 0, etcdPeer: 0, redis: this.port };
    const deadline = Date.now() + DEADLINE_MS;
    while (!(await isReady('redis', ports))) {
      if (child.exitCode !== null) throw new Error(`redis-server exited; see ${join(this.dir, 'redis.log')}`);
      if (Date.now() > deadline) throw new Error('redis-server did not answer in time');
      await pause(POLL_MS);
    }
    return `redis://127.0.0.1:${this.port}`;
  }

  /** SIGTERM (a clean shutdown that flushes the AOF); SIGKILL if it does not exit in time. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    child.kill('SIGCONT'); // a paused one handles the SIGTERM only once it runs again
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(true), DEADLINE_MS);
    });
    const timedOut = await Promise.race([this.exited.then(() => false), timeout]);
    clearTimeout(timer);
    if (timedOut) {
      child.kill('SIGKILL');
      await this.exited;
      throw new Error('redis-server ignored SIGTERM');
    }
  }

  /** FLUSHALL: every key of every database gone, the process up (what a lost store looks like). */
  async flushAll(): Promise<void> {
    if (this.port === undefined) throw new Error('redis-server was never started');
    const client = new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: true });
    try {
      await client.connect();
      await client.flushall();
    } finally {
      client.disconnect();
    }
  }

  /** SIGSTOP: Redis stays up but answers nothing (a hung server: clients wait for their timeouts). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT after `pause`. */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    try {
      await this.stop();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Retries `f` until it resolves (e.g. while a client reconnects), up to the deadline. */
  async eventually<T>(f: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      try {
        return await f();
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await pause(POLL_MS);
      }
    }
  }
}
