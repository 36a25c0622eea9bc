/**
 * Done-when criterion: nothing accepted is lost when a worker process dies. A child process
 * takes a job from a JetStream work queue and is SIGKILLed holding it unacked; after ack-wait
 * the job reaches a consumer in this process with the same seq and deliveryCount 2.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import type { Job } from '../../core/ports/bus.ts';
import { services, uniquePrefix } from '../real/services.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOLDER = 'test/e2e/fixtures/workqueue-holder.ts';
const ACK_WAIT_MS = 1_000;
/** Child start-up (tsx compile + connect) and redelivery both fit well inside this. */
const DEADLINE_MS = 20_000;

interface Holder {
  child: ChildProcess;
  exited: Promise<void>;
  /** Resolves with the first `HOLDING`/`ERROR` line; rejects if the child exits first. */
  firstReport: Promise<string>;
}

function startHolder(natsUrl: string, queue: string, prefix: string): Holder {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', HOLDER, natsUrl, queue, prefix, String(ACK_WAIT_MS)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const firstReport = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('HOLDING') || line.startsWith('ERROR')) resolve(line);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`holder exited (${code ?? signal}) before reporting a job; stderr: ${stderr}`)),
    );
  });
  firstReport.catch(() => {});
  return { child, exited, firstReport };
}

function withDeadline<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

describe('work queue survives a crashed worker process', () => {
  let holder: Holder | undefined;
  let bus: NatsBus | undefined;

  afterEach(async () => {
    if (holder && holder.child.exitCode === null && holder.child.signalCode === null) {
      holder.child.kill('SIGKILL');
      await holder.exited;
    }
    holder = undefined;
    if (bus) {
      await bus.removeStreams().catch(() => {});
      await bus.close();
    }
    bus = undefined;
  });

  it('redelivers the job a SIGKILLed worker held to another consumer, same seq, deliveryCount 2', async () => {
    const prefix = uniquePrefix('crash');
    const natsUrl = services().nats;
    bus = await NatsBus.connect({ servers: natsUrl, prefix, streamMaxBytes: 4 * 1024 * 1024 });
    const q = await bus.workQueue('builds', { ackWaitMs: ACK_WAIT_MS });
    const { seq } = await q.enqueue(new TextEncoder().encode('build instance i-1'));

    holder = startHolder(natsUrl, 'builds', prefix);
    const report = await withDeadline(holder.firstReport, 'holder report');
    expect(report).toBe(`HOLDING ${seq} 1`);
    expect(await q.depth()).toBe(1);

    holder.child.kill('SIGKILL');
    await holder.exited;
    expect(holder.child.signalCode).toBe('SIGKILL');

    const received = new Promise<Job>((resolve) => {
      void q.consume(async (job) => resolve(job), { maxInFlight: 1 });
    });
    const job = await withDeadline(received, 'redelivery');
    expect({
      seq: job.seq,
      deliveryCount: job.deliveryCount,
      data: new TextDecoder().decode(job.data),
    }).toEqual({
      seq,
      deliveryCount: 2,
      data: 'build instance i-1',
    });
    await job.ack();
    expect(await q.depth()).toBe(0);
  });
});
