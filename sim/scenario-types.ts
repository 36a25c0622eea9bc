/**
 * The typed, normalised form of a scenario file (sim/SCENARIOS.md documents the YAML). Every
 * field is filled in (defaults applied) and in one unit: times in ms, memory in MB (MiB, as
 * Nova counts it), disk in GB (GiB), rates per second. A parsed Scenario is deeply frozen.
 */

export type RunMode = 'virtual' | 'real';
export type GroupPolicy = 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';

export interface Scenario {
  /** The file it was parsed from, as given to parseScenario (used in messages). */
  readonly file: string;
  readonly name: string;
  readonly description: string;
  readonly run: RunSpec;
  readonly fleet: FleetSpec;
  readonly workload: WorkloadSpec;
  readonly faults: readonly FaultSpec[];
}

export interface RunSpec {
  readonly durationMs: number;
  readonly seed: number;
  readonly mode: RunMode;
  /** Requests flow but metrics are not recorded before this. */
  readonly warmupMs: number;
  /** 0: after every event. */
  readonly invariantCheckIntervalMs: number;
  readonly reports: ReportSpec;
}

export interface ReportSpec {
  /** Paths as written (the CLI resolves them against its working directory); '-' is stdout; null: off. */
  readonly text: string | null;
  readonly json: string | null;
  readonly html: string | null;
}

export interface FleetSpec {
  /** How cell names were given: generated (`count` + `name_prefix`) or listed. */
  readonly cellNaming: { readonly kind: 'generated'; readonly prefix: string } | { readonly kind: 'listed' };
  /** Cells in file order, each with its resolved hosts. */
  readonly cells: readonly CellSpec[];
  /** Host profiles by name, in file order. */
  readonly profiles: Readonly<Record<string, HostProfile>>;
  /** Per-cell overrides as written (already folded into cells[].hostGroups). */
  readonly cellOverrides: Readonly<Record<string, CellOverride>>;
  readonly totalHosts: number;
}

export interface CellOverride {
  /** Replaces the zones of every host in the cell. */
  readonly availabilityZone: string | null;
  readonly spawnFailureRate: number | null;
  readonly profiles: Readonly<
    Record<string, { readonly count: number | null; readonly allocationRatios: Partial<AllocationRatios> }>
  >;
}

export interface CellSpec {
  readonly name: string;
  /** One group per profile present in this cell (count > 0), in profile order. */
  readonly hostGroups: readonly HostGroup[];
  readonly totalHosts: number;
  /** Cell-wide spawn failure probability override, or null. */
  readonly spawnFailureRate: number | null;
}

/** `count` hosts of one profile in one cell, with the per-cell overrides already applied. */
export interface HostGroup {
  readonly profile: string;
  readonly count: number;
  readonly availabilityZones: readonly string[];
  readonly allocationRatios: AllocationRatios;
}

export interface AllocationRatios {
  readonly vcpu: number;
  readonly ram: number;
  readonly disk: number;
}

export interface HostProfile {
  readonly name: string;
  /** Physical amounts. For bare-metal profiles they describe the node (not Placement inventory). */
  readonly vcpus: number;
  readonly ramMb: number;
  readonly diskGb: number;
  readonly reserved: { readonly vcpus: number; readonly ramMb: number; readonly diskGb: number };
  readonly allocationRatios: AllocationRatios;
  /** Root-provider traits. */
  readonly traits: readonly string[];
  readonly aggregates: readonly string[];
  /** Hosts are dealt round-robin over these zones. */
  readonly availabilityZones: readonly string[];
  /** Extra root inventory, e.g. CUSTOM_LICENSE_X: 4. */
  readonly customResources: Readonly<Record<string, number>>;
  readonly devices: Devices;
  /** Non-null: the hosts are ironic nodes with one unit of `resourceClass`. */
  readonly baremetal: BaremetalSpec | null;
  /** How the profile's hosts spread over cells, as written (re-used by applyOverrides). */
  readonly spread: ProfileSpread;
}

export type ProfileSpread =
  /** `count` hosts dealt evenly over `cells` (null: every cell). */
  | { readonly kind: 'even'; readonly count: number; readonly cells: readonly string[] | null }
  /** The same number in each of `cells` (null: every cell). */
  | { readonly kind: 'perCell'; readonly count: number; readonly cells: readonly string[] | null }
  /** Explicit counts by cell name. */
  | { readonly kind: 'map'; readonly counts: Readonly<Record<string, number>> };

