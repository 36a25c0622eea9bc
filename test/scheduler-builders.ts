/**
 * Fluent fixtures for the scheduler pipeline (STYLE.md §11):
 *
 * ```ts
 * const snap = makeSnapshot(
 *   [makeHost('h1').vcpus(16).ram(32_768).trait('HW_CPU_X86_AVX2').aggregate('ssd'), makeHost('h2').down()],
 *   [makeAggregate('ssd').az('az1').meta('disk', 'ssd')],
 * );
 * const req = makeRequest('r1').vcpus(2).ram(2048).trait('HW_CPU_X86_AVX2').build();
 * ```
 * Defaults are spelled out so table arithmetic can rely on them: a host has 16 VCPU, 65,536 MB
 * and 1,000 GB, nothing used, allocation ratio 1; a request asks 1 VCPU, 512 MB and 10 GB.
 */

import type { StageRef } from '../core/scheduler/profile.ts';
import {
  buildProfile,
  DEFAULT_PROFILE_SPEC,
  type LimitSpec,
  type Profile,
} from '../core/scheduler/profile.ts';
import {
  type GroupPolicy,
  makeRequestSpec,
  type RequestSpec,
  type ResourceAmount,
} from '../core/scheduler/request.ts';
import type { Snapshot } from '../core/scheduler/snapshot.ts';
import {
  type AggregateRecord,
  fromHosts,
  type HostRecord,
  type ResourceRecord,
  type SnapshotOptions,
} from '../core/scheduler/snapshot-build.ts';

type ResourceOpts = Omit<ResourceRecord, 'total'>;

export class HostBuilder {
  private readonly resources: Record<string, ResourceRecord> = {
    VCPU: { total: 16 },
    MEMORY_MB: { total: 65_536 },
    DISK_GB: { total: 1000 },
  };
  private readonly traits: string[] = [];
  private readonly aggregates: string[] = [];
  private readonly metrics: Record<string, number> = {};
  private readonly groups: Record<string, number> = {};
  private flags: { disabled?: boolean; up?: boolean; failedBuilds?: number; node?: string } = {};

  constructor(readonly name: string) {}

  resource(rc: string, total: number, opts: ResourceOpts = {}): this {
    this.resources[rc] = { total, ...opts };
    return this;
  }
  vcpus(total: number, opts: ResourceOpts = {}): this {
    return this.resource('VCPU', total, opts);
  }
  ram(totalMb: number, opts: ResourceOpts = {}): this {
    return this.resource('MEMORY_MB', totalMb, opts);
  }
  disk(totalGb: number, opts: ResourceOpts = {}): this {
    return this.resource('DISK_GB', totalGb, opts);
  }
  /** Drops a resource class from the host. */
  without(rc: string): this {
    delete this.resources[rc];
    return this;
  }
  trait(...names: string[]): this {
    this.traits.push(...names);
    return this;
  }
  aggregate(...names: string[]): this {
    this.aggregates.push(...names);
    return this;
  }
  node(name: string): this {
    this.flags = { ...this.flags, node: name };
    return this;
  }
  disabled(): this {
    this.flags = { ...this.flags, disabled: true };
    return this;
  }
  down(): this {
    this.flags = { ...this.flags, up: false };
    return this;
  }
  failedBuilds(n: number): this {
    this.flags = { ...this.flags, failedBuilds: n };
    return this;
  }
  metric(name: string, value: number): this {
    this.metrics[name] = value;
    return this;
  }
  /** `count` instances of server group `id` already run here. */
  group(id: string, count = 1): this {
    this.groups[id] = count;
    return this;
  }
  build(): HostRecord {
    return {
      name: this.name,
      ...this.flags,
      resources: { ...this.resources },
      traits: [...this.traits],
      aggregates: [...this.aggregates],
      metrics: { ...this.metrics },
      groups: { ...this.groups },
    };
  }
}

export const makeHost = (name: string) => new HostBuilder(name);

