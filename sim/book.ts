/**
 * The run's books, shared by virtual (sim/run.ts) and real-time (sim/realtime/run.ts) runs:
 * every submitted request and what became of it, fed by the conductors' events; the metrics;
 * the decision log (what a virtual run's hash covers); per-cell VCPU/MEMORY_MB in use for the
 * utilisation series. And the submit path itself: the compute API's boot use case
 * (cells/servers/boot.ts: quota claim, cell choice with the disabled-cell retry, group pinning,
 * mapping, durable build job, record) over the simulator's ports (sim/servers.ts).
 */
import type { ConductorEvent } from '../cells/conductor/ports.ts';
import type { InstanceFlavor, InstanceGroup } from '../cells/instances.ts';
import { bootServers } from '../cells/servers/boot.ts';
import { toCellplaneError } from '../core/errors.ts';
import { stableUuid } from '../host-agent/drivers/fake-host.ts';
import { SimMetrics } from './metrics.ts';
import type { Flavor, Scenario } from './scenario-types.ts';
import type { SimServerPorts } from './servers.ts';
import type { BootRequest } from './workload.ts';

export interface BookedRequest {
  deleted: boolean;
  readonly lifetimeMs: number | null;
  readonly flavor: string;
  /** The cell the request was routed to (the last one, when a disabled cell made it choose again). */
  cell: string;
  /** Set when the request ended (ACTIVE, ERROR, refused). */
  ended?: 'active' | 'error' | 'refused';
  /** How far the submit path got, and when (ms since the run started): for explaining a loss. */
  stage?: string;
}

export class RunBook {
  readonly metrics = new SimMetrics();
  readonly requests = new Map<string, BookedRequest>();
  active = 0;
  failed = 0;
  ended = 0;
  decisionLines = 0;
  /** Per cell: VCPU / MEMORY_MB used by live instances. */
  readonly used = new Map<string, { VCPU: number; MEMORY_MB: number }>();
  readonly flavors: Map<string, InstanceFlavor>;

  constructor(
    s: Scenario,
    /** ms since the run started (simulated or wall). */
    private readonly rel: () => number,
    private readonly onDecision: (line: string) => void,
    /** An instance became ACTIVE with a planned lifetime: delete it after `lifetimeMs`. */
    private readonly scheduleDelete: (uuid: string, cell: string, lifetimeMs: number) => void,
  ) {
    this.flavors = new Map(Object.values(s.workload.flavors).map((f) => [f.name, instanceFlavor(f)]));
  }

  decide(line: string): void {
    this.decisionLines++;
    this.onDecision(line);
  }

  /** A conductor event of `cell`: outcomes, reschedules, conflicts, deletes. */
  onEvent(cell: string, e: ConductorEvent): void {
    const t = this.rel();
    switch (e.type) {
      case 'active': {
        const r = this.requests.get(e.uuid);
        if (!r || r.ended) return;
        r.ended = 'active';
        this.active++;
        this.ended++;
        this.decide(`${t} active ${e.uuid} ${e.host} attempts=${e.attempts}`);
        this.metrics.requestActive(e.uuid, t, { cell, host: e.host });
        this.use(cell, r.flavor, +1);
        if (r.lifetimeMs !== null) this.scheduleDelete(e.uuid, cell, r.lifetimeMs);
        break;
      }
      case 'error': {
        const r = this.requests.get(e.uuid);
        if (!r || r.ended) return;
        r.ended = 'error';
        this.failed++;
        this.ended++;
        this.decide(`${t} error ${e.uuid} ${e.reason}`);
        this.metrics.requestFailed(e.uuid, t, reasonClass(e.reason));
        break;
      }
      case 'placed':
        if (this.requests.has(e.uuid)) this.metrics.requestScheduled(e.uuid, t);
        break;
      case 'reschedule':
        this.decide(`${t} reschedule ${e.uuid} ${e.host}`);
        this.metrics.reschedule(e.uuid);
        break;
      case 'conflict':
        this.decide(`${t} conflict ${e.uuid} ${e.host}`);
        this.metrics.claimConflict(e.uuid);
        break;
      case 'deleted': {
        const r = this.requests.get(e.uuid);
        if (!r || r.deleted) return;
        r.deleted = true;
        this.decide(`${t} deleted ${e.uuid}`);
        this.metrics.deleted(e.uuid, t);
        this.use(cell, r.flavor, -1);
        break;
      }
      default:
        break;
    }
  }

  /** One utilisation point per cell: VCPU / MEMORY_MB used by live instances against capacity. */
  sampleUtilisation(t: number, capacities: ReadonlyMap<string, { VCPU: number; MEMORY_MB: number }>): void {
    for (const [name, u] of this.used) {
      const cap = capacities.get(name)!;
      this.metrics.sampleUtilisation(t, name, {
        VCPU: { used: u.VCPU, capacity: cap.VCPU },
        MEMORY_MB: { used: u.MEMORY_MB, capacity: cap.MEMORY_MB },
      });
    }
  }

