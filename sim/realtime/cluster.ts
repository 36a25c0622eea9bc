/**
 * The processes of a real-time simulation: per cell two conductor replicas, two scheduler
 * replicas (each of every shard) and the agents processes of its hosts (sim/realtime/
 * role-process.ts), each reaching NATS, etcd and Redis through its cell's cuttable proxies
 * (sim/realtime/proxy.ts). Knows who leads what from the processes' own reports, kills a leader
 * and starts its replacement, cuts a cell off and reconnects it, and stops everything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ConductorEvent } from '../../cells/conductor/ports.ts';
import { DEFAULT_DEPLOY_CONFIG, type DeployConfig } from '../../deploy/config.ts';
import type { FakeHostSpec } from '../../host-agent/drivers/fake-host.ts';
import type { SimHost } from '../world.ts';
import { CuttableProxy, hostPort } from './proxy.ts';
import type { HostCommand, RoleSpec } from './role-process.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = join(ROOT, 'sim/realtime/role-process.ts');
const TSX = `file://${join(ROOT, 'node_modules/tsx/dist/loader.mjs')}`;

/** Hosts one agents process simulates at most. */
export const HOSTS_PER_AGENTS_PROCESS = 2_500;

export interface Servers {
  readonly nats: string;
  readonly etcd: string;
  readonly redis: string;
}

/** Knobs of the role processes (real time). */
export interface RoleKnobs {
  readonly leaseTtlMs: number;
  readonly ackWaitMs: number;
  readonly maxBuildAttempts: number;
  readonly spawnMs: { readonly minMs: number; readonly maxMs: number };
  readonly heartbeatIntervalMs: number;
  readonly serviceDownMs: number;
  readonly conductorInFlight: number;
}

export class RoleChild {
  /** What this process leads now (`conductor`, `sched-0`, …), from its own reports. */
  readonly leading = new Set<string>();
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  private readonly errTail: string[] = [];

  constructor(
    readonly name: string,
    readonly spec: RoleSpec,
    readonly proc: ChildProcess,
    onEvent: (e: ConductorEvent) => void,
    verbose: boolean,
  ) {
    this.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
    let isReady: () => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      isReady = resolve;
      void this.exited.then((code) =>
        reject(new Error(`${name} exited (${code}) before it was ready:\n${this.errTail.join('\n')}`)),
      );
    });
    this.ready.catch(() => {});
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let m: { t: string; e?: ConductorEvent; what?: string; type?: string };
      try {
        m = JSON.parse(line);
      } catch {
        return;
      }
      if (m.t === 'ready') isReady();
      else if (m.t === 'event' && m.e) onEvent(m.e);
      else if (m.t === 'role' && m.what) {
        if (m.type === 'serving') this.leading.add(m.what);
        else if (m.type === 'lost') this.leading.delete(m.what);
      }
    });
    createInterface({ input: proc.stderr! }).on('line', (l) => {
      this.errTail.push(l);
      if (this.errTail.length > 30) this.errTail.shift();
      if (verbose) process.stderr.write(`[${name}] ${l}\n`);
    });
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  send(c: HostCommand): void {
    if (this.alive) this.proc.stdin?.write(`${JSON.stringify(c)}\n`);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(signal);
  }

  /** The last lines it wrote to stderr (for error messages). */
  tail(): string {
    return this.errTail.join('\n');
  }
}

interface CellSetup {
  readonly name: string;
  readonly shardCount: number;
  readonly config: DeployConfig;
  readonly cellStoreUrl: string;
  readonly proxies: readonly CuttableProxy[];
  readonly seed: string;
}

export class SimProcesses {
  readonly children: RoleChild[] = [];
  private readonly cells = new Map<string, CellSetup>();
  private readonly agentsOf = new Map<string, RoleChild>();
  private generation = 0;

  constructor(
    private readonly o: {
      readonly servers: Servers;
      readonly prefix: string;
      readonly workDir: string;
      readonly knobs: RoleKnobs;
      readonly onEvent: (cell: string, e: ConductorEvent) => void;
      readonly verbose: boolean;
    },
  ) {}

  /** The cell's proxies, its two conductors, two schedulers and agents processes (not waited for). */
  async addCell(
    name: string,
    shardCount: number,
    hosts: readonly SimHost[],
    specs: readonly FakeHostSpec[],
    seed: string,
    spawnFailureRate: number,
  ): Promise<void> {
    const { servers } = this.o;
    const proxies = await Promise.all([
      CuttableProxy.start(`${name}-nats`, hostPort(servers.nats)),
      CuttableProxy.start(`${name}-etcd`, hostPort(servers.etcd)),
      CuttableProxy.start(`${name}-redis`, hostPort(servers.redis)),
    ]);
    const [nats, etcd, redis] = proxies as [CuttableProxy, CuttableProxy, CuttableProxy];
    const setup: CellSetup = {
      name,
      shardCount,
      proxies,
      seed,
      cellStoreUrl: redis.url(servers.redis),
      config: {
        ...DEFAULT_DEPLOY_CONFIG,
        nats: nats.url(servers.nats),
        etcd: etcd.url(servers.etcd),
        redis: redis.url(servers.redis),
        prefix: this.o.prefix,
        leaseTtlMs: this.o.knobs.leaseTtlMs,
        ackWaitMs: this.o.knobs.ackWaitMs,
        maxBuildAttempts: this.o.knobs.maxBuildAttempts,
        reconcileIntervalMs: DEFAULT_DEPLOY_CONFIG.reconcileIntervalMs,
        streamReplicas: 1, // one server per service (the run's own or the one given)
      },
    };
    this.cells.set(name, setup);
    for (let i = 0; i < 2; i++) this.start(setup, 'conductor', spawnFailureRate);
    for (let i = 0; i < 2; i++) this.start(setup, 'scheduler', spawnFailureRate);
    for (let k = 0; k * HOSTS_PER_AGENTS_PROCESS < specs.length; k++) {
      const part = specs.slice(k * HOSTS_PER_AGENTS_PROCESS, (k + 1) * HOSTS_PER_AGENTS_PROCESS);
      const file = join(this.o.workDir, `${name}-hosts-${k}.json`);
      writeFileSync(file, JSON.stringify(part));
      const child = this.start(setup, 'agents', spawnFailureRate, file, `${seed}:${k}`);
      for (const h of hosts.slice(k * HOSTS_PER_AGENTS_PROCESS, (k + 1) * HOSTS_PER_AGENTS_PROCESS))
        this.agentsOf.set(h.name, child);
    }
  }

