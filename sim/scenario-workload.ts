/**
 * The `workload:` section: flavors, the flavor mix, arrival processes (constant, Poisson, burst,
 * trace replay), lifetimes, server groups and resize/migration operations.
 */

import { checkExtraSpec } from '../core/model/extra-specs.ts';
import {
  isCustomResourceClassName,
  isStandardResourceClass,
  STANDARD_RESOURCE_CLASSES,
} from '../core/model/resource-classes.ts';
import { isCustomTraitName, isStandardTrait, STANDARD_TRAIT_NAMES } from '../core/model/traits.ts';
import { NAME_RE, sizeKey } from './scenario-fleet.ts';
import type { Cur, Fields, Reader } from './scenario-reader.ts';
import type {
  Arrival,
  Flavor,
  GroupPolicy,
  Lifetime,
  OperationRate,
  OperationsSpec,
  ServerGroupSpec,
  WorkloadSpec,
} from './scenario-types.ts';
import { describeValue, didYouMean } from './scenario-units.ts';

export const GROUP_POLICIES: readonly GroupPolicy[] = [
  'affinity',
  'anti-affinity',
  'soft-affinity',
  'soft-anti-affinity',
];
export const RATE_KEYS = ['rate_per_second', 'rate_per_minute', 'rate_per_hour'] as const;
const RATE_DIVISOR: Readonly<Record<string, number>> = {
  rate_per_second: 1,
  rate_per_minute: 60,
  rate_per_hour: 3600,
};
/** Most requests one burst may make (a guard against a typo with extra zeros). */
export const MAX_BURST = 100_000_000;

/** Reads a trace file; supplied by the parser (resolves the path, parses the CSV). */
export type TraceLoader = (
  arrivalPath: string,
  fileCur: Cur,
  file: string,
  opts: { startMs: number; timeScale: number; defaultGroupPolicy: GroupPolicy; flavors: readonly string[] },
) => Pick<Extract<Arrival, { kind: 'trace' }>, 'resolvedPath' | 'records'> | undefined;

/** Events per second from exactly one of rate_per_second / _minute / _hour. */
export function parseRate(r: Reader, f: Fields, required: boolean): number | undefined {
  const key = f.oneOf(RATE_KEYS, required);
  if (key === undefined) return undefined;
  const v = r.num(f.get(key)!, 0, Number.POSITIVE_INFINITY, true);
  return v === undefined ? undefined : v / RATE_DIVISOR[key]!;
}

export function parseWorkload(
  r: Reader,
  cur: Cur,
  durationMs: number,
  loadTrace: TraceLoader,
): WorkloadSpec | undefined {
  const f = r.map(cur, ['flavors', 'mix', 'arrivals', 'lifetime', 'server_groups', 'operations']);
  if (f === undefined) return undefined;
  const flavors: Record<string, Flavor> = {};
  const fc = f.req('flavors');
  const flavorPairs = (fc && r.pairs(fc)) ?? [];
  if (fc !== undefined && flavorPairs.length === 0 && r.isMap(fc)) r.problem(fc, 'needs at least one flavor');
  for (const p of flavorPairs) {
    if (r.str({ node: p.keyNode, path: p.value.path, at: null }, NAME_RE) === undefined) continue;
    const fl = parseFlavor(r, p.value, p.key);
    if (fl !== undefined) flavors[p.key] = fl;
  }
  const names = flavorPairs.map((p) => p.key);
  const mc = f.get('mix');
  const mix = mc === undefined ? Object.fromEntries(names.map((n) => [n, 1])) : parseMix(r, mc, names);
  const lc = f.get('lifetime');
  const lifetime = lc === undefined ? ({ kind: 'forever' } as const) : parseLifetime(r, lc);
  const ac = f.req('arrivals');
  const arrivals: Arrival[] = [];
  for (const it of (ac && r.list(ac)) ?? []) {
    const a = parseArrival(r, it, names, durationMs, loadTrace);
    if (a !== undefined) arrivals.push(a);
  }
  if (ac !== undefined && r.isList(ac) && r.list(ac)!.length === 0)
    r.problem(ac, 'needs at least one arrival process');
  const gc = f.get('server_groups');
  const serverGroups = gc === undefined || r.value(gc) === null ? [] : parseGroups(r, gc);
  const oc = f.get('operations');
  const operations =
    oc === undefined ? { resize: null, liveMigrate: null, coldMigrate: null } : parseOperations(r, oc, names);
  if (mix === undefined || lifetime === undefined || operations === undefined) return undefined;
  return { flavors, mix, arrivals, lifetime, serverGroups, operations };
}