  private use(cell: string, flavor: string, sign: 1 | -1): void {
    const u = this.used.get(cell);
    const f = this.flavors.get(flavor);
    if (!u || !f) return;
    u.VCPU += sign * f.vcpus;
    u.MEMORY_MB += sign * f.ram;
  }

  /** The submit path failed before the request was accepted (it never reached a conductor). */
  refused(uuid: string, t: number, flavor: string, err: unknown): { code: string; message: string } {
    let r = this.requests.get(uuid);
    if (!r) {
      r = { deleted: false, lifetimeMs: null, flavor, cell: '' };
      this.requests.set(uuid, r);
    }
    r.ended = 'refused';
    this.failed++;
    this.ended++;
    const e = toCellplaneError(err);
    this.decide(`${t} refused ${uuid} ${e.code}`);
    this.metrics.requestFailed(uuid, this.rel(), `refused: ${e.code}`);
    return { code: e.code, message: e.message };
  }
}

export interface SubmitContext {
  readonly ports: Pick<
    SimServerPorts,
    'cells' | 'mappings' | 'jobs' | 'records' | 'quota' | 'limits' | 'groups'
  >;
  readonly book: RunBook;
  readonly seed: number;
}

/**
 * One boot request through the API's use case (cells/servers/boot.ts, as POST /servers calls it).
 * Booked as submitted once routed to a cell (again, as rerouted, when that cell was disabled before
 * the mapping landed); rejects when the boot is refused (the caller books it as refused).
 */
export async function submitBoot(ctx: SubmitContext, r: BootRequest, uuid: string, t: number): Promise<void> {
  const { book } = ctx;
  const f = r.resources ? resourcesFlavor(r.flavor, r.resources) : book.flavors.get(r.flavor)!;
  if (r.resources) book.flavors.set(r.flavor, f);
  const group: InstanceGroup | null = r.group
    ? {
        uuid: stableUuid(`group:${ctx.seed}:${r.group.id}`),
        policy: r.group.policy,
        ...(r.group.policy === 'anti-affinity' ? { maxServerPerHost: r.group.maxServerPerHost } : {}),
      }
    : null;
  let booked: BookedRequest | undefined;
  await bootServers(ctx.ports, {
    requestId: `sim-${r.seq}`,
    userId: 'sim',
    projectId: r.project,
    name: `sim-${r.seq}`,
    flavor: f,
    imageRef: 'sim',
    availabilityZone: null,
    group,
    min: 1,
    uuids: [uuid],
    onStep: (_, s) => {
      if (s.step === 'routed') {
        if (!booked) {
          booked = { deleted: false, lifetimeMs: r.lifetimeMs, flavor: f.name, cell: s.cell.name };
          book.requests.set(uuid, booked);
          book.metrics.requestSubmitted(uuid, t, { flavor: f.name, cell: s.cell.name });
          book.decide(`${t} submit ${uuid} ${f.name} ${s.cell.name}${group ? ` group=${r.group!.id}` : ''}`);
        } else {
          booked.cell = s.cell.name;
          book.decide(`${t} reroute ${uuid} ${s.cell.name}`);
        }
      } else if (booked) {
        booked.stage =
          s.step === 'mapped'
            ? 'mapped'
            : s.recorded
              ? 'queued, recorded'
              : 'queued, record left to the conductor';
      }
    },
  });
}

export function instanceFlavor(f: Flavor): InstanceFlavor {
  return {
    id: f.name,
    name: f.name,
    vcpus: f.vcpus,
    ram: f.ramMb,
    disk: f.diskGb,
    ephemeral: 0,
    swap: 0,
    extraSpecs: f.extraSpecs,
  };
}

/** A trace row's resources as a flavor (VCPU, MEMORY_MB, DISK_GB; others as resources:X extra specs). */
function resourcesFlavor(name: string, r: Readonly<Record<string, number>>): InstanceFlavor {
  const extra: Record<string, string> = {};
  for (const [rc, n] of Object.entries(r))
    if (!['VCPU', 'MEMORY_MB', 'DISK_GB'].includes(rc)) extra[`resources:${rc}`] = String(n);
  return {
    id: name,
    name,
    vcpus: r.VCPU ?? 0,
    ram: r.MEMORY_MB ?? 0,
    disk: r.DISK_GB ?? 0,
    ephemeral: 0,
    swap: 0,
    extraSpecs: extra,
  };
}

/** The first words of an error reason: failures grouped by kind, not by host. */
export function reasonClass(reason: string): string {
  if (reason.startsWith('No valid host')) return 'NoValidHost';
  if (reason.startsWith('Exceeded maximum number of retries')) return 'RetriesExhausted';
  const m = /^spawn on \S+: (\w+)/.exec(reason);
  if (m) return `spawn ${m[1]}`;
  return reason.split(/[:.(]/)[0]!.slice(0, 60);
}
