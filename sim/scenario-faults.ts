/**
 * The `faults:` section: what breaks, when (`at`, `every`, or a Poisson `rate_per_*`) and where.
 * Only local checks happen here; whether named cells/profiles exist, counts fit the fleet and
 * times fit the run is checked on the parsed scenario (scenario-checks.ts), so applyOverrides
 * re-checks the same rules.
 */

import { NAME_RE } from './scenario-fleet.ts';
import type { Cur, Fields, Reader } from './scenario-reader.ts';
import type { FaultKind, FaultSpec, FaultTarget, FaultTiming, HostCount, RunMode } from './scenario-types.ts';
import { describeValue } from './scenario-units.ts';
import { parseRate, RATE_KEYS } from './scenario-workload.ts';

const TIMING = ['at', 'every', ...RATE_KEYS, 'start', 'end'];
const TARGET = ['cell', 'profile'];
const HOSTS = ['count', 'fraction'];
/** Keys each kind takes besides `kind`. */
export const FAULT_KEYS: Readonly<Record<FaultKind, readonly string[]>> = {
  host_crash: [...TIMING, ...TARGET, ...HOSTS, 'recover_after'],
  heartbeat_loss: [...TIMING, ...TARGET, ...HOSTS, 'duration'],
  spawn_failure: [...TARGET, 'probability', 'start', 'end'],
  cell_partition: [...TIMING, 'cell', 'duration'],
  scheduler_leader_loss: [...TIMING, 'cell'],
  conductor_leader_loss: [...TIMING, 'cell'],
  nats_restart: [...TIMING, 'downtime'],
  redis_restart: [...TIMING, 'cell', 'downtime'],
  bmc_power_fault: [...TIMING, ...TARGET, ...HOSTS, 'fault', 'duration'],
};
export const REAL_ONLY: readonly FaultKind[] = ['nats_restart', 'redis_restart'];
export const DEFAULT_DOWNTIME_MS = 5_000;
const BMC_FAULTS = ['power_on_fails', 'power_off_fails', 'unresponsive'] as const;

export function parseFaults(r: Reader, cur: Cur, durationMs: number, mode: RunMode): FaultSpec[] {
  const out: FaultSpec[] = [];
  if (r.value(cur) === null) return out; // `faults:` with every entry commented out
  for (const it of r.list(cur) ?? []) {
    const f = parseFault(r, it, durationMs, mode);
    if (f !== undefined) out.push(f);
  }
  return out;
}

