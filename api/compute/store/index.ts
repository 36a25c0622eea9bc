/**
 * ComputeStore: the compute API's slice of the ApiStore — flavors, aggregates, server groups and
 * quotas over one Store (Redis or memory). Stateless between calls: several API replicas may
 * share one store prefix; every change is an optimistic, generation-checked atomic commit.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../../../core/ports/store.ts';
import { AggregateStore } from './aggregates.ts';
import { FlavorStore } from './flavors.ts';
import { QuotaStore } from './quotas.ts';
import { computeRecords } from './records.ts';
import { ServerGroupStore } from './server-groups.ts';

export class ComputeStore {
  readonly flavors: FlavorStore;
  readonly aggregates: AggregateStore;
  readonly serverGroups: ServerGroupStore;
  readonly quotas: QuotaStore;

  constructor(store: Store, now: () => Date = () => new Date(), newUuid: () => string = randomUUID) {
    const rec = computeRecords(store);
    this.flavors = new FlavorStore(rec, now);
    this.aggregates = new AggregateStore(rec, now, newUuid);
    this.serverGroups = new ServerGroupStore(rec, now, newUuid);
    this.quotas = new QuotaStore(rec);
  }
}