function parseFlavor(r: Reader, cur: Cur, name: string): Flavor | undefined {
  const f = r.map(cur, ['vcpus', 'ram', 'ram_mb', 'disk', 'disk_gb', 'extra_specs']);
  if (f === undefined) return undefined;
  const vcpus = r.int(f.req('vcpus'), 1, 100_000);
  const ramMb = sizeKey(r, f, 'ram', 'MB', true);
  const diskGb = sizeKey(r, f, 'disk', 'GB', false);
  const ec = f.get('extra_specs');
  const extraSpecs = ec === undefined ? {} : parseExtraSpecs(r, ec);
  if (vcpus === undefined || ramMb === undefined || diskGb === undefined || extraSpecs === undefined)
    return undefined;
  if (ramMb === 0) return r.problem(f.get('ram') ?? f.get('ram_mb')!, 'must be > 0');
  return { name, vcpus, ramMb, diskGb, extraSpecs };
}

/**
 * Nova extra specs, values as strings: only specs the scheduler acts on (core/model/extra-specs.ts),
 * with a nearest-name hint for a mistyped resource class or trait.
 */
function parseExtraSpecs(r: Reader, cur: Cur): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const p of r.pairs(cur) ?? []) {
    const colon = p.key.indexOf(':');
    const scope = colon < 0 ? '' : p.key.slice(0, colon);
    const name = p.key.slice(colon + 1);
    const v = r.value(p.value);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      r.problem(p.value, `must be a plain value, got ${describeValue(v)}`);
      continue;
    }
    const value = String(v);
    const verdict = checkExtraSpec(p.key, value);
    if (
      verdict.kind === 'notHonoured' ||
      (verdict.kind === 'invalid' && scope !== 'resources' && scope !== 'trait')
    ) {
      r.problemAt(p.keyNode, p.value.path, verdict.reason);
      continue;
    }
    if (scope === 'resources') {
      if (!isStandardResourceClass(name) && !isCustomResourceClassName(name)) {
        r.problemAt(
          p.keyNode,
          p.value.path,
          `"${name}" is neither a standard resource class nor CUSTOM_*${didYouMean(name, STANDARD_RESOURCE_CLASSES)}`,
        );
      } else if (!/^\d+$/.test(value))
        r.problem(p.value, `must be a non-negative integer, got ${describeValue(v)}`);
      else out[p.key] = value;
    } else if (scope === 'trait') {
      if (!isStandardTrait(name) && !isCustomTraitName(name)) {
        r.problemAt(
          p.keyNode,
          p.value.path,
          `"${name}" is neither a standard trait nor CUSTOM_*${didYouMean(name, STANDARD_TRAIT_NAMES)}`,
        );
      } else if (value !== 'required' && value !== 'forbidden') {
        r.problem(p.value, `must be required or forbidden, got ${describeValue(v)}`);
      } else out[p.key] = value;
    } else {
      out[p.key] = value;
    }
  }
  return out;
}

/** Weights by flavor name; every name must be a defined flavor. */
export function parseMix(
  r: Reader,
  cur: Cur,
  flavors: readonly string[],
): Record<string, number> | undefined {
  const ps = r.pairs(cur);
  if (ps === undefined) return undefined;
  if (ps.length === 0) return r.problem(cur, 'needs at least one flavor with a weight');
  const out: Record<string, number> = {};
  for (const p of ps) {
    if (!flavors.includes(p.key)) {
      r.problemAt(
        p.keyNode,
        p.value.path,
        `names no flavor of workload.flavors${didYouMean(p.key, flavors)}`,
      );
      continue;
    }
    const w = r.num(p.value, 0, Number.POSITIVE_INFINITY, true);
    if (w !== undefined) out[p.key] = w;
  }
  return out;
}

