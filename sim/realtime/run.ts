/**
 * A simulation in real time on NATS, etcd and Redis (`mode: real`, `cellplane sim --real`): the
 * control plane runs as separate processes (sim/realtime/cluster.ts: per cell two conductors,
 * two schedulers, agents processes with the cell's simulated hosts), each cell behind cuttable
 * proxies; this process is the region: it submits the workload through the compute API's use
 * cases (cells/servers/: quota, router, mapping, durable build queue, record — sim/book.ts, with
 * a quota ledger of its own), books the outcomes the conductors report, applies the
 * scenario's faults to processes and servers (leader kills, partitions, NATS/Redis restarts, host
 * faults), then drains and runs the invariant checker over the stores.
 *
 * Nothing is lost silently: an outcome whose event died with a killed process or a partition is
 * read back from the cell's store before the run ends ("reconciled"), and every accepted request
 * must end ACTIVE (or deleted as planned) or ERROR with a fault, which the final checks verify
 * from the records. Real time is not deterministic: the run prints no reproducibility hash.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TREE_INDEX } from '../../actors/provider-tree-store.ts';
import { QuotaLedger } from '../../api/compute/quota-ledger.ts';
import { opsQueueName } from '../../cells/conductor-jobs.ts';
import { CellDirectory } from '../../cells/directory.ts';
import { InstanceStore } from '../../cells/instances.ts';
import { CellRegistry } from '../../cells/lifecycle.ts';
import type { CellRecord } from '../../cells/mapping.ts';
import { EtcdCoordinator } from '../../core/adapters/etcd/coordinator.ts';
import { MemoryStore } from '../../core/adapters/memory/store.ts';
import { NatsBus } from '../../core/adapters/nats/bus.ts';
import { WORK_QUEUE_CONSUMER } from '../../core/adapters/nats/bus-support.ts';
import { RedisStore } from '../../core/adapters/redis/store.ts';
import { systemClock } from '../../core/adapters/system/clock.ts';
import { toCellplaneError } from '../../core/errors.ts';
import type { TimerHandle } from '../../core/ports/clock.ts';
import { makeRng } from '../../core/rng.ts';
import { DEFAULT_DEPLOY_CONFIG } from '../../deploy/config.ts';
import { CellsServerBackend } from '../../deploy/server-backend.ts';
import { readState, type ServicesState, servicesDown, servicesUp } from '../../deploy/services.ts';
import { DEFAULT_GRACE_MS } from '../../host-agent/monitor.ts';
import { RunBook, submitBoot } from '../book.ts';
import { type FaultActions, scheduleFaults } from '../faults.ts';
import { InvariantChecker } from '../invariants.ts';
import { MoveDriver } from '../moves.ts';
import { cellCapacities, finishRun, moveFacts, type SimResult, type SimRunOptions } from '../run.ts';
import type { Scenario } from '../scenario-types.ts';
import { deletePlanned, simServerPorts } from '../servers.ts';
import type { BootRequest } from '../workload.ts';
import { startWorkload } from '../workload.ts';
import { cellFleet, HOSTS_PER_SHARD, type SimHost, SPAWN_LATENCY } from '../world.ts';
import { type RoleKnobs, type Servers, SimProcesses } from './cluster.ts';

/** The role processes' knobs in real time: the deployment's defaults, but for these. */
export const REALTIME_KNOBS: RoleKnobs = {
  leaseTtlMs: DEFAULT_DEPLOY_CONFIG.leaseTtlMs,
  ackWaitMs: DEFAULT_DEPLOY_CONFIG.ackWaitMs,
  maxBuildAttempts: DEFAULT_DEPLOY_CONFIG.maxBuildAttempts,
  spawnMs: SPAWN_LATENCY,
  heartbeatIntervalMs: 20_000,
  serviceDownMs: DEFAULT_GRACE_MS,
  conductorInFlight: 1_024,
};

