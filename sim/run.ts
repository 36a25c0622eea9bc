/**
 * One simulation run in virtual time: build the world (sim/world.ts), let the hosts register,
 * start the invariant checker, drive the workload (sim/workload.ts) and the faults for the
 * scenario's duration, drain what is still in flight, run the final checks and assemble the report.
 *
 * Outputs: SimMetrics (sim/metrics.ts) fed from the conductors' events; a decision log (one line
 * per placement decision and outcome, in order, with simulated times) whose SHA-256 together
 * with the metrics JSON is the run's hash — the same seed and scenario print the same hash;
 * capacity and fragmentation tables (sim/capacity.ts) from the trees at the end.
 */
import { createHash } from 'node:crypto';
import type { ConductorEvent } from '../cells/conductor/ports.ts';
import { VirtualClock } from '../core/adapters/memory/clock.ts';
import { toCellplaneError } from '../core/errors.ts';
import { RunBook, submitBoot } from './book.ts';
import {
  type CapacityTable,
  capacityTable,
  type FlavorSpec,
  type FleetHost,
  type Fragmentation,
  fragmentation,
} from './capacity.ts';
import { scheduleFaults, worldFaultActions } from './faults.ts';
import { InvariantChecker, type Violation } from './invariants.ts';
import { MoveDriver } from './moves.ts';
import { stableJson } from './report/json.ts';
import type { SimReport } from './report/types.ts';
import { flavorDemand } from './scenario-fit.ts';
import type { Scenario } from './scenario-types.ts';
import { deletePlanned, simServerPorts } from './servers.ts';
import { type BootRequest, startWorkload } from './workload.ts';
import { buildWorld, type World } from './world.ts';

export interface SimProgress {
  readonly simTimeMs: number;
  readonly submitted: number;
  readonly boots: number;
  readonly failures: number;
}

export interface SimRunOptions {
  /** Called about every simulated second. */
  readonly onProgress?: (p: SimProgress) => void;
  /** Lines about what the run does (faults applied or skipped, phases). */
  readonly log?: (line: string) => void;
  /** Simulated time allowed after the scenario's end for in-flight requests to finish. */
  readonly drainMs?: number;
  /** Receives every decision-log line (what the hash covers), e.g. to write it to a file. */
  readonly decisionLog?: (line: string) => void;
}

export interface SimResult {
  readonly report: SimReport;
  readonly hash: string;
  readonly violations: readonly Violation[];
  readonly submitted: number;
  readonly active: number;
  readonly failed: number;
  readonly wallMs: number;
  readonly simMs: number;
  readonly hosts: number;
  /** RSS and heap after the fleet came up and at the end. */
  readonly memory: {
    readonly rssAfterFleet: number;
    readonly heapAfterFleet: number;
    readonly rssPeak: number;
  };
}

const EPOCH = Date.parse('2030-01-01T00:00:00Z');
const DEFAULT_DRAIN_MS = 15 * 60_000;
const UTILISATION_EVERY_MS = 10_000;

