/**
 * The workload of a scenario as a stream of boot requests in simulated time: each arrival
 * process (constant, Poisson, burst, trace) is a chain of timers on the VirtualClock — one
 * pending timer per process, never one per request — drawing flavors from the mix, lifetimes and
 * server-group membership from the seeded rng.
 */
import type { Clock } from '../core/ports/clock.ts';
import { makeRng, type Rng } from '../core/rng.ts';
import type { Arrival, GroupPolicy, Lifetime, Scenario } from './scenario-types.ts';

export interface BootRequest {
  /** Sequence number of the request in the run (0-based, in submit order). */
  readonly seq: number;
  readonly flavor: string;
  /** Flavor fields when the request names resources instead (trace rows). */
  readonly resources: Readonly<Record<string, number>> | null;
  /** ms the instance lives once ACTIVE; null: until the end of the run. */
  readonly lifetimeMs: number | null;
  readonly group: {
    readonly id: string;
    readonly policy: GroupPolicy;
    readonly maxServerPerHost: number;
  } | null;
  readonly project: string;
}

/** A weighted pick: weights need not be normalised. */
export class WeightedPick {
  private readonly names: string[];
  private readonly cumulative: number[];
  constructor(weights: Readonly<Record<string, number>>) {
    this.names = Object.keys(weights).sort();
    let sum = 0;
    this.cumulative = this.names.map((n) => (sum += weights[n]!));
  }
  pick(rng: Rng): string {
    const total = this.cumulative[this.cumulative.length - 1]!;
    const r = rng.next() * total;
    const i = this.cumulative.findIndex((c) => r < c);
    return this.names[i < 0 ? this.names.length - 1 : i]!;
  }
}

export function drawLifetime(l: Lifetime, rng: Rng): number | null {
  switch (l.kind) {
    case 'forever':
      return null;
    case 'fixed':
      return l.ms;
    case 'exponential':
      return Math.max(1, Math.round(-Math.log(1 - rng.next()) * l.meanMs));
    case 'empirical': {
      const pick = new WeightedPick(Object.fromEntries(l.values.map((v, i) => [String(i), v.weight])));
      return l.values[Number(pick.pick(rng))]!.ms;
    }
  }
}

/**
 * Starts every arrival process; `submit` is called at each request's simulated time (relative to
 * `startMs`, the clock's time at run start). Returns a stop function and the count submitted so far.
 */
export function startWorkload(
  s: Scenario,
  clock: Clock,
  startMs: number,
  submit: (r: BootRequest) => void,
): { stop(): void; readonly submitted: number } {
  const rng = makeRng(`workload:${s.run.seed}`);
  const defaultMix = new WeightedPick(s.workload.mix);
  let seq = 0;
  let stopped = false;
  const timers = new Set<ReturnType<Clock['setTimeout']>>();
  const at = (relMs: number, fn: () => void) => {
    const h = clock.setTimeout(
      () => {
        timers.delete(h);
        if (!stopped) fn();
      },
      // Whole simulated milliseconds: times are stamped into records as integers.
      Math.max(0, Math.round(startMs + relMs - clock.now())),
    );
    timers.add(h);
  };
  // Server groups: requests join the current instance of a spec until it has `size` members.
  const groups = s.workload.serverGroups.map((g) => ({ spec: g, index: 0, members: 0 }));
  const groupFor = (): BootRequest['group'] => {
    let r = rng.next();
    for (const g of groups) {
      if (r < g.spec.fraction) {
        if (g.members >= g.spec.size) {
          g.index++;
          g.members = 0;
        }
        g.members++;
        return {
          id: `${g.spec.name}-${g.index}`,
          policy: g.spec.policy,
          maxServerPerHost: g.spec.maxServerPerHost,
        };
      }
      r -= g.spec.fraction;
    }
    return null;
  };
  const one = (a: Arrival, mix: WeightedPick) => {
    const lifetime = drawLifetime(a.lifetime ?? s.workload.lifetime, rng);
    submit({
      seq: seq++,
      flavor: mix.pick(rng),
      resources: null,
      lifetimeMs: lifetime,
      group: groupFor(),
      project: 'sim',
    });
  };
  for (const a of s.workload.arrivals) {
    const mix = a.mix ? new WeightedPick(a.mix) : defaultMix;
    const end = Math.min(a.endMs, s.run.durationMs);
    switch (a.kind) {
      case 'constant': {
        const gap = 1000 / a.ratePerSecond;
        const step = (k: number) => {
          const t = a.startMs + k * gap;
          if (t >= end) return;
          at(t, () => {
            one(a, mix);
            step(k + 1);
          });
        };
        step(0);
        break;
      }
      case 'poisson': {
        const step = (t: number) => {
          const next = t + -Math.log(1 - rng.next()) * (1000 / a.ratePerSecond);
          if (next >= end) return;
          at(next, () => {
            one(a, mix);
            step(next);
          });
        };
        step(a.startMs);
        break;
      }
      case 'burst': {
        // Spread evenly over the window, in slices of simulated milliseconds (one timer each).
        const slices = Math.max(1, Math.min(a.count, Math.ceil(a.windowMs)));
        let sent = 0;
        const step = (k: number) => {
          if (k >= slices) return;
          at(a.startMs + (a.windowMs * k) / slices, () => {
            const upTo = Math.round((a.count * (k + 1)) / slices);
            for (; sent < upTo; sent++) one(a, mix);
            step(k + 1);
          });
        };
        step(0);
        break;
      }
      case 'trace': {
        const rows = [...a.records].sort((x, y) => x.submitMs - y.submitMs || x.line - y.line);
        const step = (i: number) => {
          const row = rows[i];
          if (!row || row.submitMs >= end) return;
          at(row.submitMs, () => {
            submit({
              seq: seq++,
              flavor: row.flavor ?? `trace-${row.line}`,
              resources: row.resources,
              lifetimeMs: row.durationMs,
              group: row.group ? { id: row.group.id, policy: row.group.policy, maxServerPerHost: 1 } : null,
              project: row.project ?? 'sim',
            });
            step(i + 1);
          });
        };
        step(0);
        break;
      }
    }
  }
  return {
    stop() {
      stopped = true;
      for (const h of timers) clock.clearTimeout(h);
      timers.clear();
    },
    get submitted() {
      return seq;
    },
  };
}
