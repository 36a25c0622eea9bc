/**
 * What a role does when its store loses its data: it notices (the store's epoch changed,
 * core/stores/epoch.ts), says so on ONE line — which store, what is gone for good, what it does
 * about it — and repairs without an operator step. The cell roles (deploy/cell-roles.ts) restart
 * their tree actors, re-read their scheduler snapshots and ask the host agents to register
 * again; the API (deploy/cluster.ts) seeds the stock flavors again. Also one line each when the
 * store stops answering and when it answers again: a role never goes quiet about its store.
 *
 * A store that kept its file (Redis restarted with its append-only file) keeps its epoch: that is
 * an outage, not a loss, and nothing is repaired.
 */
import { randomUUID } from 'node:crypto';
import { ComputeStore } from '../api/compute/store/index.ts';
import type { InstanceMappings } from '../cells/instance-mappings.ts';
import {
  type RebuildSource,
  rebuildInstanceMappings,
  rebuildReportLine,
} from '../cells/instance-mappings-rebuild.ts';
import { redactUrl } from '../core/adapters/redis/connection.ts';
import { CellplaneError } from '../core/errors.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Store } from '../core/ports/store.ts';
import { type EpochRecord, StoreWatch, type StoreWatchEvent } from '../core/stores/epoch.ts';
import { seedFlavors } from './flavors.ts';

export interface StoreWatchConfig {
  /** The store as messages name it (storeName: URL without password, key prefix). */
  readonly name: string;
  /** Default: a random uuid. */
  readonly newEpoch?: () => string;
  /** Default DEFAULT_STORE_CHECK_INTERVAL_MS. */
  readonly intervalMs?: number;
}

/** One line about a store, for stderr. `lost`: data is gone; `problem`: needs attention; `info`: news. */
export interface StoreNotice {
  readonly type: 'store';
  readonly level: 'lost' | 'problem' | 'info';
  readonly message: string;
}

/** `redis://host:port/db (keys <prefix>:*)`, without a password. */
export function storeName(url: string, prefix: string): string {
  return `${redactUrl(url)} (keys ${prefix}:*)`;
}

export interface RoleStoreWatchOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly config: StoreWatchConfig;
  /** Whose store, e.g. `cell cell1's store`. */
  readonly subject: string;
  /** What the loss costs for good (a sentence). */
  readonly lostForGood: string;
  /** What this process is about to do about it (read at the time of the loss). */
  readonly plan: () => string;
  /** Does it; resolves with what was done. Retried on every check until it resolves. */
  readonly repair: () => Promise<string>;
  /** Must not throw. */
  readonly report: (n: StoreNotice) => void;
}

/** Starts watching (reads or creates the epoch first: throws when the store does not answer). */
export async function watchRoleStore(o: RoleStoreWatchOptions): Promise<StoreWatch> {
  const { subject, config } = o;
  const every = config.intervalMs;
  let done = '';
  const watch = new StoreWatch({
    store: o.store,
    clock: o.clock,
    newEpoch: config.newEpoch ?? randomUUID,
    ...(every === undefined ? {} : { intervalMs: every }),
    repair: async () => {
      done = await o.repair();
    },
    onEvent: (e) => o.report(noticeOf(o, e, done)),
  });
  const first = await watch.start();
  if (first.created)
    o.report({
      type: 'store',
      level: 'info',
      message: `${subject} ${config.name} had no epoch: a new store, or one emptied while no role watched it; its epoch is now ${first.record.epoch}`,
    });
  return watch;
}

function noticeOf(o: RoleStoreWatchOptions, e: StoreWatchEvent, done: string): StoreNotice {
  const { subject } = o;
  const name = o.config.name;
  switch (e.type) {
    case 'lost':
      return {
        type: 'store',
        level: 'lost',
        message: `${subject} ${name} LOST ITS DATA (epoch ${since(e.previous)} is gone, now ${e.current.epoch}): ${o.lostForGood}. Repairing: ${o.plan()}`,
      };
    case 'repaired':
      return {
        type: 'store',
        level: 'info',
        message: `${subject} ${name}: repaired after the loss: ${done}`,
      };
    case 'repairFailed':
      return {
        type: 'store',
        level: 'problem',
        message: `${subject} ${name}: repair after the loss failed (${e.error.code}: ${e.error.message}); retried at the next check`,
      };
    case 'unreachable':
      return {
        type: 'store',
        level: 'problem',
        message: `${subject} ${name} does not answer (${e.error.message}); waiting for it`,
      };
    case 'reachable':
      return {
        type: 'store',
        level: 'info',
        message: `${subject} ${name} answers again after ${(e.downMs / 1000).toFixed(1)} s`,
      };
  }
}