export interface Devices {
  readonly sriov: readonly SriovPf[];
  readonly gpus: readonly GpuSpec[];
  readonly fpgas: readonly FpgaSpec[];
}

/** `count` physical functions per host, each a provider with `vfs` SRIOV_NET_VF. */
export interface SriovPf {
  readonly count: number;
  readonly vfs: number;
  readonly physnet: string;
  /** HW_NIC_SRIOV and CUSTOM_PHYSNET_<PHYSNET> plus any listed. */
  readonly traits: readonly string[];
}

/** `count` GPUs per host: each a provider of `vgpus` VGPU, or of 1 PGPU when passthrough. */
export interface GpuSpec {
  readonly count: number;
  readonly mode: 'vgpu' | 'passthrough';
  /** VGPU per GPU (vgpu mode) or 1 (passthrough). */
  readonly unitsPerGpu: number;
  readonly type: string | null;
  readonly traits: readonly string[];
}

/** `count` FPGAs per host, each a provider of 1 FPGA. */
export interface FpgaSpec {
  readonly count: number;
  readonly function: string | null;
  /** Listed traits plus CUSTOM_FPGA_FUNCTION_<FUNCTION> when a function is set. */
  readonly traits: readonly string[];
}

export interface BaremetalSpec {
  /** CUSTOM_BAREMETAL_<X>. */
  readonly resourceClass: string;
  readonly bmc: 'ipmi' | 'redfish';
}

export interface WorkloadSpec {
  readonly flavors: Readonly<Record<string, Flavor>>;
  /** Weights by flavor name (not normalised; all > 0). */
  readonly mix: Readonly<Record<string, number>>;
  readonly arrivals: readonly Arrival[];
  readonly lifetime: Lifetime;
  readonly serverGroups: readonly ServerGroupSpec[];
  readonly operations: OperationsSpec;
}

/** Shaped like core/scheduler's NovaFlavor so it feeds parseNovaRequest directly. */
export interface Flavor {
  readonly name: string;
  readonly vcpus: number;
  readonly ramMb: number;
  readonly diskGb: number;
  /** Values as strings, as Nova stores them. */
  readonly extraSpecs: Readonly<Record<string, string>>;
}

export type Arrival = ConstantArrival | PoissonArrival | BurstArrival | TraceArrival;

interface ArrivalBase {
  /** Active window; endMs defaults to the run duration. */
  readonly startMs: number;
  readonly endMs: number;
  /** Overrides workload.mix for this arrival, or null. */
  readonly mix: Readonly<Record<string, number>> | null;
  /** Overrides workload.lifetime for this arrival, or null. */
  readonly lifetime: Lifetime | null;
}

export interface ConstantArrival extends ArrivalBase {
  readonly kind: 'constant';
  readonly ratePerSecond: number;
}

export interface PoissonArrival extends ArrivalBase {
  readonly kind: 'poisson';
  readonly ratePerSecond: number;
}

/** `count` requests at startMs (windowMs 0) or spread evenly over [startMs, startMs + windowMs). */
export interface BurstArrival extends ArrivalBase {
  readonly kind: 'burst';
  readonly count: number;
  readonly windowMs: number;
}

export interface TraceArrival extends ArrivalBase {
  readonly kind: 'trace';
  /** As written, and resolved against the scenario file's folder. */
  readonly file: string;
  readonly resolvedPath: string;
  readonly timeScale: number;
  readonly defaultGroupPolicy: GroupPolicy;
  readonly records: readonly TraceRecord[];
}

export interface TraceRecord {
  /** 1-based line in the CSV. */
  readonly line: number;
  /** Submit time after `start` and `time_scale` are applied. */
  readonly submitMs: number;
  /** A defined flavor name, or null when `resources` is given. */
  readonly flavor: string | null;
  readonly resources: Readonly<Record<string, number>> | null;
  /** null: runs until the end. */
  readonly durationMs: number | null;
  readonly project: string | null;
  readonly group: { readonly id: string; readonly policy: GroupPolicy } | null;
}

export type Lifetime =
  | { readonly kind: 'forever' }
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'exponential'; readonly meanMs: number }
  /** Draw `ms` with probability weight / sum(weights). */
  | {
      readonly kind: 'empirical';
      readonly values: readonly { readonly ms: number; readonly weight: number }[];
    };