function parseFault(r: Reader, cur: Cur, durationMs: number, mode: RunMode): FaultSpec | undefined {
  if (!r.isMap(cur)) return r.problem(cur, `must be a map with a kind, got ${describeValue(r.value(cur))}`);
  const kinds = Object.keys(FAULT_KEYS) as FaultKind[];
  const kc = r.peek(cur, 'kind');
  if (kc === undefined) return r.problem(cur, `missing required key "kind" (one of ${kinds.join(', ')})`);
  const kind = r.oneOfValues(kc, kinds);
  if (kind === undefined) return undefined;
  if (REAL_ONLY.includes(kind) && mode !== 'real') {
    r.problem(
      kc,
      `${kind} is only valid with run.mode: real (virtual mode runs the embedded bus and store: there is no ${kind === 'nats_restart' ? 'NATS' : 'Redis'} server to restart)`,
    );
  }
  const f = r.map(cur, ['kind', ...FAULT_KEYS[kind]], (key) => {
    const users = kinds.filter((k) => FAULT_KEYS[k].includes(key));
    return users.length > 0 ? `not used by kind ${kind} (only by ${users.join(', ')})` : undefined;
  });
  if (f === undefined) return undefined;
  const opt = (key: string) => {
    const c = f.get(key);
    return c === undefined ? null : r.str(c, NAME_RE);
  };
  const target = (): FaultTarget | undefined => {
    const cell = opt('cell');
    const profile = opt('profile');
    return cell === undefined || profile === undefined ? undefined : { cell, profile };
  };
  const dur = (key: string, dflt?: number) => {
    const c = f.get(key);
    if (c === undefined && dflt !== undefined) return dflt;
    return r.durationMs(c ?? f.req(key), true);
  };
  if (kind === 'spawn_failure') {
    const t = target();
    const probability = r.num(f.req('probability', ' (chance a spawn fails, 0..1)'), 0, 1);
    const startMs = f.has('start') ? r.durationMs(f.get('start')!) : 0;
    const endMs = f.has('end') ? r.durationMs(f.get('end')!) : durationMs;
    if (t === undefined || probability === undefined || startMs === undefined || endMs === undefined)
      return undefined;
    return { kind, target: t, probability, startMs, endMs };
  }
  const timing = parseTiming(r, f, cur, durationMs);
  switch (kind) {
    case 'host_crash': {
      const t = target();
      const hosts = parseHostCount(r, f);
      const rc = f.get('recover_after');
      const recoverAfterMs = rc === undefined ? null : r.durationMs(rc, true);
      if (!timing || !t || !hosts || recoverAfterMs === undefined) return undefined;
      return { kind, timing, target: t, hosts, recoverAfterMs };
    }
    case 'heartbeat_loss': {
      const t = target();
      const hosts = parseHostCount(r, f);
      const durationMs2 = dur('duration');
      if (!timing || !t || !hosts || durationMs2 === undefined) return undefined;
      return { kind, timing, target: t, hosts, durationMs: durationMs2 };
    }
    case 'cell_partition': {
      const cell = r.str(f.req('cell'), NAME_RE);
      const d = dur('duration');
      if (!timing || cell === undefined || d === undefined) return undefined;
      return { kind, timing, cell, durationMs: d };
    }
    case 'scheduler_leader_loss':
    case 'conductor_leader_loss': {
      const cell = opt('cell');
      if (!timing || cell === undefined) return undefined;
      return { kind, timing, cell };
    }
    case 'nats_restart': {
      const d = dur('downtime', DEFAULT_DOWNTIME_MS);
      return !timing || d === undefined ? undefined : { kind, timing, downtimeMs: d };
    }
    case 'redis_restart': {
      const cell = opt('cell');
      const d = dur('downtime', DEFAULT_DOWNTIME_MS);
      return !timing || cell === undefined || d === undefined
        ? undefined
        : { kind, timing, cell, downtimeMs: d };
    }
    case 'bmc_power_fault': {
      const t = target();
      const hosts = parseHostCount(r, f);
      const fault = r.oneOfValues(f.req('fault'), BMC_FAULTS);
      const d = dur('duration');
      if (!timing || !t || !hosts || fault === undefined || d === undefined) return undefined;
      return { kind, timing, target: t, hosts, fault, durationMs: d };
    }
  }
}

/** Exactly one of at / every / rate_per_*; start and end bound the repeating forms. */
function parseTiming(r: Reader, f: Fields, cur: Cur, durationMs: number): FaultTiming | undefined {
  const key = f.oneOf(['at', 'every', ...RATE_KEYS], true);
  if (key === undefined) return undefined;
  if (key === 'at') {
    for (const k of ['start', 'end'])
      if (f.has(k)) r.problem(f.get(k)!, `not used with "at" (only with every or rate_per_*)`);
    const atMs = r.durationMs(f.get('at')!);
    return atMs === undefined ? undefined : { kind: 'at', atMs };
  }
  const startMs = f.has('start') ? r.durationMs(f.get('start')!) : 0;
  const endMs = f.has('end') ? r.durationMs(f.get('end')!) : durationMs;
  if (startMs === undefined || endMs === undefined) return undefined;
  if (endMs <= startMs) return r.problem(f.get('end') ?? cur, 'end must be after start');
  if (key === 'every') {
    const everyMs = r.durationMs(f.get('every')!, true);
    return everyMs === undefined ? undefined : { kind: 'every', everyMs, startMs, endMs };
  }
  const ratePerSecond = parseRate(r, f, true);
  return ratePerSecond === undefined ? undefined : { kind: 'poisson', ratePerSecond, startMs, endMs };
}

function parseHostCount(r: Reader, f: Fields): HostCount | undefined {
  const key = f.oneOf(HOSTS, false);
  if (key === undefined) return { kind: 'count', count: 1 };
  if (key === 'count') {
    const count = r.int(f.get('count')!, 1);
    return count === undefined ? undefined : { kind: 'count', count };
  }
  const fraction = r.num(f.get('fraction')!, 0, 1, true);
  return fraction === undefined ? undefined : { kind: 'fraction', fraction };
}
