/**
 * What the conductor needs from the rest of the cell (the ports its caller wires: deploy/cell-roles.ts
 * hands in the host agents, the scheduler shards and the tree actors) and what it tells (events).
 * Shaped by the conductor's use: a host agent, a fake or a test double behind `InstanceHosts` alike.
 */
import type { ProviderTreeClient } from '../../actors/provider-tree-client.ts';
import type { SelectReply, SelectRequest } from '../../actors/scheduler-shard-messages.ts';
import type { Clock } from '../../core/ports/clock.ts';
import type { ConductorJob } from '../conductor-jobs.ts';
import type { InstanceStore, MigrationKind } from '../instances.ts';
import type { Correction } from '../reconcile-fix.ts';

/** What the conductor needs of the hosts: the host agents' instance operations (adapter-wired). */
export interface InstanceHosts {
  spawn(host: string, spec: SpawnSpec): Promise<void>;
  /** True when the instance existed on the host. Rejects `noResponders`/`timeout` when the host is gone. */
  destroy(host: string, uuid: string): Promise<boolean>;
  reboot(host: string, uuid: string, type: 'SOFT' | 'HARD'): Promise<void>;
  stop(host: string, uuid: string): Promise<void>;
  start(host: string, uuid: string): Promise<void>;
  /**
   * What a failed spawn means: `reschedule` (the host could not, another may: release, try the
   * next pick), `fatal` (no host will: ERROR), `retryLater` (nothing known yet — the bus timed
   * out, or the build is still running on the host: the job runs again and resumes).
   * The host agents' answer is `spawnVerdict` in host-agent/driver.ts.
   */
  spawnVerdict(err: unknown): SpawnVerdict;
  /** True when `err` is the host saying instance `uuid` is not there (its VM is gone). */
  vmGone(err: unknown, uuid: string): boolean;
}

export type SpawnVerdict = 'reschedule' | 'fatal' | 'retryLater';

export interface SpawnSpec {
  readonly uuid: string;
  readonly name: string;
  /** Amounts on the root provider. */
  readonly resources: Readonly<Record<string, number>>;
  readonly devices: readonly { providerUuid: string; resources: Readonly<Record<string, number>> }[];
}

export type ConductorEvent =
  | { readonly type: 'active'; readonly uuid: string; readonly host: string; readonly attempts: number }
  | { readonly type: 'error'; readonly uuid: string; readonly reason: string }
  | { readonly type: 'conflict'; readonly uuid: string; readonly host: string }
  /** Claimed on `host`: the scheduling decision is made, the spawn starts. */
  | { readonly type: 'placed'; readonly uuid: string; readonly host: string }
  | { readonly type: 'reschedule'; readonly uuid: string; readonly host: string; readonly reason: string }
  | { readonly type: 'deleted'; readonly uuid: string }
  | {
      readonly type: 'moved';
      readonly uuid: string;
      readonly kind: MigrationKind;
      readonly from: string;
      readonly to: string;
    }
  | { readonly type: 'done'; readonly op: ConductorJob['op']; readonly uuid: string }
  /** The record was corrected to what the host runs (cells/reconcile-fix.ts). */
  | { readonly type: 'corrected'; readonly uuid: string; readonly correction: Correction };

export interface ConductorDeps {
  readonly cell: string;
  readonly instances: InstanceStore;
  readonly shardCount: number;
  select(req: SelectRequest, shard: number): Promise<SelectReply>;
  readonly trees: ProviderTreeClient;
  readonly hosts: InstanceHosts;
  readonly clock: Clock;
  /** Hosts tried per build or move before it gives up (default DEFAULT_MAX_BUILD_ATTEMPTS). */
  readonly maxBuildAttempts?: number;
  /** After a delete purged the record (unmap the instance). Retried with the job if it throws. */
  onDeleted?(uuid: string): Promise<void>;
  /** Must not throw. */
  onEvent?(e: ConductorEvent): void;
}
