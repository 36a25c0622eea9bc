/**
 * The `fleet:` section: cells, host profiles (sizes, ratios, traits, devices, bare metal), how
 * profiles spread over cells and per-cell overrides. Returns the FleetSpec with hosts resolved.
 */

import { isCustomResourceClassName } from '../core/model/resource-classes.ts';
import { isCustomTraitName, isStandardTrait, STANDARD_TRAIT_NAMES } from '../core/model/traits.ts';
import { resolveCells } from './scenario-layout.ts';
import type { Cur, Fields, Reader } from './scenario-reader.ts';
import type {
  AllocationRatios,
  BaremetalSpec,
  CellOverride,
  Devices,
  FleetSpec,
  FpgaSpec,
  GpuSpec,
  HostProfile,
  ProfileSpread,
  SriovPf,
} from './scenario-types.ts';
import { didYouMean } from './scenario-units.ts';

export const NAME_RE = { re: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, what: 'a name of letters, digits, _ . -' };
export const DEFAULT_RATIOS: AllocationRatios = { vcpu: 4.0, ram: 1.0, disk: 1.0 };
export const DEFAULT_AZ = 'nova';
/** Most cells or hosts per profile a file may describe (a guard against typos like 1e9). */
export const MAX_CELLS = 10_000;
export const MAX_HOSTS = 10_000_000;

/** A standard (os-traits) or CUSTOM_* trait name; reports a near standard name. */
export function traitName(r: Reader, c: Cur): string | undefined {
  const s = r.str(c);
  if (s === undefined) return undefined;
  if (isStandardTrait(s) || isCustomTraitName(s)) return s;
  return r.problem(
    c,
    `"${s}" is neither a standard trait nor CUSTOM_[A-Z0-9_]+${didYouMean(s, STANDARD_TRAIT_NAMES)}`,
  );
}