export async function runSimulation(s: Scenario, o: SimRunOptions = {}): Promise<SimResult> {
  if (s.run.mode !== 'virtual')
    throw new Error(
      `scenario ${s.name}: mode "real" runs in real time on NATS/etcd/Redis: use runRealtime (sim/realtime/run.ts), or "cellplane sim --real"`,
    );
  const log = o.log ?? (() => {});
  const wallStart = performance.now();
  const clock = new VirtualClock(EPOCH);
  const decisions = createHash('sha256');
  let runStart = EPOCH;
  const rel = () => clock.now() - runStart;
  let world: World | undefined;
  /** Set once the world exists: enqueues the planned delete of an instance whose lifetime ended. */
  let deleteLater: (uuid: string) => Promise<void> = async () => {};
  /** Set when the world starts stopping: planned deletes that fall due then are not sent. */
  let stopping = false;
  const book = new RunBook(
    s,
    rel,
    (line) => {
      decisions.update(`${line}\n`);
      o.decisionLog?.(line);
    },
    (uuid, _cell, lifetimeMs) => clock.setTimeout(() => void deleteLater(uuid), lifetimeMs),
  );
  const { used } = book;
  let moves: MoveDriver | undefined;
  const onEvent = (cell: string, e: ConductorEvent) => {
    book.onEvent(cell, e);
    moves?.onEvent(cell, e);
  };

  try {
    log(`building the world: ${s.fleet.cells.length} cell(s), ${s.fleet.totalHosts} hosts`);
    const w = await buildWorld(s, { clock, onConductorEvent: onEvent });
    world = w;
    for (const name of w.cells.keys()) used.set(name, { VCPU: 0, MEMORY_MB: 0 });
    // Hosts register (registrar → tree actors → shards), leaders get elected.
    const total = s.fleet.totalHosts;
    const registered = () =>
      [...w.cells.values()].reduce((n, c) => n + (c.replicas[0]!.registrar?.hosts().length ?? 0), 0);
    for (let waited = 0; registered() < total || !allServing(w); waited += 1_000) {
      if (waited > 600_000)
        throw new Error(`only ${registered()} of ${total} hosts registered after 10 simulated minutes`);
      await clock.advance(1_000);
    }
    await clock.advance(3_000); // the first capacity reports reach the router
    const mem = process.memoryUsage();
    const memory = { rssAfterFleet: mem.rss, heapAfterFleet: mem.heapUsed, rssPeak: mem.rss };
    log(
      `fleet up: ${total} hosts registered; RSS ${mb(mem.rss)} MB, heap ${mb(mem.heapUsed)} MB (${Math.round(mem.heapUsed / Math.max(1, total))} B/host incl. the control plane)`,
    );

    runStart = clock.now();
    const checker = new InvariantChecker(w, runStart);
    await checker.start(w.bus);
    const capacities = cellCapacities(s);

    const ports = simServerPorts({
      backend: w.backend,
      quota: w.quota,
      now: () => clock.now(),
      flavor: (name) => book.flavors.get(name),
      isHost: (name) => w.hosts.has(name),
    });
    const ctx = { ports, book, seed: s.run.seed };
    const submit = (r: BootRequest) => {
      const uuid = w.uuid();
      const t = rel();
      submitBoot(ctx, r, uuid, t).catch((err) => {
        const e = book.refused(uuid, t, r.flavor, err);
        if (e.code !== 'conflict' && e.code !== 'notFound') log(`submit ${uuid} failed: ${e.message}`);
      });
    };

    deleteLater = async (uuid: string) => {
      if (stopping) return;
      await deletePlanned(ports, uuid, clock).catch((err) =>
        log(`delete of ${uuid} not enqueued: ${toCellplaneError(err).message}`),
      );
    };

    scheduleFaults(
      s,
      {
        mode: 'virtual',
        clock,
        rng: w.rng,
        cells: [...w.cells.keys()],
        hosts: [...w.hosts.values()],
        actions: worldFaultActions(w),
      },
      runStart,
      log,
    );
    const workload = startWorkload(s, clock, runStart, submit);
    const driver = new MoveDriver(s, {
      ports,
      book,
      clock,
      rel,
      log,
    });
    moves = driver;
    driver.start(runStart);
    let nextSample = 0;
    while (rel() < s.run.durationMs) {
      await clock.advance(1_000);
      if (rel() >= nextSample) {
        book.sampleUtilisation(rel(), capacities);
        nextSample += UTILISATION_EVERY_MS;
      }
      o.onProgress?.({
        simTimeMs: rel(),
        submitted: workload.submitted,
        boots: book.active,
        failures: book.failed,
      });
      memory.rssPeak = Math.max(memory.rssPeak, process.memoryUsage.rss());
    }
    workload.stop();
    driver.stop(); // no new moves; those under way (and their confirmations) finish in the drain
    const drainEnd = rel() + (o.drainMs ?? DEFAULT_DRAIN_MS);
    while ((book.ended < workload.submitted || driver.inFlight.size > 0) && rel() < drainEnd) {
      await clock.advance(1_000);
      o.onProgress?.({
        simTimeMs: rel(),
        submitted: workload.submitted,
        boots: book.active,
        failures: book.failed,
      });
    }
    if (book.ended < workload.submitted)
      log(`${workload.submitted - book.ended} request(s) still in flight after draining`);
    if (driver.inFlight.size > 0) log(`${driver.inFlight.size} move(s) still under way after draining`);
    // Planned deletes that fell due in the drain window run to completion too.
    await clock.advance(60_000);
    memory.rssPeak = Math.max(memory.rssPeak, process.memoryUsage.rss());
    await checker.stop();
    log('final checks: allocations, capacity, groups, disabled cells, every request ended');
    return await finishRun(s, {
      mode: 'virtual',
      book,
      checker,
      submitted: workload.submitted,
      wallStart,
      runMs: rel(),
      memory,
      extra: moveFacts(driver),
      hash: (snapshot) =>
        createHash('sha256').update(decisions.digest('hex')).update(stableJson(snapshot)).digest('hex'),
    });
  } finally {
    if (world) {
      stopping = true;
      // Stopping drains work that waits on simulated time (spawns in flight, asks): keep the
      // clock moving until everything has stopped.
      let stopped = false;
      const worldStopped = world.stop().finally(() => {
        stopped = true;
      });
      for (let i = 0; !stopped && i < 3_600; i++) await clock.advance(1_000);
      await worldStopped;
    }
  }
}

