/**
 * The conductor leader's periodic reconciliation of a cell's instance records with what its hosts
 * run — Nova's `_sync_power_states`, `_destroy_evacuated_instances` and the reaping of running
 * deleted instances, in one pass every `intervalMs`:
 *
 *   snapshot the records (one scan, reduced to `Seen`) ─► ask each host what it runs (at most
 *   `hostsInFlight` hosts at once) ─► findings (reconcile-plan.ts) ─► per finding, read the record
 *   again and correct (reconcile-fix.ts) only if it still holds.
 *
 * What is never corrected: a record with a task or a move under way, or whose instance has a job in
 * this conductor's hands (`busy`), or that changed since the snapshot; a host that does not answer
 * (skipped: whether it is alive is the service monitor's business, not "it runs nothing"). A VM with
 * no record at all is destroyed only after `orphanPasses` passes in a row saw it, and never while
 * its instance is still mapped to a cell (a lost record, not a deleted instance: reported, left).
 *
 * Every correction is an instance action and a `corrected` event (one log line); every pass ends
 * with a `pass` event carrying its cost (records read, hosts asked and skipped, time taken).
 */
import { CellplaneError, toCellplaneError } from '../core/errors.ts';
import type { Clock, TimerHandle } from '../core/ports/clock.ts';
import type { Versioned } from '../core/stores/records.ts';
import type { InstanceRecord, InstanceStore } from './instances.ts';
import {
  type Correction,
  type CorrectionKind,
  type FixDeps,
  hostsOf,
  markGone,
  recordCorrection,
  steady,
  syncPower,
} from './reconcile-fix.ts';
import { type Finding, type HostVm, planHost, type Seen, seenOf } from './reconcile-plan.ts';

/** How often the leader reconciles (`reconcile_interval_ms`); Nova's power sync runs every 600 s. */
export const DEFAULT_RECONCILE_INTERVAL_MS = 60_000;
/** Hosts asked at once in a pass. */
export const DEFAULT_RECONCILE_HOSTS_IN_FLIGHT = 32;
/** Wait for one host's answer before it counts as not answering (skipped this pass). */
export const RECONCILE_ASK_TIMEOUT_MS = 5_000;
/** Consecutive passes a VM with no record must be seen before it is destroyed. */
export const RECONCILE_ORPHAN_PASSES = 2;

/** The hosts, as the reconciler needs them (adapter-wired in deploy/cell-roles.ts). */
export interface ReconcileHosts {
  /** What `host` runs now. Rejects when it does not answer (timeout, no responders, not served). */
  list(host: string): Promise<readonly HostVm[]>;
  /** Destroys a VM on `host`; true when it was there. Idempotent. */
  destroy(host: string, uuid: string): Promise<boolean>;
}

export interface ReconcilerDeps extends FixDeps {
  readonly cell: string;
  readonly instances: InstanceStore;
  readonly clock: Clock;
  readonly hosts: ReconcileHosts;
  /** Hosts of the cell known to be there (registered), besides those the records name. */
  knownHosts(): readonly string[];
  /** True while the conductor holds a job of this instance (its record may be about to change). */
  busy?(uuid: string): boolean;
  /** Whether the instance is still mapped to a cell (the API knows it). */
  isMapped?(uuid: string): Promise<boolean>;
  readonly intervalMs?: number;
  readonly hostsInFlight?: number;
  readonly orphanPasses?: number;
  /** Must not throw. */
  onEvent?(e: ReconcileEvent): void;
}

export interface PassStats {
  readonly records: number;
  readonly hosts: number;
  readonly asked: number;
  readonly skipped: number;
  readonly vms: number;
  readonly corrections: number;
  /** Findings not acted on this pass (record changed, busy, orphan not yet old enough). */
  readonly deferred: number;
  readonly failed: number;
  readonly ms: number;
}

export type ReconcileEvent =
  | { readonly type: 'corrected'; readonly correction: Correction }
  | {
      readonly type: 'failed';
      readonly kind: CorrectionKind;
      readonly uuid: string;
      readonly host: string;
      readonly error: string;
    }
  /** Something wrong that is left alone on purpose (a VM whose record is gone but is still mapped). */
  | { readonly type: 'found'; readonly uuid: string; readonly host: string; readonly detail: string }
  | ({ readonly type: 'pass' } & PassStats)
  | { readonly type: 'problem'; readonly error: string };

interface Snapshot {
  readonly seen: Map<string, Seen>;
  readonly byHost: Map<string, string[]>;
}

type Tally = { -readonly [K in keyof PassStats]: PassStats[K] };

export class Reconciler {
  readonly intervalMs: number;
  private readonly inFlight: number;
  private readonly orphanPasses: number;
  private timer: TimerHandle | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  /** `<host>/<uuid>` of VMs without a record → consecutive passes that saw them. */
  private orphans = new Map<string, number>();

  constructor(private readonly d: ReconcilerDeps) {
    this.intervalMs = d.intervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS;
    this.inFlight = d.hostsInFlight ?? DEFAULT_RECONCILE_HOSTS_IN_FLIGHT;
    this.orphanPasses = d.orphanPasses ?? RECONCILE_ORPHAN_PASSES;
    for (const [name, v] of [
      ['intervalMs', this.intervalMs],
      ['hostsInFlight', this.inFlight],
      ['orphanPasses', this.orphanPasses],
    ] as const)
      if (!Number.isInteger(v) || v < 1)
        throw new CellplaneError('invalid', `reconcile ${name} must be a positive integer, got ${v}`);
  }