export interface ServerGroupSpec {
  readonly name: string;
  readonly policy: GroupPolicy;
  /** Members per group instance. */
  readonly size: number;
  /** Share of all requests that join a group of this spec, 0..1. */
  readonly fraction: number;
  /** anti-affinity only: Nova's max_server_per_host rule; 1 otherwise. */
  readonly maxServerPerHost: number;
}

export interface OperationsSpec {
  readonly resize: OperationRate | null;
  readonly liveMigrate: OperationRate | null;
  readonly coldMigrate: OperationRate | null;
}

/** Either fleet-wide events per second, or the share of servers that get the operation once. */
export type OperationRate =
  | {
      readonly kind: 'rate';
      readonly ratePerSecond: number;
      readonly toMix: Readonly<Record<string, number>> | null;
    }
  | {
      readonly kind: 'fraction';
      readonly fraction: number;
      readonly toMix: Readonly<Record<string, number>> | null;
    };

export type FaultTiming =
  | { readonly kind: 'at'; readonly atMs: number }
  /** Fires at startMs + k * everyMs (k = 1, 2, …) while before endMs. */
  | { readonly kind: 'every'; readonly everyMs: number; readonly startMs: number; readonly endMs: number }
  /** A Poisson process of ratePerSecond over [startMs, endMs). */
  | {
      readonly kind: 'poisson';
      readonly ratePerSecond: number;
      readonly startMs: number;
      readonly endMs: number;
    };

/** Which hosts a fault picks from: null fields match everything. */
export interface FaultTarget {
  readonly cell: string | null;
  readonly profile: string | null;
}

/** How many hosts a host-level fault hits each time it fires. */
export type HostCount =
  | { readonly kind: 'count'; readonly count: number }
  | { readonly kind: 'fraction'; readonly fraction: number };

export type FaultSpec =
  | {
      readonly kind: 'host_crash';
      readonly timing: FaultTiming;
      readonly target: FaultTarget;
      readonly hosts: HostCount;
      /** null: the hosts stay down. */
      readonly recoverAfterMs: number | null;
    }
  | {
      readonly kind: 'heartbeat_loss';
      readonly timing: FaultTiming;
      readonly target: FaultTarget;
      readonly hosts: HostCount;
      readonly durationMs: number;
    }
  | {
      readonly kind: 'spawn_failure';
      readonly target: FaultTarget;
      /** Probability that one spawn fails, 0..1. */
      readonly probability: number;
      readonly startMs: number;
      readonly endMs: number;
    }
  | {
      readonly kind: 'cell_partition';
      readonly timing: FaultTiming;
      readonly cell: string;
      readonly durationMs: number;
    }
  /** cell null: a cell drawn from the seed each time. */
  | { readonly kind: 'scheduler_leader_loss'; readonly timing: FaultTiming; readonly cell: string | null }
  | { readonly kind: 'conductor_leader_loss'; readonly timing: FaultTiming; readonly cell: string | null }
  | { readonly kind: 'nats_restart'; readonly timing: FaultTiming; readonly downtimeMs: number }
  | {
      readonly kind: 'redis_restart';
      readonly timing: FaultTiming;
      readonly cell: string | null;
      readonly downtimeMs: number;
    }
  | {
      readonly kind: 'bmc_power_fault';
      readonly timing: FaultTiming;
      readonly target: FaultTarget;
      readonly hosts: HostCount;
      readonly fault: 'power_on_fails' | 'power_off_fails' | 'unresponsive';
      readonly durationMs: number;
    };

export type FaultKind = FaultSpec['kind'];

export interface ScenarioProblem {
  /** 1-based; 0 when the problem has no place in a file (e.g. from applyOverrides). */
  readonly line: number;
  readonly column: number;
  /** Dotted key path, e.g. workload.flavors.m1.vcpus or faults[2].at. */
  readonly path: string;
  readonly message: string;
  /** Set when the problem is in another file than the scenario (a trace CSV). */
  readonly file?: string;
}

export interface ParseOptions {
  /** Name used in messages and to resolve relative trace paths. */
  readonly file: string;
  /** Reads a trace file (path already resolved). Default: fs.readFileSync(path, 'utf8'). */
  readonly readFile?: (path: string) => string;
}

export interface ScenarioOverrides {
  readonly hosts?: number;
  readonly cells?: number;
  readonly seed?: number;
  readonly durationMs?: number;
}