const DEFAULT_DRAIN_MS = 5 * 60_000;
const UTILISATION_EVERY_MS = 10_000;
const RECONCILE_EVERY_MS = 5_000;

export interface RealtimeOptions extends SimRunOptions {
  /** Servers to use; absent: start nats-server, etcd and redis-server on free ports for the run. */
  readonly servers?: Servers;
  /** Copy the role processes' stderr to ours, prefixed with their names. */
  readonly verbose?: boolean;
  /** Keep waiting this long (wall ms) for the hosts to register. Default 10 minutes. */
  readonly registerTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runRealtime(s: Scenario, o: RealtimeOptions = {}): Promise<SimResult> {
  const log = o.log ?? (() => {});
  const wallStart = performance.now();
  const workDir = mkdtempSync(join(tmpdir(), 'cellplane-sim-'));
  const closers: Array<() => Promise<void>> = [];
  const timers = new Set<TimerHandle>();
  let stopping = false;
  try {
    let servers: Servers;
    let own: ServicesState | undefined;
    const servicesDir = join(workDir, 'services');
    if (o.servers) servers = o.servers;
    else {
      log(`starting nats-server, etcd and redis-server (append-only) on free ports in ${servicesDir}`);
      own = await servicesUp({ dir: servicesDir, randomPorts: true, redisPersistence: 'always' });
      closers.push(() => servicesDown(servicesDir, { purge: true }));
      servers = own.urls;
    }
    log(`servers: NATS ${servers.nats}, etcd ${servers.etcd}, Redis ${servers.redis}`);
    const prefix = `sim${s.run.seed}r${Math.floor(Math.random() * 36 ** 6).toString(36)}`;
    if (o.servers)
      log(
        `this run's data stays on those servers under the prefix ${prefix} (etcd keys /${prefix}/…, NATS streams ${prefix}_…, Redis keys ${prefix}.…)`,
      );
    const bus = await NatsBus.connect({ servers: servers.nats, prefix, name: 'sim-region' });
    closers.push(() => bus.close());
    const coordinator = new EtcdCoordinator({ hosts: servers.etcd, prefix: `/${prefix}` });
    closers.push(() => coordinator.close());
    // The API layer's store, as the role processes name it (deploy/cluster.ts): instance mappings.
    const apiStore = await RedisStore.open({ url: servers.redis, prefix: `${prefix}.api` });
    closers.push(() => apiStore.close());
    const registry = new CellRegistry(coordinator, { clock: systemClock, mappingStore: apiStore });

    let runStart = Date.now();
    const rel = () => Date.now() - runStart;
    /**
     * The region's quota ledger, kept in this process (the API layer's store is no separate failure
     * domain of the run: a Redis restart must not refuse boots the cells would take). A claim goes
     * back when the conductor reports the delete done (an event lost with a killed process leaves
     * its claim: scenarios set no limits, so nothing is refused for it).
     */
    const quota = new QuotaLedger(new MemoryStore());
    const giveBack = (uuid: string) =>
      void quota
        .release(uuid)
        .catch((err) => log(`quota of ${uuid} not released: ${toCellplaneError(err).message}`));
    /** Planned deletes queued and not yet confirmed: uuid → cell. */
    const deleting = new Map<string, CellRecord>();
    let deleteLater: (uuid: string, cell: string) => void = () => {};
    let moves: MoveDriver | undefined;
    const book = new RunBook(
      s,
      rel,
      (line) => o.decisionLog?.(line),
      (uuid, cell, lifetimeMs) => {
        const h = systemClock.setTimeout(() => {
          timers.delete(h);
          deleteLater(uuid, cell);
        }, lifetimeMs);
        timers.add(h);
      },
    );
    const procs = new SimProcesses({
      servers,
      prefix,
      workDir,
      knobs: REALTIME_KNOBS,
      onEvent: (cell, e) => {
        book.onEvent(cell, e);
        moves?.onEvent(cell, e);
        if (e.type === 'deleted') {
          deleting.delete(e.uuid);
          giveBack(e.uuid);
        }
      },
      verbose: o.verbose ?? false,
    });
    closers.push(() => procs.stop());

    const cells = new Map<string, { store: RedisStore; record: CellRecord; hosts: number }>();
    const hosts = new Map<string, SimHost>();
    log(`starting the control plane: ${s.fleet.cells.length} cell(s) × (2 conductors, 2 schedulers, agents)`);
    for (const c of s.fleet.cells) {
      const record = await registry.create({ name: c.name, transport: `cp.${c.name}`, store: servers.redis });
      const store = await RedisStore.open({ url: servers.redis, prefix: `${prefix}.${c.name}` });
      closers.push(() => store.close());
      const fleet = cellFleet(s, c);
      for (const h of fleet.hosts) hosts.set(h.name, h);
      cells.set(c.name, { store, record, hosts: fleet.hosts.length });
      book.used.set(c.name, { VCPU: 0, MEMORY_MB: 0 });
      await procs.addCell(
        c.name,
        Math.max(1, Math.ceil(c.totalHosts / HOSTS_PER_SHARD)),
        fleet.hosts,
        fleet.specs,
        `${s.run.seed}:${c.name}`,
        c.spawnFailureRate ?? 0,
      );
    }
    await procs.allReady();
    log(`${procs.children.length} processes up; waiting for ${s.fleet.totalHosts} hosts to register`);
    const registered = async () => {
      let n = 0;
      for (const c of cells.values()) n += await c.store.count(TREE_INDEX);
      return n;
    };
    const deadline = Date.now() + (o.registerTimeoutMs ?? 600_000);
    for (let last = -1; ; ) {
      const n = await registered();
      const serving = [...cells.keys()].every((c) => procs.serving(c));
      if (n >= s.fleet.totalHosts && serving) break;
      if (Date.now() > deadline)
        throw new Error(
          `only ${n} of ${s.fleet.totalHosts} hosts registered${serving ? '' : ' (and not every cell has a conductor and shard leaders)'} after ${Math.round((o.registerTimeoutMs ?? 600_000) / 1000)} s`,
        );
      if (n !== last) o.onProgress?.({ simTimeMs: 0, submitted: 0, boots: 0, failures: 0 });
      last = n;
      await sleep(1_000);
    }
    await sleep(3_000); // the first capacity reports reach the router
    const rssAfterFleet = procs.rss() + process.memoryUsage.rss();
    const memory = { rssAfterFleet, heapAfterFleet: rssAfterFleet, rssPeak: rssAfterFleet };
    log(
      `fleet up: ${s.fleet.totalHosts} hosts registered in ${Math.round((performance.now() - wallStart) / 1000)} s; RSS of all ${procs.children.length + 1} processes ${mb(rssAfterFleet)} MB`,
    );

    const directory = await CellDirectory.open(coordinator);
    closers.push(() => directory.close());
    const backend = new CellsServerBackend({
      directory,
      memberships: registry.memberships,
      portsOf: (cell) => ({ store: cells.get(cell.name)!.store, bus }),
      clock: systemClock,
      ackWaitMs: REALTIME_KNOBS.ackWaitMs,
    });
    closers.push(() => backend.close());
    const ports = simServerPorts({
      backend,
      quota,
      now: () => Date.now(),
      flavor: (name) => book.flavors.get(name),
      isHost: (name) => hosts.has(name),
    });
    const checker = new InvariantChecker({ clock: systemClock, cells, hosts, registry }, Date.now());
    await checker.start(bus);
    closers.push(() => checker.stop());

    deleteLater = (uuid, cellName) => {
      if (stopping) return;
      deleting.set(uuid, cells.get(cellName)!.record);
      deletePlanned(ports, uuid, systemClock).catch((err) => {
        deleting.delete(uuid);
        log(`delete of ${uuid} not enqueued: ${toCellplaneError(err).message}`);
      });
    };
    const ctx = { ports, book, seed: s.run.seed };
    let refusedLogged = 0;
    const submit = (r: BootRequest) => {
      const uuid = randomUUID();
      const t = rel();
      submitBoot(ctx, r, uuid, t).catch((err) => {
        const e = book.refused(uuid, t, r.flavor, err);
        if (refusedLogged++ < 20) log(`t=${Math.round(t / 1000)}s submit ${uuid} refused: ${e.message}`);
      });
    };

    const actions: FaultActions = {
      leaderLoss: (role, cell) => procs.killLeader(role, cell),
      hosts: (cmd, hs) => procs.hosts(cmd, hs),
      spawnFailure: (hs, p) => procs.hosts('failure', hs, p),
      partition: (cell, cut) => procs.partition(cell, cut),
      restart: async (service, downtimeMs) => {
        if (!own)
          throw new Error(
            `${service} was given on the command line: the simulator restarts only servers it started itself`,
          );
        const pid = readState(servicesDir)?.pids[service];
        if (!pid) throw new Error(`${service} has no recorded process`);
        process.kill(pid, 'SIGTERM');
        while (alive(pid)) await sleep(50);
        await sleep(downtimeMs);
        const after = await servicesUp({ dir: servicesDir, redisPersistence: 'always' });
        return `${service} (pid ${pid}) stopped, down ${downtimeMs / 1000}s, started again (pid ${after.pids[service]})`;
      },
    };
    runStart = Date.now();
    log(`run: ${s.run.durationMs / 1000} s of real time`);
    scheduleFaults(
      s,
      {
        mode: 'real',
        clock: {
          now: () => Date.now(),
          setTimeout: (fn, ms) => {
            const h = systemClock.setTimeout(() => {
              timers.delete(h);
              fn();
            }, ms);
            timers.add(h);
            return h;
          },
        },
        rng: makeRng(`faults:${s.run.seed}`),
        cells: [...cells.keys()],
        hosts: [...hosts.values()],
        actions,
      },
      runStart,
      log,
    );
    const workload = startWorkload(s, systemClock, runStart, submit);
    const driver = new MoveDriver(s, {
      ports,
      book,
      clock: systemClock,
      rel,
      log,
    });
    moves = driver;
    driver.start(runStart);
    const capacities = cellCapacities(s);
    const progress = () =>
      o.onProgress?.({
        simTimeMs: rel(),
        submitted: workload.submitted,
        boots: book.active,
        failures: book.failed,
      });
    let nextSample = 0;
    while (rel() < s.run.durationMs) {
      await sleep(Math.min(1_000, s.run.durationMs - rel()));
      if (rel() >= nextSample) {
        book.sampleUtilisation(rel(), capacities);
        nextSample += UTILISATION_EVERY_MS;
        memory.rssPeak = Math.max(memory.rssPeak, procs.rss() + process.memoryUsage.rss());
      }
      progress();
    }
    workload.stop();
    driver.stop(); // no new moves; those under way (and their confirmations) finish in the drain
    stopping = true; // planned deletes that fall due from now on are not sent
    for (const h of timers) systemClock.clearTimeout(h);
    timers.clear();
    procs.healAll();

    log(`draining: ${workload.submitted - book.ended} request(s) and ${deleting.size} delete(s) in flight`);
    const drainEnd = Date.now() + (o.drainMs ?? DEFAULT_DRAIN_MS);
    let reconciled = 0;
    for (let next = Date.now() + RECONCILE_EVERY_MS; ; ) {
      const pending = book.ended < workload.submitted || deleting.size > 0 || driver.inFlight.size > 0;
      if (!pending || Date.now() > drainEnd) break;
      await sleep(500);
      progress();
      if (Date.now() >= next) {
        reconciled += await reconcile(book, driver, deleting, cells, giveBack);
        next = Date.now() + RECONCILE_EVERY_MS;
      }
    }
    reconciled += await reconcile(book, driver, deleting, cells, giveBack);
    if (reconciled > 0)
      log(
        `reconciled ${reconciled} outcome(s) from the stores (their events died with a killed process or a partition)`,
      );
    if (book.ended < workload.submitted) {
      log(`${workload.submitted - book.ended} request(s) still in flight after draining`);
      for (const name of cells.keys()) log(await queueState(bus, name));
    }
    if (driver.inFlight.size > 0) log(`${driver.inFlight.size} move(s) still under way after draining`);
    await checker.stop();
    log('final checks: allocations, capacity, groups, every request ended, nothing lost');
    return await finishRun(s, {
      mode: 'real',
      book,
      checker,
      submitted: workload.submitted,
      wallStart,
      runMs: rel(),
      memory,
      // processes: started in all, replacements included
      extra: { processes: procs.children.length + 1, reconciled, ...moveFacts(driver) },
    });
  } finally {
    stopping = true;
    for (const h of timers) systemClock.clearTimeout(h);
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
    rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * Outcomes whose events were lost, read from the records: a request still open whose record is
 * ACTIVE or ERROR, a queued delete whose record is gone. Returns how many it booked.
 */
async function reconcile(
  book: RunBook,
  moves: MoveDriver,
  deleting: Map<string, CellRecord>,
  cells: ReadonlyMap<string, { store: RedisStore }>,
  /** A delete found done: its quota claim goes back. */
  onDeleted: (uuid: string) => void,
): Promise<number> {
  let n = 0;
  const open = new Map<string, string[]>();
  for (const [uuid, r] of book.requests)
    if (!r.ended && r.cell) open.set(r.cell, [...(open.get(r.cell) ?? []), uuid]);
  for (const [cell, uuids] of open) {
    const recs = await new InstanceStore(cells.get(cell)!.store).getMany(uuids).catch(() => []);
    recs.forEach((rec, i) => {
      const v = rec?.value;
      if (v?.status === 'ACTIVE' && v.placement) {
        book.onEvent(cell, { type: 'active', uuid: uuids[i]!, host: v.placement.host, attempts: 0 });
        n++;
      } else if (v?.status === 'ERROR') {
        book.onEvent(cell, { type: 'error', uuid: uuids[i]!, reason: v.fault?.message ?? 'ERROR' });
        n++;
      }
    });
  }
  for (const uuid of [...moves.inFlight]) {
    const cell = book.requests.get(uuid)?.cell;
    if (!cell) continue;
    const rec = await new InstanceStore(cells.get(cell)!.store).get(uuid).catch(() => null);
    if (rec !== null && moves.reconcile(uuid, rec?.value)) n++;
  }
  for (const [uuid, cell] of [...deleting]) {
    const rec = await new InstanceStore(cells.get(cell.name)!.store).get(uuid).catch(() => 'unknown');
    if (rec === undefined) {
      book.onEvent(cell.name, { type: 'deleted', uuid });
      deleting.delete(uuid);
      onDeleted(uuid);
      n++;
    }
  }
  return n;
}

/** The cell's build/operations queue as JetStream sees it (for a run that did not drain). */
async function queueState(bus: NatsBus, cell: string): Promise<string> {
  const { stream } = bus.names.workQueue(opsQueueName(cell));
  try {
    const info = await bus.jsm.consumers.info(stream, WORK_QUEUE_CONSUMER);
    return `queue ${opsQueueName(cell)}: ${info.num_pending} waiting, ${info.num_ack_pending} delivered and not acked, ${info.num_redelivered} redelivered`;
  } catch (err) {
    return `queue ${opsQueueName(cell)}: ${toCellplaneError(err).message}`;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function mb(n: number): number {
  return Math.round(n / 1024 / 1024);
}