  /** Passes every `intervalMs`, the first one interval from now. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.intervalMs);
  }

  /** No new pass; the one running stops after the hosts in hand. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.d.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  private schedule(ms: number): void {
    this.timer = this.d.clock.setTimeout(() => {
      this.timer = undefined;
      const t0 = this.d.clock.now();
      const run = this.pass().catch((err) =>
        this.emit({ type: 'problem', error: toCellplaneError(err).message }),
      );
      this.running = run;
      void run.finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(Math.max(0, t0 + this.intervalMs - this.d.clock.now()));
      });
    }, ms);
  }

  /** One pass now (the timer calls it; tests may too). */
  async pass(): Promise<PassStats> {
    const t0 = this.d.clock.now();
    const requestId = `req-reconcile-${t0}`;
    const snap = await this.snapshot();
    const hosts = [...new Set([...this.d.knownHosts(), ...snap.byHost.keys()])].sort();
    const n: Tally = {
      records: snap.seen.size,
      hosts: hosts.length,
      asked: 0,
      skipped: 0,
      vms: 0,
      corrections: 0,
      deferred: 0,
      failed: 0,
      ms: 0,
    };
    const orphans = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < hosts.length && !this.stopped) {
        const host = hosts[next++]!;
        let vms: readonly HostVm[];
        try {
          vms = await this.d.hosts.list(host);
        } catch {
          n.skipped++;
          continue;
        }
        n.asked++;
        n.vms += vms.length;
        const findings = planHost(host, snap.byHost.get(host) ?? [], (u) => snap.seen.get(u), vms);
        for (const f of findings) await this.settle(host, f, requestId, n, orphans);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.inFlight, hosts.length) }, worker));
    this.orphans = orphans;
    n.ms = this.d.clock.now() - t0;
    this.emit({ type: 'pass', ...n });
    return n;
  }

  /** Every record, reduced; indexed by each host it may run on. */
  private async snapshot(): Promise<Snapshot> {
    const seen = new Map<string, Seen>();
    const byHost = new Map<string, string[]>();
    for await (const r of this.d.instances.all()) {
      const s = seenOf(r.generation, r.value);
      seen.set(r.id, s);
      for (const h of s.hosts) {
        const list = byHost.get(h);
        if (list) list.push(r.id);
        else byHost.set(h, [r.id]);
      }
    }
    return { seen, byHost };
  }

  /** Acts on one finding if a fresh read confirms it; counts what happened. Never throws. */
  private async settle(
    host: string,
    f: Finding,
    requestId: string,
    n: Tally,
    orphans: Map<string, number>,
  ): Promise<void> {
    const kind: CorrectionKind =
      f.kind === 'missing' ? 'vmMissing' : f.kind === 'power' ? 'powerState' : 'strayDestroyed';
    try {
      const fresh = await this.d.instances.get(f.uuid);
      let c: Correction | undefined;
      if (f.kind === 'stray') c = await this.stray(host, f.uuid, fresh, requestId, orphans);
      else if (fresh && fresh.generation === f.generation && steady(fresh.value) && !this.d.busy?.(f.uuid))
        c =
          f.kind === 'missing'
            ? await markGone(this.d, fresh, `instance ${f.uuid} is not running on host ${host}`, requestId)
            : await syncPower(this.d, fresh, host, f.vm, requestId);
      if (c) {
        n.corrections++;
        this.emit({ type: 'corrected', correction: c });
      } else n.deferred++;
    } catch (err) {
      n.failed++;
      this.emit({ type: 'failed', kind, uuid: f.uuid, host, error: toCellplaneError(err).message });
    }
  }

  /** A VM on `host` the snapshot does not place there: destroy it if the fresh record agrees. */
  private async stray(
    host: string,
    uuid: string,
    fresh: Versioned<InstanceRecord> | undefined,
    requestId: string,
    orphans: Map<string, number>,
  ): Promise<Correction | undefined> {
    let why: string;
    let owner: { projectId: string } | undefined;
    if (fresh) {
      const r = fresh.value;
      if (hostsOf(r).includes(host)) return undefined; // placed here meanwhile
      if (r.taskState !== null || r.migration || this.d.busy?.(uuid)) return undefined;
      why = `the record places it on ${r.placement?.host ?? 'no host'}`;
      owner = r;
    } else {
      if (await this.d.isMapped?.(uuid)) {
        const detail = `VM ${uuid} runs on ${host} and is mapped to a cell, but this cell has no record of it (store lost?); left running`;
        this.emit({ type: 'found', uuid, host, detail });
        return undefined;
      }
      const deleted = (await this.d.instances.actionsOf(uuid)).find((a) => a.action === 'delete');
      if (deleted) {
        why = 'the instance was deleted';
        owner = deleted;
      } else {
        const key = `${host}/${uuid}`;
        const times = (this.orphans.get(key) ?? 0) + 1;
        orphans.set(key, times);
        if (times < this.orphanPasses) return undefined;
        why = `no record of it, seen in ${times} passes`;
      }
    }
    if (!(await this.d.hosts.destroy(host, uuid))) return undefined;
    const c: Correction = {
      kind: 'strayDestroyed',
      uuid,
      host,
      detail: `VM ${uuid} on ${host} destroyed: ${why}`,
    };
    // An instance never known here has no actions to add to (a record of them would be the only trace).
    if (owner) await recordCorrection(this.d, owner, c, requestId, 'Success');
    return c;
  }

  private emit(e: ReconcileEvent): void {
    try {
      this.d.onEvent?.(e);
    } catch {
      // Contract: listeners must not throw.
    }
  }
}
