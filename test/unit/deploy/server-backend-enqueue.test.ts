/**
 * CellsServerBackend.enqueue across a bus outage: a job whose enqueue times out or finds NATS
 * unreachable is sent again with the same message id (JetStream drops a duplicate) until it is
 * accepted or ENQUEUE_RETRY_MS has passed; other errors fail at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConductorJob } from '../../../cells/conductor-jobs.ts';
import { CellDirectory } from '../../../cells/directory.ts';
import { CellRegistry } from '../../../cells/lifecycle.ts';
import { MemoryBroker } from '../../../core/adapters/memory/bus.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../core/adapters/memory/coordinator.ts';
import { MemoryStore } from '../../../core/adapters/memory/store.ts';
import { CellplaneError, type ErrorCode } from '../../../core/errors.ts';
import type { Bus, WorkQueue } from '../../../core/ports/bus.ts';
import { CellsServerBackend, ENQUEUE_RETRY_MS } from '../../../deploy/server-backend.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const JOB: ConductorJob = {
  op: 'delete',
  uuid: '11111111-1111-4111-8111-111111111111',
  requestId: 'req-1',
  userId: 'u',
  projectId: 'p',
  acceptedAt: '2030-01-01T00:00:00.000Z',
};

/** A backend whose cell queue fails with `failures` (in order) before it accepts. */
async function setup(failures: ErrorCode[]) {
  const clock = new VirtualClock(Date.parse('2030-01-01T00:00:00Z'));
  const coordination = new MemoryCoordinationServer(clock);
  const coordinator = coordination.client();
  const registry = new CellRegistry(coordinator, { clock, mappingStore: new MemoryStore() });
  const cell = await registry.create({ name: 'cell1', transport: 'cp.cell1', store: 'memory://cell1' });
  const directory = await CellDirectory.open(coordinator);
  const broker = new MemoryBroker({ clock });
  const bus = broker.connect();
  const sent: Array<string | undefined> = [];
  const left = [...failures];
  const flaky: Bus = Object.assign(Object.create(bus) as Bus, {
    async workQueue(name: string): Promise<WorkQueue> {
      return {
        name,
        async enqueue(_data: Uint8Array, opts?: { msgId?: string }) {
          sent.push(opts?.msgId);
          const code = left.shift();
          if (code) throw new CellplaneError(code, `enqueue on "${name}": ${code}`);
          return { seq: sent.length, duplicate: false };
        },
      } as unknown as WorkQueue;
    },
  });
  const backend = new CellsServerBackend({
    directory,
    memberships: registry.memberships,
    portsOf: () => ({ store: new MemoryStore(), bus: flaky }),
    clock,
  });
  cleanups.push(async () => {
    await backend.close();
    await directory.close();
    await bus.close();
    await coordinator.close();
  });
  /** Runs the enqueue with the virtual clock moving; its outcome. */
  const enqueue = async (): Promise<{ ok: true } | { ok: false; code: string }> => {
    let outcome: { ok: true } | { ok: false; code: string } | undefined;
    const p = backend.enqueue(cell, JOB).then(
      () => (outcome = { ok: true }),
      (err: CellplaneError) => (outcome = { ok: false, code: err.code }),
    );
    for (let i = 0; i < 200 && !outcome; i++) await clock.advance(250);
    await p;
    return outcome!;
  };
  return { enqueue, sent, clock };
}

describe('CellsServerBackend.enqueue', () => {
  it('sends a timed-out or unreachable enqueue again with the same message id', async () => {
    const { enqueue, sent } = await setup(['timeout', 'unavailable', 'timeout']);
    expect(await enqueue()).toEqual({ ok: true });
    expect(sent).toHaveLength(4);
    expect(new Set(sent).size).toBe(1);
    expect(sent[0]).toBeTruthy();
  });

  it(`gives up after ${ENQUEUE_RETRY_MS / 1000} s`, async () => {
    const { enqueue, sent } = await setup(Array.from({ length: 100 }, () => 'timeout' as const));
    expect(await enqueue()).toEqual({ ok: false, code: 'timeout' });
    expect(sent.length).toBeGreaterThan(3);
    expect(sent.length).toBeLessThan(100);
  });

  it('fails at once on an error a retry cannot mend', async () => {
    const { enqueue, sent } = await setup(['invalid']);
    expect(await enqueue()).toEqual({ ok: false, code: 'invalid' });
    expect(sent).toHaveLength(1);
  });
});