export class AggregateBuilder {
  private readonly metadata: Record<string, string> = {};
  constructor(readonly name: string) {}
  az(zone: string): this {
    return this.meta('availability_zone', zone);
  }
  meta(key: string, value: string): this {
    this.metadata[key] = value;
    return this;
  }
  build(): AggregateRecord {
    return { name: this.name, metadata: { ...this.metadata } };
  }
}

export const makeAggregate = (name: string) => new AggregateBuilder(name);

export function makeSnapshot(
  hosts: readonly (HostBuilder | HostRecord)[],
  aggregates: readonly (AggregateBuilder | AggregateRecord)[] = [],
  opts: SnapshotOptions = {},
): Snapshot {
  const rec = <T>(x: { build(): T } | T): T =>
    typeof (x as { build?: unknown }).build === 'function' ? (x as { build(): T }).build() : (x as T);
  return fromHosts(hosts.map(rec), aggregates.map(rec), opts);
}

/** `n` identical default hosts named h0..h(n-1). */
export function makeHosts(
  n: number,
  each: (b: HostBuilder, i: number) => HostBuilder = (b) => b,
): HostBuilder[] {
  return Array.from({ length: n }, (_, i) => each(makeHost(`h${i}`), i));
}

export class RequestBuilder {
  private readonly amounts = new Map<string, number>([
    ['VCPU', 1],
    ['MEMORY_MB', 512],
    ['DISK_GB', 10],
  ]);
  private fields: Partial<Omit<RequestSpec, 'id' | 'resources'>> = {};
  constructor(readonly id: string) {}

  resource(rc: string, amount: number): this {
    this.amounts.set(rc, amount);
    return this;
  }
  vcpus(n: number): this {
    return this.resource('VCPU', n);
  }
  ram(mb: number): this {
    return this.resource('MEMORY_MB', mb);
  }
  disk(gb: number): this {
    return this.resource('DISK_GB', gb);
  }
  trait(...names: string[]): this {
    return this.set({ requiredTraits: [...(this.fields.requiredTraits ?? []), ...names] });
  }
  forbid(...names: string[]): this {
    return this.set({ forbiddenTraits: [...(this.fields.forbiddenTraits ?? []), ...names] });
  }
  aggregateSpec(key: string, requirement: string): this {
    return this.set({ aggregateSpecs: [...(this.fields.aggregateSpecs ?? []), { key, requirement }] });
  }
  az(zone: string): this {
    return this.set({ availabilityZone: zone });
  }
  group(id: string, policy: GroupPolicy, maxServerPerHost = 1): this {
    return this.set({ group: { id, policy, maxServerPerHost } });
  }
  instances(n: number): this {
    return this.set({ numInstances: n });
  }
  ignore(...hosts: string[]): this {
    return this.set({ ignoreHosts: hosts });
  }
  force(...hosts: string[]): this {
    return this.set({ forceHosts: hosts });
  }
  forceNode(...nodes: string[]): this {
    return this.set({ forceNodes: nodes });
  }
  project(id: string): this {
    return this.set({ projectId: id });
  }
  build(): RequestSpec {
    const resources: ResourceAmount[] = [...this.amounts]
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([rc, amount]) => ({ rc, amount }));
    return makeRequestSpec(this.id, { ...this.fields, resources });
  }
  private set(f: Partial<Omit<RequestSpec, 'id' | 'resources'>>): this {
    this.fields = { ...this.fields, ...f };
    return this;
  }
}

export const makeRequest = (id = 'r1') => new RequestBuilder(id);

/** A profile with just these stages (names or refs); limit 'all' unless given, so tables see every host. */
export function makeProfile(
  filters: readonly (string | StageRef)[],
  weighers: readonly (string | StageRef)[] = [],
  opts: { limit?: LimitSpec; alternates?: number } = {},
): Profile {
  return buildProfile({
    name: 'test',
    filters,
    weighers,
    limit: opts.limit ?? 'all',
    alternates: opts.alternates ?? 2,
  });
}

/** The default profile (Nova's defaults, limit log2). */
export const defaultProfile = (): Profile => buildProfile(DEFAULT_PROFILE_SPEC);