export function upperToken(s: string): string {
  return s.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

export function parseFleet(r: Reader, cur: Cur): FleetSpec | undefined {
  const f = r.map(cur, ['cells', 'cell_overrides', 'profiles']);
  if (f === undefined) return undefined;
  const cells = parseCells(r, f.req('cells'));
  const names = cells?.names ?? [];
  const profilesCur = f.req('profiles');
  const profiles: Record<string, HostProfile> = {};
  const profilePairs = (profilesCur && r.pairs(profilesCur)) ?? [];
  if (profilesCur !== undefined && profilePairs.length === 0 && r.isMap(profilesCur)) {
    r.problem(profilesCur, 'needs at least one host profile');
  }
  for (const p of profilePairs) {
    if (r.str({ node: p.keyNode, path: p.value.path, at: null }, NAME_RE) === undefined) continue;
    const profile = parseProfile(r, p.value, p.key, names);
    if (profile !== undefined) profiles[p.key] = profile;
  }
  const profileNames = profilePairs.map((p) => p.key);
  const overrides: Record<string, CellOverride> = {};
  for (const [cell, oc] of cells?.inline ?? []) {
    const o = parseCellOverride(r, oc, profileNames);
    if (o !== undefined) overrides[cell] = o;
  }
  const oc = f.get('cell_overrides');
  for (const p of (oc && r.pairs(oc)) ?? []) {
    const keyCur = { node: p.keyNode, path: p.value.path, at: null };
    if (!names.includes(p.key)) {
      r.problem(keyCur, `names no cell of fleet.cells${didYouMean(p.key, names)}`);
      continue;
    }
    if (overrides[p.key] !== undefined)
      r.problem(keyCur, `cell "${p.key}" already has overrides in fleet.cells`);
    const o = parseCellOverride(r, p.value, profileNames);
    if (o !== undefined) overrides[p.key] = o;
  }
  if (cells === undefined) return undefined;
  const resolved = resolveCells(names, profiles, overrides);
  return {
    cellNaming: cells.naming,
    cells: resolved,
    profiles,
    cellOverrides: overrides,
    totalHosts: resolved.reduce((a, c) => a + c.totalHosts, 0),
  };
}

interface CellsInput {
  names: string[];
  naming: FleetSpec['cellNaming'];
  /** Overrides written inline in fleet.cells, parsed once the profiles are known. */
  inline: Array<[string, Cur]>;
}

function parseCells(r: Reader, cur: Cur | undefined): CellsInput | undefined {
  if (cur === undefined) return undefined;
  if (r.isMap(cur)) {
    const f = r.map(cur, ['count', 'name_prefix']);
    const count = f && r.int(f.req('count'), 1, MAX_CELLS);
    const pc = f?.get('name_prefix');
    const prefix = pc === undefined ? 'cell' : r.str(pc, NAME_RE);
    if (count === undefined || prefix === undefined) return undefined;
    const names = Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
    return { names, naming: { kind: 'generated', prefix }, inline: [] };
  }
  const items = r.list(cur);
  if (items === undefined) return undefined;
  if (items.length === 0) return r.problem(cur, 'needs at least one cell');
  const names: string[] = [];
  const inline: Array<[string, Cur]> = [];
  for (const it of items) {
    let name: string | undefined;
    let f: Fields | undefined;
    if (r.isMap(it)) {
      f = r.map(it, ['name', 'overrides']);
      const nc = f?.req('name');
      name = nc && r.str(nc, NAME_RE);
    } else {
      name = r.str(it, NAME_RE);
    }
    if (name === undefined) continue;
    if (names.includes(name)) {
      r.problem(it, `cell name "${name}" is used twice: cell names must be unique`);
      continue;
    }
    names.push(name);
    const oc = f?.get('overrides');
    if (oc !== undefined) inline.push([name, oc]);
  }
  return { names, naming: { kind: 'listed' }, inline };
}

function parseCellOverride(r: Reader, cur: Cur, profileNames: readonly string[]): CellOverride | undefined {
  const f = r.map(cur, ['availability_zone', 'spawn_failure_rate', 'profiles']);
  if (f === undefined) return undefined;
  const az = f.get('availability_zone');
  const sf = f.get('spawn_failure_rate');
  const out: Record<string, { count: number | null; allocationRatios: Partial<AllocationRatios> }> = {};
  const pc = f.get('profiles');
  for (const p of (pc && r.pairs(pc)) ?? []) {
    if (!profileNames.includes(p.key)) {
      r.problemAt(p.keyNode, p.value.path, `names no host profile${didYouMean(p.key, profileNames)}`);
      continue;
    }
    const pf = r.map(p.value, ['count', 'allocation_ratios']);
    if (pf === undefined) continue;
    const cc = pf.get('count');
    const rc = pf.get('allocation_ratios');
    out[p.key] = {
      count: cc === undefined ? null : (r.int(cc, 0, MAX_HOSTS) ?? null),
      allocationRatios: rc === undefined ? {} : (parseRatios(r, rc, true) ?? {}),
    };
  }
  return {
    availabilityZone: az === undefined ? null : (r.str(az) ?? null),
    spawnFailureRate: sf === undefined ? null : (r.num(sf, 0, 1) ?? null),
    profiles: out,
  };
}

function parseRatios(r: Reader, cur: Cur, partial: boolean): Partial<AllocationRatios> | undefined {
  const f = r.map(cur, ['vcpu', 'ram', 'disk']);
  if (f === undefined) return undefined;
  const out: { -readonly [K in keyof AllocationRatios]?: number } = partial ? {} : { ...DEFAULT_RATIOS };
  for (const k of ['vcpu', 'ram', 'disk'] as const) {
    const c = f.get(k);
    const v = c && r.num(c, 0, 1000, true);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

const PROFILE_KEYS = [
  'count',
  'count_per_cell',
  'cells',
  'vcpus',
  'ram',
  'ram_mb',
  'disk',
  'disk_gb',
  'reserved',
  'allocation_ratios',
  'traits',
  'aggregates',
  'availability_zone',
  'availability_zones',
  'custom_resources',
  'devices',
  'baremetal',
] as const;

function parseProfile(r: Reader, cur: Cur, name: string, cells: readonly string[]): HostProfile | undefined {
  const f = r.map(cur, PROFILE_KEYS);
  if (f === undefined) return undefined;
  const spread = parseSpread(r, f, cells);
  const vcpus = r.int(f.req('vcpus'), 1, 100_000);
  const ramMb = sizeKey(r, f, 'ram', 'MB', true);
  const diskGb = sizeKey(r, f, 'disk', 'GB', true);
  const reserved = parseReserved(r, f.get('reserved'));
  const rc = f.get('allocation_ratios');
  const ratios = rc === undefined ? DEFAULT_RATIOS : { ...DEFAULT_RATIOS, ...parseRatios(r, rc, true) };
  const tc = f.get('traits');
  const traits = tc === undefined ? [] : (r.names(tc, (_, at) => traitName(r, at) !== undefined) ?? []);
  const ac = f.get('aggregates');
  const aggregates = ac === undefined ? [] : (r.names(ac) ?? []);
  const azKey = f.oneOf(['availability_zone', 'availability_zones'], false);
  const azs = azKey === undefined ? [DEFAULT_AZ] : (r.names(f.get(azKey)!) ?? [DEFAULT_AZ]);
  if (azKey !== undefined && azs.length === 0) r.problem(f.get(azKey)!, 'needs at least one zone');
  const customResources = parseCustomResources(r, f.get('custom_resources'));
  const dc = f.get('devices');
  const devices = dc === undefined ? { sriov: [], gpus: [], fpgas: [] } : parseDevices(r, dc);
  const bc = f.get('baremetal');
  const baremetal = bc === undefined ? null : parseBaremetal(r, bc);
  if (bc !== undefined && dc !== undefined) {
    r.problem(dc, 'a bare-metal profile has no devices: Placement sees one CUSTOM_BAREMETAL_* unit per node');
  }
  if (
    spread === undefined ||
    vcpus === undefined ||
    ramMb === undefined ||
    diskGb === undefined ||
    reserved === undefined ||
    devices === undefined ||
    baremetal === undefined
  ) {
    return undefined;
  }
  if (ramMb === 0) return r.problem(f.get('ram') ?? f.get('ram_mb')!, 'must be > 0');
  return {
    name,
    vcpus,
    ramMb,
    diskGb,
    reserved,
    allocationRatios: ratios,
    traits,
    aggregates,
    availabilityZones: azs.length === 0 ? [DEFAULT_AZ] : azs,
    customResources,
    devices,
    baremetal,
    spread,
  };
}

/** `ram: 4GiB` or `ram_mb: 4096` (one required unless optional). */
export function sizeKey(r: Reader, f: Fields, base: 'ram' | 'disk', unit: 'MB' | 'GB', required: boolean) {
  const plainKey = `${base}_${unit.toLowerCase()}`;
  const key = f.oneOf([base, plainKey], required);
  if (key === undefined) return required ? undefined : 0;
  const c = f.get(key)!;
  const plain = key === plainKey;
  return unit === 'MB' ? r.sizeMb(c, plain) : r.sizeGb(c, plain);
}

function parseReserved(r: Reader, cur: Cur | undefined): HostProfile['reserved'] | undefined {
  if (cur === undefined) return { vcpus: 0, ramMb: 0, diskGb: 0 };
  const f = r.map(cur, ['vcpus', 'ram', 'ram_mb', 'disk', 'disk_gb']);
  if (f === undefined) return undefined;
  const vc = f.get('vcpus');
  const vcpus = vc === undefined ? 0 : r.int(vc, 0);
  const ramMb = sizeKey(r, f, 'ram', 'MB', false);
  const diskGb = sizeKey(r, f, 'disk', 'GB', false);
  if (vcpus === undefined || ramMb === undefined || diskGb === undefined) return undefined;
  return { vcpus, ramMb, diskGb };
}

function parseSpread(r: Reader, f: Fields, cells: readonly string[]): ProfileSpread | undefined {
  const key = f.oneOf(['count', 'count_per_cell'], true);
  if (key === undefined) return undefined;
  const cc = f.get('cells');
  let listed: string[] | null = null;
  if (cc !== undefined && r.value(cc) !== 'all') {
    listed =
      r.names(cc, (name, at) => {
        if (cells.includes(name) || cells.length === 0) return true;
        r.problem(at, `names no cell of fleet.cells${didYouMean(name, cells)}`);
        return false;
      }) ?? null;
  }
  const c = f.get(key)!;
  if (key === 'count') {
    const count = r.int(c, 0, MAX_HOSTS);
    return count === undefined ? undefined : { kind: 'even', count, cells: listed };
  }
  if (!r.isMap(c)) {
    const count = r.int(c, 0, MAX_HOSTS);
    return count === undefined ? undefined : { kind: 'perCell', count, cells: listed };
  }
  if (cc !== undefined) r.problem(cc, 'count_per_cell as a map already names the cells: drop "cells"');
  const counts: Record<string, number> = {};
  for (const p of r.pairs(c) ?? []) {
    if (!cells.includes(p.key) && cells.length > 0) {
      r.problemAt(p.keyNode, p.value.path, `names no cell of fleet.cells${didYouMean(p.key, cells)}`);
      continue;
    }
    const n = r.int(p.value, 0, MAX_HOSTS);
    if (n !== undefined) counts[p.key] = n;
  }
  return { kind: 'map', counts };
}

function parseCustomResources(r: Reader, cur: Cur | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of (cur && r.pairs(cur)) ?? []) {
    if (!isCustomResourceClassName(p.key)) {
      r.problemAt(p.keyNode, p.value.path, 'must be a CUSTOM_[A-Z0-9_]+ resource class');
      continue;
    }
    const n = r.int(p.value, 1);
    if (n !== undefined) out[p.key] = n;
  }
  return out;
}

function parseDevices(r: Reader, cur: Cur): Devices | undefined {
  const f = r.map(cur, ['sriov', 'gpus', 'fpgas']);
  if (f === undefined) return undefined;
  const each = <T>(key: string, one: (c: Cur) => T | undefined): T[] => {
    const c = f.get(key);
    return ((c && r.list(c)) ?? []).map(one).filter((x): x is T => x !== undefined);
  };
  return {
    sriov: each('sriov', (c) => parseSriov(r, c)),
    gpus: each('gpus', (c) => parseGpu(r, c)),
    fpgas: each('fpgas', (c) => parseFpga(r, c)),
  };
}

function deviceTraits(r: Reader, f: Fields): string[] {
  const tc = f.get('traits');
  return tc === undefined ? [] : (r.names(tc, (_, at) => traitName(r, at) !== undefined) ?? []);
}

function parseSriov(r: Reader, cur: Cur): SriovPf | undefined {
  const f = r.map(cur, ['count', 'vfs', 'physnet', 'traits']);
  if (f === undefined) return undefined;
  const count = r.int(f.req('count'), 1, 64);
  const vfs = r.int(f.req('vfs', ' (virtual functions per PF)'), 1, 1024);
  const physnet = r.str(f.req('physnet'), NAME_RE);
  const extra = deviceTraits(r, f);
  if (count === undefined || vfs === undefined || physnet === undefined) return undefined;
  const traits = [...new Set(['HW_NIC_SRIOV', `CUSTOM_PHYSNET_${upperToken(physnet)}`, ...extra])];
  return { count, vfs, physnet, traits };
}

function parseGpu(r: Reader, cur: Cur): GpuSpec | undefined {
  const f = r.map(cur, ['count', 'vgpus', 'passthrough', 'type', 'traits']);
  if (f === undefined) return undefined;
  const count = r.int(f.req('count'), 1, 64);
  const key = f.oneOf(['vgpus', 'passthrough'], true);
  const tc = f.get('type');
  const type = tc === undefined ? null : r.str(tc);
  const traits = deviceTraits(r, f);
  if (count === undefined || key === undefined || type === undefined) return undefined;
  if (key === 'passthrough') {
    const on = r.bool(f.get(key)!);
    if (on !== true)
      return on === false
        ? r.problem(f.get(key)!, 'set passthrough: true, or give vgpus instead')
        : undefined;
    return { count, mode: 'passthrough', unitsPerGpu: 1, type, traits };
  }
  const vgpus = r.int(f.get(key)!, 1, 1024);
  return vgpus === undefined ? undefined : { count, mode: 'vgpu', unitsPerGpu: vgpus, type, traits };
}

function parseFpga(r: Reader, cur: Cur): FpgaSpec | undefined {
  const f = r.map(cur, ['count', 'function', 'traits']);
  if (f === undefined) return undefined;
  const count = r.int(f.req('count'), 1, 64);
  const fc = f.get('function');
  const fn = fc === undefined ? null : r.str(fc, NAME_RE);
  const extra = deviceTraits(r, f);
  if (count === undefined || fn === undefined) return undefined;
  const traits = fn === null ? extra : [...new Set([...extra, `CUSTOM_FPGA_FUNCTION_${upperToken(fn)}`])];
  return { count, function: fn, traits };
}

function parseBaremetal(r: Reader, cur: Cur): BaremetalSpec | undefined {
  const f = r.map(cur, ['resource_class', 'bmc']);
  if (f === undefined) return undefined;
  const rc = r.str(f.req('resource_class'), { re: /^[A-Za-z0-9_]+$/, what: 'letters, digits and _' });
  const bc = f.get('bmc');
  const bmc = bc === undefined ? 'ipmi' : r.oneOfValues(bc, ['ipmi', 'redfish'] as const);
  if (rc === undefined || bmc === undefined) return undefined;
  const upper = rc.toUpperCase();
  const resourceClass = upper.startsWith('CUSTOM_BAREMETAL_') ? upper : `CUSTOM_BAREMETAL_${upper}`;
  return { resourceClass, bmc };
}