/**
 * The end of a run, both modes: the final checks over the stores, the capacity table from the
 * trees, the report. `hash` (virtual mode) derives the reproducibility hash from the metrics.
 */
export async function finishRun(
  s: Scenario,
  o: {
    readonly mode: 'virtual' | 'real';
    readonly book: RunBook;
    readonly checker: InvariantChecker;
    readonly submitted: number;
    readonly wallStart: number;
    readonly runMs: number;
    readonly memory: SimResult['memory'];
    readonly hash?: (snapshot: ReturnType<RunBook['metrics']['snapshot']>) => string;
    /** Further facts for the report's scenario summary. */
    readonly extra?: Readonly<Record<string, unknown>>;
  },
): Promise<SimResult> {
  const fleetAtEnd = await o.checker.final(o.book.requests);
  const snapshot = o.book.metrics.snapshot();
  const { table, frag } = capacityOf(s, fleetAtEnd);
  const hash = o.hash?.(snapshot);
  const violations = o.checker.violations;
  const wallMs = performance.now() - o.wallStart;
  const report: SimReport = {
    scenario: {
      name: s.name,
      seed: s.run.seed,
      mode: o.mode,
      ...(hash === undefined ? {} : { hash }),
      cells: s.fleet.cells.length,
      hosts: s.fleet.totalHosts,
      duration: `${s.run.durationMs / 1000} s`,
      submitted: o.submitted,
      decisions: o.book.decisionLines,
      wallSeconds: Math.round(wallMs / 100) / 10,
      ...o.extra,
    },
    metrics: snapshot,
    capacity: table,
    fragmentation: frag,
    invariants: {
      checks: o.checker.checks,
      violations: violations.map((v) => `t=${(v.atMs / 1000).toFixed(3)}s ${v.invariant}: ${v.message}`),
    },
  };
  return {
    report,
    hash: hash ?? '',
    violations,
    submitted: o.submitted,
    active: o.book.active,
    failed: o.book.failed,
    wallMs,
    simMs: o.runMs,
    hosts: s.fleet.totalHosts,
    memory: o.memory,
  };
}

/** The moves' counts as report facts (only when the scenario asked for moves). */
export function moveFacts(d: MoveDriver): Record<string, number> {
  const c = d.counts;
  if (c.issued + c.skipped === 0) return {};
  return {
    'moves issued': c.issued,
    'moves done': c.moved,
    'moves confirmed': c.confirmed,
    'moves without a host': c.failed,
    'moves skipped (busy)': c.skipped,
  };
}

/** Every cell has a serving conductor and every shard a serving leader. */
export function allServing(w: World): boolean {
  for (const c of w.cells.values()) {
    const conductorLeads = c.replicas.some((r) => r.conductor?.serving);
    const shards = Array.from({ length: c.shardCount }, (_, k) =>
      c.replicas.some((r) => r.shards[k]?.serving),
    );
    if (!conductorLeads || !shards.every(Boolean)) return false;
  }
  return true;
}

/** Per cell: VCPU and MEMORY_MB capacity of its hosts (as Placement computes it). */
export function cellCapacities(s: Scenario): Map<string, { VCPU: number; MEMORY_MB: number }> {
  const out = new Map<string, { VCPU: number; MEMORY_MB: number }>();
  for (const c of s.fleet.cells) {
    let VCPU = 0;
    let MEMORY_MB = 0;
    for (const g of c.hostGroups) {
      const p = s.fleet.profiles[g.profile]!;
      VCPU += g.count * Math.floor((p.vcpus - p.reserved.vcpus) * g.allocationRatios.vcpu);
      MEMORY_MB += g.count * Math.floor((p.ramMb - p.reserved.ramMb) * g.allocationRatios.ram);
    }
    out.set(c.name, { VCPU, MEMORY_MB });
  }
  return out;
}

export function capacityOf(s: Scenario, hosts: FleetHost[]): { table: CapacityTable; frag: Fragmentation } {
  // What the scheduler will ask: resources:<CLASS> overrides and extra classes (VGPU, VFs…) too.
  const specs: FlavorSpec[] = Object.values(s.workload.flavors).map((f) => {
    const d = flavorDemand(f);
    return {
      name: f.name,
      resources: { ...d.total },
      requiredTraits: [...d.required].sort(),
      forbiddenTraits: [...d.forbidden].sort(),
    };
  });
  const fleet = { hosts };
  return { table: capacityTable(fleet, specs), frag: fragmentation(fleet, specs) };
}

function mb(n: number): number {
  return Math.round(n / 1024 / 1024);
}
