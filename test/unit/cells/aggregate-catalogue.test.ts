/**
 * The schedulers' aggregate catalogue (cells/aggregate-catalogue.ts) and the API's publisher
 * (api/compute/aggregate-publisher.ts): only a newer version replaces the document, a watcher
 * sees every change without polling, a torn document (a host in two zones) is not taken, and a
 * change whose publish failed is published by the next pass.
 */
import { describe, expect, it } from 'vitest';
import { AggregatePublisher } from '../../../api/compute/aggregate-publisher.ts';
import {
  AGGREGATES_KEY,
  type AggregateCatalogueDoc,
  AggregateCatalogueView,
  publishAggregates,
} from '../../../cells/aggregate-catalogue.ts';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { MemoryCoordinationServer } from '../../../core/adapters/memory/coordinator.ts';
import { CellplaneError } from '../../../core/errors.ts';
import type { Coordinator } from '../../../core/ports/coordinator.ts';

const doc = (version: number, ...aggregates: Array<[string, string[], Record<string, string>]>) =>
  ({
    version,
    defaultZone: 'nova',
    aggregates: aggregates.map(([name, hosts, metadata]) => ({ uuid: `u-${name}`, name, hosts, metadata })),
  }) satisfies AggregateCatalogueDoc;

function coordinator(): { clock: VirtualClock; coord: Coordinator } {
  const clock = new VirtualClock(0);
  return { clock, coord: new MemoryCoordinationServer(clock).client() };
}

describe('aggregate catalogue', () => {
  it('a view follows every newer document; an older one never replaces a newer', async () => {
    const { coord } = coordinator();
    const view = await AggregateCatalogueView.open(coord);
    expect([view.version, view.aggregates()]).toEqual([0, []]);
    expect(await publishAggregates(coord, doc(2, ['edge', ['cn1'], { availability_zone: 'edge1' }]))).toBe(
      true,
    );
    expect(view.version).toBe(2);
    expect(view.of('cn1')).toEqual(['u-edge']);
    expect(view.hostsInZone('edge1')).toEqual(new Set(['cn1']));
    expect(view.hostsInZone('nova')).toBeUndefined();
    // A replica that read before the change publishes late: refused, and reported as covered.
    expect(await publishAggregates(coord, doc(1))).toBe(true);
    expect(view.version).toBe(2);
    expect(await publishAggregates(coord, doc(3, ['edge', ['cn2'], { availability_zone: 'edge1' }]))).toBe(
      true,
    );
    expect(view.of('cn1')).toEqual([]);
    expect(view.of('cn2')).toEqual(['u-edge']);
    await view.close();
  });

  it("a document past etcd's request limit is refused with the numbers, not sent", async () => {
    const { coord } = coordinator();
    const hosts = Array.from({ length: 60_000 }, (_, i) => `compute-host-${String(i).padStart(6, '0')}`);
    await expect(
      publishAggregates(coord, doc(1, ['huge', hosts, { availability_zone: 'z' }])),
    ).rejects.toThrow(/the aggregate catalogue \(1 aggregates, \d+ bytes\) exceeds 1048576 bytes/);
    expect(await coord.get(AGGREGATES_KEY)).toBeUndefined();
  });

  it('a view opened later reads the current document', async () => {
    const { coord } = coordinator();
    await publishAggregates(coord, doc(5, ['ssd', ['cn1', 'cn2'], { ssd: 'true' }]));
    const view = await AggregateCatalogueView.open(coord);
    expect(view.version).toBe(5);
    expect(view.of('cn2')).toEqual(['u-ssd']);
    await view.close();
  });

  it('a document putting one host in two zones (a torn read) is not taken; the next one is', async () => {
    const { coord } = coordinator();
    const view = await AggregateCatalogueView.open(coord);
    await publishAggregates(coord, doc(1, ['a', ['cn1'], { availability_zone: 'z1' }]));
    await publishAggregates(
      coord,
      doc(2, ['a', ['cn1'], { availability_zone: 'z1' }], ['b', ['cn1'], { availability_zone: 'z2' }]),
    );
    expect([view.version, view.skipped]).toEqual([1, 1]);
    await publishAggregates(coord, doc(3, ['b', ['cn1'], { availability_zone: 'z2' }]));
    expect(view.version).toBe(3);
    expect(view.hostsInZone('z2')).toEqual(new Set(['cn1']));
    await view.close();
  });

  it('publisher: a failed publish is retried by the next pass; an unchanged store is not republished', async () => {
    const { clock, coord } = coordinator();
    let current = doc(1, ['a', ['cn1'], {}]);
    let reads = 0;
    let failing = true;
    const errors: string[] = [];
    const flaky: Coordinator = Object.create(coord);
    flaky.cas = (...args) =>
      failing ? Promise.reject(new CellplaneError('unavailable', 'etcd: no leader')) : coord.cas(...args);
    const p = new AggregatePublisher({
      read: async () => {
        reads++;
        return current;
      },
      coordinator: flaky,
      clock,
      intervalMs: 1_000,
      onError: (m) => errors.push(m),
    });
    await p.sync();
    expect(errors).toEqual([
      'aggregates not published to the schedulers yet (etcd: no leader); retried every 1000 ms',
    ]);
    expect(await coord.get(AGGREGATES_KEY)).toBeUndefined();
    failing = false;
    p.start();
    await clock.advance(0);
    const view = await AggregateCatalogueView.open(coord);
    expect(view.version).toBe(1);
    const before = reads;
    await clock.advance(1_000);
    expect(reads).toBe(before + 1); // one read of the store, nothing written
    current = doc(2, ['a', ['cn1', 'cn2'], {}]);
    await p.sync();
    expect(view.of('cn2')).toEqual(['u-a']);
    p.stop();
    await view.close();
  });
});