export function parseLifetime(r: Reader, cur: Cur): Lifetime | undefined {
  if (r.value(cur) === 'forever') return { kind: 'forever' };
  if (!r.isMap(cur)) {
    const ms = r.durationMs(cur, true);
    return ms === undefined ? undefined : { kind: 'fixed', ms };
  }
  const f = r.map(cur, ['kind', 'value', 'mean', 'values']);
  const kc = f?.req('kind');
  const kind = kc && r.oneOfValues(kc, ['forever', 'fixed', 'exponential', 'empirical'] as const);
  if (f === undefined || kind === undefined) return undefined;
  const takes: Record<string, readonly string[]> = {
    forever: [],
    fixed: ['value'],
    exponential: ['mean'],
    empirical: ['values'],
  };
  const allowed = takes[kind]!;
  for (const k of ['value', 'mean', 'values']) {
    if (f.has(k) && !allowed.includes(k))
      r.problem(f.get(k)!, `not used by kind ${kind}${allowed.length ? ` (it takes ${allowed[0]})` : ''}`);
  }
  if (kind === 'forever') return { kind };
  if (kind === 'fixed') {
    const ms = r.durationMs(f.req('value'), true);
    return ms === undefined ? undefined : { kind, ms };
  }
  if (kind === 'exponential') {
    const meanMs = r.durationMs(f.req('mean'), true);
    return meanMs === undefined ? undefined : { kind, meanMs };
  }
  const vc = f.req('values', ' (a list of [duration, weight])');
  const items = vc && r.list(vc);
  if (vc !== undefined && items?.length === 0) return r.problem(vc, 'needs at least one [duration, weight]');
  const values: { ms: number; weight: number }[] = [];
  for (const it of items ?? []) {
    const pair = r.isList(it) ? r.list(it)! : undefined;
    if (pair === undefined || pair.length !== 2) {
      r.problem(it, `must be [duration, weight], like [10m, 3], got ${describeValue(r.value(it))}`);
      continue;
    }
    const ms = r.durationMs(pair[0]!);
    const weight = r.num(pair[1]!, 0, Number.POSITIVE_INFINITY, true);
    if (ms !== undefined && weight !== undefined) values.push({ ms, weight });
  }
  return items === undefined || values.length !== items.length ? undefined : { kind, values };
}

const ARRIVAL_KEYS: Readonly<Record<Arrival['kind'], readonly string[]>> = {
  constant: [...RATE_KEYS, 'start', 'end'],
  poisson: [...RATE_KEYS, 'start', 'end'],
  burst: ['count', 'at', 'window'],
  trace: ['file', 'start', 'time_scale', 'group_policy'],
};

function parseArrival(
  r: Reader,
  cur: Cur,
  flavors: readonly string[],
  durationMs: number,
  loadTrace: TraceLoader,
): Arrival | undefined {
  if (!r.isMap(cur)) return r.problem(cur, `must be a map with a kind, got ${describeValue(r.value(cur))}`);
  const kinds = Object.keys(ARRIVAL_KEYS) as Arrival['kind'][];
  const kc = r.peek(cur, 'kind');
  if (kc === undefined) return r.problem(cur, `missing required key "kind" (one of ${kinds.join(', ')})`);
  const kind = r.oneOfValues(kc, kinds);
  if (kind === undefined) return undefined;
  const allowed = ['kind', ...ARRIVAL_KEYS[kind], 'mix', 'lifetime'];
  const f = r.map(cur, allowed, (key) => {
    const users = kinds.filter((k) => ARRIVAL_KEYS[k].includes(key));
    return users.length > 0 ? `not used by kind ${kind} (only by ${users.join(', ')})` : undefined;
  });
  if (f === undefined) return undefined;
  const mc = f.get('mix');
  const mix = mc === undefined ? null : (parseMix(r, mc, flavors) ?? null);
  const lc = f.get('lifetime');
  const lifetime = lc === undefined ? null : (parseLifetime(r, lc) ?? null);
  const time = (key: string, dflt: number) => {
    const c = f.get(key);
    return c === undefined ? dflt : r.durationMs(c);
  };
  if (kind === 'constant' || kind === 'poisson') {
    const ratePerSecond = parseRate(r, f, true);
    const startMs = time('start', 0);
    const endMs = time('end', durationMs);
    if (ratePerSecond === undefined || startMs === undefined || endMs === undefined) return undefined;
    if (endMs <= startMs)
      return r.problem(f.get('end') ?? cur, `end (${endMs} ms) must be after start (${startMs} ms)`);
    return { kind, ratePerSecond, startMs, endMs, mix, lifetime };
  }
  if (kind === 'burst') {
    const count = r.int(f.req('count'), 1, MAX_BURST);
    const startMs = r.durationMs(f.req('at', ' (when the burst starts, like 60s)'));
    const windowMs = time('window', 0);
    if (count === undefined || startMs === undefined || windowMs === undefined) return undefined;
    return { kind, count, startMs, windowMs, endMs: startMs + windowMs, mix, lifetime };
  }
  const file = r.str(f.req('file', ' (a CSV path relative to the scenario file)'));
  const startMs = time('start', 0);
  const sc = f.get('time_scale');
  const timeScale = sc === undefined ? 1 : r.num(sc, 0, 1_000_000, true);
  const gp = f.get('group_policy');
  const defaultGroupPolicy = gp === undefined ? 'anti-affinity' : r.oneOfValues(gp, GROUP_POLICIES);
  if (
    file === undefined ||
    startMs === undefined ||
    timeScale === undefined ||
    defaultGroupPolicy === undefined
  )
    return undefined;
  const loaded = loadTrace(cur.path, f.get('file')!, file, {
    startMs,
    timeScale,
    defaultGroupPolicy,
    flavors,
  });
  if (loaded === undefined) return undefined;
  return { kind, file, ...loaded, startMs, endMs: durationMs, timeScale, defaultGroupPolicy, mix, lifetime };
}

