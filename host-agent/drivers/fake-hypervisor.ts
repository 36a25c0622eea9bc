/**
 * A fake hypervisor for tests and the simulator: deterministic from a seed, latency per
 * operation on the injected Clock (fixed or uniform in a range), a failure rate per operation,
 * and its own accounting of the host's capacity — a second line of defence behind Placement:
 * a spawn that would exceed int((total - reserved) * allocation_ratio) of any inventory is
 * refused as `capacity` (the conductor reschedules).
 *
 * Determinism: every operation draws from the seeded Rng in a fixed order (latency, then
 * failure), so the same seed and the same sequence of calls give the same outcomes and times.
 * Capacity is reserved synchronously when a spawn starts, so overlapping spawns cannot both
 * take the last slot; a failed spawn releases it.
 */
import { CellplaneError } from '../../core/errors.ts';
import type { Clock } from '../../core/ports/clock.ts';
import { makeRng, type Rng } from '../../core/rng.ts';
import {
  type HostDescription,
  type HypervisorDriver,
  type InstanceInfo,
  type InstanceSpec,
  instanceNotHere,
  type PowerState,
  type RebootKind,
  spawnFailure,
} from '../driver.ts';
import { type Latency, latencyProblem, type Usage, type UsageTable, usageTable } from './fake-usage.ts';

export type FakeOperation = 'spawn' | 'destroy' | 'reboot' | 'powerOff' | 'powerOn';
export const FAKE_OPERATIONS: readonly FakeOperation[] = [
  'spawn',
  'destroy',
  'reboot',
  'powerOff',
  'powerOn',
];

export interface FakeHypervisorOptions {
  readonly clock: Clock;
  readonly description: HostDescription;
  /** Seeds the Rng (a number, or a string such as `<runSeed>:<hostname>`). */
  readonly seed: number | string;
  /** Latency per operation; absent = 0 (no timer at all). */
  readonly latency?: Partial<Record<FakeOperation, Latency>>;
  /** Probability in [0, 1] that an operation fails (after its latency); absent = 0. */
  readonly failureRate?: Partial<Record<FakeOperation, number>>;
}

interface FakeInstance {
  readonly spec: InstanceSpec;
  readonly usage: Usage;
  powerState: PowerState;
  changedAtMs: number;
}

export class FakeHypervisor implements HypervisorDriver {
  private readonly rng: Rng;
  private readonly instances = new Map<string, FakeInstance>();
  /** UUIDs whose spawn is in progress (capacity already reserved). */
  private readonly building = new Set<string>();
  private readonly usage: UsageTable;

  private down = false;
  private readonly failureOverrides: Partial<Record<FakeOperation, number>> = {};

  constructor(private readonly opts: FakeHypervisorOptions) {
    this.rng = makeRng(opts.seed);
    for (const op of FAKE_OPERATIONS) {
      const problem = latencyProblem(opts.latency?.[op]);
      if (problem) throw new CellplaneError('invalid', `latency.${op}: ${problem}`);
      const rate = opts.failureRate?.[op] ?? 0;
      if (!(rate >= 0 && rate <= 1))
        throw new CellplaneError('invalid', `failureRate.${op} must be in [0, 1], got ${rate}`);
    }
    this.usage = usageTable(opts.description);
  }

  describe(): HostDescription {
    return this.opts.description;
  }

  async spawn(spec: InstanceSpec): Promise<InstanceInfo> {
    const existing = this.instances.get(spec.uuid);
    if (existing) {
      if (sameSpec(existing.spec, spec)) return info(spec.uuid, existing);
      throw spawnFailure(
        'duplicate',
        `instance ${spec.uuid} already exists on ${this.host} with another spec`,
      );
    }
    if (this.building.has(spec.uuid))
      throw spawnFailure('duplicate', `instance ${spec.uuid} is already being built on ${this.host}`, {
        inProgress: true,
      });
    const usage = this.usage.claim(spec); // throws invalidSpec / capacity
    this.building.add(spec.uuid);
    try {
      await this.operate('spawn', spec.uuid);
    } catch (err) {
      this.usage.release(usage);
      throw err;
    } finally {
      this.building.delete(spec.uuid);
    }
    const inst: FakeInstance = { spec, usage, powerState: 'running', changedAtMs: this.opts.clock.now() };
    this.instances.set(spec.uuid, inst);
    return info(spec.uuid, inst);
  }

