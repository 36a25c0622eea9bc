/**
 * The simulator's workload goes through the compute API's own admission (cells/servers/): the same
 * boot function POST /servers calls. A cell disabled between the router's choice and the mapping
 * refuses the instance, and the boot lands in the other cell (booked as rerouted, ACTIVE there);
 * with every cell disabled the boot is refused. The quota claim a boot reserves is released by
 * the conductor's finished delete, as in a deployment.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConductorEvent } from '../../../cells/conductor/ports.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { hasCode } from '../../../core/errors.ts';
import { RunBook, submitBoot } from '../../../sim/book.ts';
import { allServing } from '../../../sim/run.ts';
import { parseScenario } from '../../../sim/scenario.ts';
import { deletePlanned, simServerPorts } from '../../../sim/servers.ts';
import type { BootRequest } from '../../../sim/workload.ts';
import { buildWorld, type World } from '../../../sim/world.ts';

const TWO_CELLS = parseScenario(
  `
version: 1
name: two-cells
run:
  duration: 1m
  seed: 11
fleet:
  cells: [cell1, cell2]
  profiles:
    gen:
      count_per_cell: 2
      vcpus: 8
      ram: 32GiB
      disk: 200GiB
workload:
  flavors:
    a: { vcpus: 2, ram: 4GiB, disk_gb: 10 }
  arrivals:
    - kind: burst
      count: 1
      at: 0s
      mix: { a: 1 }
`,
  { file: 'two-cells.yaml' },
);

const request = (seq: number): BootRequest => ({
  seq,
  flavor: 'a',
  resources: null,
  lifetimeMs: null,
  group: null,
  project: 'p1',
});

let clock: VirtualClock;
let w: World | undefined;

afterEach(async () => {
  if (!w) return;
  let stopped = false;
  const stopping = w.stop().finally(() => {
    stopped = true;
  });
  for (let i = 0; i < 600 && !stopped; i++) await clock.advance(1_000);
  await stopping;
  w = undefined;
});

/** A world of two cells with every host registered, every leader serving, capacity reported. */
async function world() {
  clock = new VirtualClock(Date.parse('2030-01-01T00:00:00Z'));
  const events: Array<{ cell: string; e: ConductorEvent }> = [];
  const lines: string[] = [];
  const start = clock.now();
  const book = new RunBook(
    TWO_CELLS,
    () => clock.now() - start,
    (line) => lines.push(line),
    () => {},
  );
  const built = await buildWorld(TWO_CELLS, {
    clock,
    onConductorEvent: (cell, e) => {
      events.push({ cell, e });
      book.onEvent(cell, e);
    },
  });
  w = built;
  const registered = () =>
    [...built.cells.values()].reduce((n, c) => n + (c.replicas[0]!.registrar?.hosts().length ?? 0), 0);
  for (let i = 0; i < 600 && (registered() < 4 || !allServing(built)); i++) await clock.advance(100);
  await clock.advance(3_000); // the first capacity reports reach the router
  const ports = simServerPorts({
    backend: built.backend,
    quota: built.quota,
    now: () => clock.now(),
    flavor: (name) => book.flavors.get(name),
    isHost: (name) => built.hosts.has(name),
  });
  const until = async (what: string, check: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 600; i++) {
      if (await check()) return;
      await clock.advance(100);
    }
    throw new Error(`not within 60 virtual seconds: ${what}`);
  };
  return { w: built, book, lines, events, ports, until };
}

describe('the simulator submits through the API’s boot use case', () => {
  it('a cell disabled between the choice and the mapping: the boot lands in the other cell', async () => {
    const { w, book, lines, events, ports, until } = await world();
    let disabled: string | undefined;
    // The fault at the port: right after the router chose a cell, an operator disables it.
    const racing = {
      ...ports,
      cells: {
        chooseCell: async (...args: Parameters<typeof ports.cells.chooseCell>) => {
          const cell = await ports.cells.chooseCell(...args);
          if (!disabled) {
            disabled = cell.name;
            await w.registry.disable(cell.name, 'maintenance');
          }
          return cell;
        },
      },
    };
    const uuid = w.uuid();
    await submitBoot({ ports: racing, book, seed: 11 }, request(0), uuid, 0);

    const other = disabled === 'cell1' ? 'cell2' : 'cell1';
    expect(disabled).toBeDefined();
    expect(lines).toEqual([`0 submit ${uuid} a ${disabled}`, `0 reroute ${uuid} ${other}`]);
    expect(book.requests.get(uuid)).toMatchObject({ cell: other, stage: 'queued, recorded' });
    const mapping = await w.registry.memberships.instanceMapping(uuid);
    expect(mapping?.cellUuid).toBe(w.cells.get(other)!.record.uuid);
    await until('ACTIVE', () => book.requests.get(uuid)?.ended === 'active');
    expect(events.find((x) => x.e.type === 'active')).toMatchObject({ cell: other, e: { uuid } });
    expect(
      await w.backend.instances(w.cells.get(disabled!)!.record).then((s) => s.get(uuid)),
    ).toBeUndefined();
  });

  it('every cell disabled: the boot is refused with conflict, nothing mapped, its claim given back', async () => {
    const { w, book, ports } = await world();
    await w.registry.disable('cell1');
    await w.registry.disable('cell2');
    await clock.advance(100); // the backend's directory sees both
    const uuid = w.uuid();
    const err = await submitBoot({ ports, book, seed: 11 }, request(0), uuid, 0).catch((e: unknown) => e);
    expect(hasCode(err, 'conflict')).toBe(true);
    expect((err as Error).message).toMatch(/no cell accepts new instances/i);
    expect(await w.registry.memberships.instanceMapping(uuid)).toBeUndefined();
    expect(await w.quota.usage('p1')).toEqual({ instances: 0, cores: 0, ram: 0 });
  });

  it('a boot reserves its quota claim; the conductor’s finished delete releases it', async () => {
    const { w, book, ports, until } = await world();
    const uuid = w.uuid();
    await submitBoot({ ports, book, seed: 11 }, request(0), uuid, 0);
    // a: 2 VCPU, 4 GiB = 4096 MiB.
    expect(await w.quota.usage('p1')).toEqual({ instances: 1, cores: 2, ram: 4096 });
    await until('ACTIVE', () => book.requests.get(uuid)?.ended === 'active');
    await deletePlanned(ports, uuid, clock);
    await until('deleted', () => book.requests.get(uuid)?.deleted === true);
    await until('released', async () => (await w.quota.usage('p1')).instances === 0);
    expect(await w.registry.memberships.instanceMapping(uuid)).toBeUndefined();
  });
});