  private start(
    c: CellSetup,
    role: RoleSpec['role'],
    spawnFailureRate: number,
    hostsFile?: string,
    seed = c.seed,
  ): RoleChild {
    const replicaId = `${c.name}-${role}-${this.generation++}`;
    const k = this.o.knobs;
    const spec: RoleSpec = {
      role,
      cell: c.name,
      replicaId,
      config: c.config,
      cellStoreUrl: c.cellStoreUrl,
      shardCount: c.shardCount,
      seed,
      ...(hostsFile ? { hostsFile } : {}),
      spawnMs: k.spawnMs,
      spawnFailureRate,
      heartbeatIntervalMs: k.heartbeatIntervalMs,
      serviceDownMs: k.serviceDownMs,
      conductorInFlight: k.conductorInFlight,
    };
    const file = join(this.o.workDir, `${replicaId}.json`);
    writeFileSync(file, JSON.stringify(spec));
    const proc = spawn(process.execPath, ['--enable-source-maps', '--import', TSX, ENTRY, file], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    const child = new RoleChild(replicaId, spec, proc, (e) => this.o.onEvent(c.name, e), this.o.verbose);
    this.children.push(child);
    return child;
  }

  /** Resolves when every process printed ready; rejects with the first one that died. */
  async allReady(): Promise<void> {
    await Promise.all(this.children.map((c) => c.ready));
  }

  /** Whether the cell has a serving conductor and every shard a serving leader. */
  serving(cell: string): boolean {
    const c = this.cells.get(cell)!;
    const live = this.children.filter((x) => x.alive && x.spec.cell === cell);
    if (!live.some((x) => x.leading.has('conductor'))) return false;
    for (let k = 0; k < c.shardCount; k++) if (!live.some((x) => x.leading.has(`sched-${k}`))) return false;
    return true;
  }

  /** SIGKILLs the process leading `role` in `cell` and starts a new standby in its place. */
  killLeader(role: 'conductor' | 'scheduler', cell: string): string | null {
    const victim = this.children.find(
      (x) =>
        x.alive &&
        x.spec.cell === cell &&
        x.spec.role === role &&
        (role === 'conductor'
          ? x.leading.has('conductor')
          : [...x.leading].some((w) => w.startsWith('sched-'))),
    );
    if (!victim) return null;
    const led = [...victim.leading].join(', ');
    victim.kill('SIGKILL');
    const fresh = this.start(this.cells.get(cell)!, role, victim.spec.spawnFailureRate);
    return `${victim.name} (pid ${victim.proc.pid}, leading ${led}) SIGKILLed; ${fresh.name} starts as the new standby`;
  }

  /** Sends a host fault command to the agents processes of those hosts. */
  hosts(cmd: HostCommand['cmd'], hosts: readonly SimHost[], probability?: number): void {
    const by = new Map<RoleChild, string[]>();
    for (const h of hosts) {
      const child = this.agentsOf.get(h.name);
      if (!child) continue;
      const list = by.get(child) ?? [];
      list.push(h.name);
      by.set(child, list);
    }
    for (const [child, names] of by)
      child.send({ cmd, hosts: names, ...(probability === undefined ? {} : { probability }) });
  }

  partition(cell: string, cut: boolean): void {
    for (const p of this.cells.get(cell)?.proxies ?? []) {
      if (cut) p.cut();
      else p.heal();
    }
  }

  /** Reconnects every cell (a partition still open when the run ends). */
  healAll(): void {
    for (const s of this.cells.values()) for (const p of s.proxies) p.heal();
  }

  /** RSS of every live process (bytes), read from /proc. */
  rss(): number {
    let sum = 0;
    for (const c of this.children) {
      if (!c.alive || !c.proc.pid) continue;
      sum += rssOf(c.proc.pid);
    }
    return sum;
  }

  /** SIGTERM everyone, SIGKILL whoever is still there after `graceMs`; closes the proxies. */
  async stop(graceMs = 10_000): Promise<void> {
    for (const c of this.children) c.kill('SIGTERM');
    await Promise.race([
      Promise.all(this.children.map((c) => c.exited)),
      new Promise((r) => setTimeout(r, graceMs)),
    ]);
    for (const c of this.children) c.kill('SIGKILL');
    await Promise.all(this.children.map((c) => c.exited));
    for (const s of this.cells.values()) for (const p of s.proxies) await p.close();
  }
}

/** Resident set size of a process in bytes (0 when it is gone). */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