  async destroy(uuid: string): Promise<boolean> {
    if (!this.instances.has(uuid)) return false;
    await this.operate('destroy', uuid);
    const inst = this.instances.get(uuid);
    if (!inst) return false;
    this.instances.delete(uuid);
    this.usage.release(inst.usage);
    return true;
  }

  reboot(uuid: string, _kind: RebootKind): Promise<InstanceInfo> {
    return this.power('reboot', uuid, 'running');
  }

  powerOff(uuid: string): Promise<InstanceInfo> {
    return this.power('powerOff', uuid, 'shutdown');
  }

  powerOn(uuid: string): Promise<InstanceInfo> {
    return this.power('powerOn', uuid, 'running');
  }

  listInstances(): InstanceInfo[] {
    return [...this.instances].map(([uuid, inst]) => info(uuid, inst));
  }

  /** Fault hook for the simulator: the instance's guest dies (power state `crashed`). */
  crash(uuid: string): boolean {
    const inst = this.instances.get(uuid);
    if (!inst) return false;
    inst.powerState = 'crashed';
    inst.changedAtMs = this.opts.clock.now();
    return true;
  }

  /** Amount in use per provider UUID and resource class (for tests and invariant checks). */
  used(providerUuid: string, rc: string): number {
    return this.usage.used(providerUuid, rc);
  }

  get instanceCount(): number {
    return this.instances.size;
  }

  private get host(): string {
    return this.opts.description.hostname;
  }

  private async power(op: FakeOperation, uuid: string, to: PowerState): Promise<InstanceInfo> {
    if (!this.instances.has(uuid)) throw this.missing(uuid);
    await this.operate(op, uuid);
    const inst = this.instances.get(uuid);
    if (!inst) throw this.missing(uuid); // destroyed meanwhile
    inst.powerState = to;
    inst.changedAtMs = this.opts.clock.now();
    return info(uuid, inst);
  }

  /**
   * Fault injection: a host that is down fails every operation as a hypervisor fault (a spawn is
   * worth rescheduling elsewhere); `setDown(false)` brings it back with its instances.
   */
  setDown(down: boolean): void {
    this.down = down;
  }

  /** Fault injection: overrides an operation's failure probability; undefined restores the configured one. */
  setFailureRate(op: FakeOperation, rate: number | undefined): void {
    if (rate !== undefined && !(rate >= 0 && rate <= 1))
      throw new CellplaneError('invalid', `failureRate.${op} must be in [0, 1], got ${rate}`);
    if (rate === undefined) delete this.failureOverrides[op];
    else this.failureOverrides[op] = rate;
  }

  /** Draws latency then failure (fixed order: determinism), waits, then fails or returns. */
  private async operate(op: FakeOperation, uuid: string): Promise<void> {
    const ms = this.draw(this.opts.latency?.[op]);
    const rate = this.failureOverrides[op] ?? this.opts.failureRate?.[op] ?? 0;
    const failed = this.rng.next() < rate || this.down;
    if (ms > 0) await this.opts.clock.sleep(ms);
    if (!failed) return;
    const message = this.down
      ? `fake hypervisor ${this.host} is down: ${op} of ${uuid} failed`
      : `fake hypervisor ${this.host}: injected ${op} failure for ${uuid}`;
    if (op === 'spawn') throw spawnFailure('hypervisor', message, { host: this.host });
    throw new CellplaneError('unavailable', message, { details: { host: this.host, operation: op } });
  }

  private draw(l: Latency | undefined): number {
    if (l === undefined) return 0;
    if (typeof l === 'number') return l;
    return l.minMs + Math.floor(this.rng.next() * (l.maxMs - l.minMs + 1));
  }

  private missing(uuid: string): CellplaneError {
    return instanceNotHere(this.host, uuid);
  }
}

function info(uuid: string, inst: FakeInstance): InstanceInfo {
  return { uuid, powerState: inst.powerState, changedAtMs: inst.changedAtMs };
}

function sameSpec(a: InstanceSpec, b: InstanceSpec): boolean {
  return JSON.stringify([a.resources, a.devices]) === JSON.stringify([b.resources, b.devices]);
}
