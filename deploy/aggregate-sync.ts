/**
 * The API process's side of the aggregate catalogue (cells/aggregate-catalogue.ts): the publisher
 * that hands every aggregate change in the API's store to the schedulers, and a view of the
 * published document for the cell choice of boots that ask for aggregates (aggregate-cells.ts). Started by `startApi`
 * and `startEmbedded` alike.
 */
import { AggregatePublisher } from '../api/compute/aggregate-publisher.ts';
import { DEFAULT_AVAILABILITY_ZONE } from '../api/compute/app.ts';
import { ComputeStore } from '../api/compute/store/index.ts';
import { AggregateCatalogueView } from '../cells/aggregate-catalogue.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Coordinator } from '../core/ports/coordinator.ts';
import type { Store } from '../core/ports/store.ts';
import { AggregateCells } from './aggregate-cells.ts';

export interface AggregateSync {
  readonly publisher: AggregatePublisher;
  readonly catalogue: AggregateCatalogueView;
  readonly aggregateCells: AggregateCells;
  stop(): Promise<void>;
}

export async function startAggregateSync(o: {
  readonly coordinator: Coordinator;
  readonly clock: Clock;
  /** The compute API's store (its aggregates). */
  readonly apiStore: Store;
  readonly defaultZone?: string;
  readonly onLog?: (line: string) => void;
}): Promise<AggregateSync> {
  const compute = new ComputeStore(o.apiStore);
  const defaultZone = o.defaultZone ?? DEFAULT_AVAILABILITY_ZONE;
  const catalogue = await AggregateCatalogueView.open(o.coordinator);
  const publisher = new AggregatePublisher({
    read: () => compute.aggregates.catalogue(defaultZone),
    coordinator: o.coordinator,
    clock: o.clock,
    ...(o.onLog ? { onError: o.onLog } : {}),
  });
  await publisher.sync(); // aggregates changed while no API ran reach the schedulers now
  publisher.start();
  return {
    publisher,
    catalogue,
    aggregateCells: new AggregateCells({ catalogue, coordinator: o.coordinator, clock: o.clock }),
    async stop() {
      publisher.stop();
      await catalogue.close();
    },
  };
}