function since(r: EpochRecord): string {
  return `${r.epoch} of ${new Date(r.createdAtMs).toISOString()}`;
}

/** What the cell roles of one process can do after their store lost its data. */
export interface CellRepairs {
  /** This process hosts the cell's tree actors now. */
  hostsTrees(): boolean;
  /** Restarts the tree actor host (fresh actors load from the store); false when none runs here. */
  restartTrees(): Promise<boolean>;
  /** The shard replicas of this process; `resync` resolves undefined where they do not lead. */
  readonly shards: readonly { readonly number: number; resync(): Promise<number | undefined> }[];
  /** Asks every agent of the cell to register again (processes with a registrar). */
  readonly resyncHosts?: () => void;
}

/**
 * The cell roles' watch. Order of the repair: the tree actors restart BEFORE the agents are asked
 * to register, or an unchanged tree would be answered from the old actor's memory and never
 * written; the shards re-read whatever the store holds and follow the registrations' events.
 */
export function watchCellStore(
  o: { readonly cell: string; readonly store: Store; readonly clock: Clock },
  config: StoreWatchConfig,
  report: (n: StoreNotice) => void,
  r: CellRepairs,
): Promise<StoreWatch> {
  const shards = r.shards.map((s) => s.number).join(',');
  return watchRoleStore({
    store: o.store,
    clock: o.clock,
    config,
    subject: `cell ${o.cell}'s store`,
    lostForGood:
      'the provider trees with their allocations and the instance records it held are gone for good — servers booted before are no longer known to the cell, though their VMs may still run on its hosts',
    plan: () =>
      [
        r.hostsTrees() ? 'restart the tree actors' : '',
        shards ? `re-read the snapshot of scheduler shard(s) ${shards} where they lead` : '',
        r.resyncHosts ? 'ask every host agent of the cell to register its tree again' : '',
      ]
        .filter(Boolean)
        .join(', ') || 'nothing to repair in this process',
    repair: async () => {
      const done: string[] = [];
      if (await r.restartTrees()) done.push('tree actors restarted');
      for (const s of r.shards) {
        const n = await s.resync();
        if (n !== undefined) done.push(`shard ${s.number} re-read ${n} tree(s)`);
      }
      if (r.resyncHosts) {
        r.resyncHosts();
        done.push('host agents asked to register again');
      }
      return done.join(', ') || 'nothing to repair in this process';
    },
    report,
  });
}

/**
 * The API's watch: after a loss, the stock flavors are seeded again (as at start), given
 * `rebuildMappings` the instance mappings the store held are rebuilt from the cells' records
 * (cells/instance-mappings-rebuild.ts; it throws while a cell cannot be read, so the repair is
 * retried at the next check), and given `recount` the quota usage is recounted from the cells (a
 * reconcile pass, api/compute/quota-reconcile.ts; after the mappings, which it reads). Each
 * resolves with what it did.
 */
export function watchApiStore(
  o: {
    readonly store: Store;
    readonly clock: Clock;
    readonly rebuildMappings?: () => Promise<string>;
    readonly recount?: () => Promise<string>;
  },
  config: StoreWatchConfig,
  report: (n: StoreNotice) => void,
): Promise<StoreWatch> {
  return watchRoleStore({
    store: o.store,
    clock: o.clock,
    config,
    subject: "the compute API's store",
    lostForGood: o.rebuildMappings
      ? 'the flavors, aggregates, server groups and quota limits it held are gone for good (the instance mappings are rebuilt from the cells; host mappings live in etcd: unaffected)'
      : 'the flavors, aggregates, server groups and quota limits it held are gone for good, and the instance mappings it held (host mappings live in etcd: unaffected)',
    plan: () =>
      [
        'seed the stock flavors again',
        o.rebuildMappings ? "rebuild the instance mappings from the cells' records" : '',
        o.recount ? 'recount quota usage from the cells' : '',
      ]
        .filter(Boolean)
        .join(', '),
    repair: async () => {
      await seedFlavors(new ComputeStore(o.store));
      const done = ['stock flavors m1.tiny … m1.xlarge seeded again'];
      if (o.rebuildMappings) done.push(await o.rebuildMappings());
      if (o.recount) done.push(await o.recount());
      return done.join('; ');
    },
    report,
  });
}

/**
 * `rebuildMappings` for watchApiStore: the mappings rebuilt from every cell's records; throws
 * (`unavailable`, so the repair is tried again at the next check) while a cell cannot be read.
 */
export function mappingRebuilder(source: RebuildSource, mappings: InstanceMappings): () => Promise<string> {
  return async () => {
    const r = await rebuildInstanceMappings(source, mappings);
    if (r.failed.length > 0) throw new CellplaneError('unavailable', rebuildReportLine(r));
    return rebuildReportLine(r);
  };
}