function parseGroups(r: Reader, cur: Cur): ServerGroupSpec[] {
  const out: ServerGroupSpec[] = [];
  for (const [i, it] of (r.list(cur) ?? []).entries()) {
    const f = r.map(it, ['name', 'policy', 'size', 'fraction', 'max_server_per_host']);
    if (f === undefined) continue;
    const nc = f.get('name');
    const name = nc === undefined ? `group-${i + 1}` : r.str(nc, NAME_RE);
    const policy = r.oneOfValues(f.req('policy'), GROUP_POLICIES);
    const size = r.int(f.req('size', ' (members per group)'), 1, 10_000);
    const fraction = r.num(f.req('fraction', ' (share of requests, 0..1)'), 0, 1);
    const mc = f.get('max_server_per_host');
    const max = mc === undefined ? 1 : r.int(mc, 1, 10_000);
    if (mc !== undefined && policy !== undefined && policy !== 'anti-affinity') {
      r.problem(mc, 'max_server_per_host applies to policy anti-affinity only');
    }
    if (
      name === undefined ||
      policy === undefined ||
      size === undefined ||
      fraction === undefined ||
      max === undefined
    ) {
      continue;
    }
    if (out.some((g) => g.name === name)) {
      r.problem(nc ?? it, `server group name "${name}" is used twice`);
      continue;
    }
    out.push({ name, policy, size, fraction, maxServerPerHost: max });
  }
  return out;
}

function parseOperations(r: Reader, cur: Cur, flavors: readonly string[]): OperationsSpec | undefined {
  const f = r.map(cur, ['resize', 'live_migrate', 'cold_migrate']);
  if (f === undefined) return undefined;
  const one = (key: string): OperationRate | null => {
    const c = f.get(key);
    if (c === undefined) return null;
    const of = r.map(c, [...RATE_KEYS, 'fraction', ...(key === 'resize' ? ['to'] : [])]);
    if (of === undefined) return null;
    const tc = of.get('to');
    const toMix = tc === undefined ? null : (parseMix(r, tc, flavors) ?? null);
    const which = of.oneOf([...RATE_KEYS, 'fraction'], true);
    if (which === 'fraction') {
      const fraction = r.num(of.get('fraction')!, 0, 1);
      return fraction === undefined ? null : { kind: 'fraction', fraction, toMix };
    }
    const ratePerSecond = which === undefined ? undefined : parseRate(r, of, true);
    return ratePerSecond === undefined ? null : { kind: 'rate', ratePerSecond, toMix };
  };
  return { resize: one('resize'), liveMigrate: one('live_migrate'), coldMigrate: one('cold_migrate') };
}
