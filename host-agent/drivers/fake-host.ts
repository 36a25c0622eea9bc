/**
 * The shape of a simulated host (`FakeHostSpec`) and its Placement provider tree: the root
 * compute node with VCPU / MEMORY_MB / DISK_GB (reserved amounts, allocation ratios) and the
 * host's traits; SR-IOV PFs (SRIOV_NET_VF), GPUs (VGPU) and FPGAs (FPGA) as child providers.
 * Provider UUIDs derive from the host name, so a host reports the same tree every time.
 */
import { CellplaneError } from '../../core/errors.ts';
import { type Inventory, inventoryProblem, makeInventory } from '../../core/model/inventory.ts';
import { isCustomTraitName, isStandardTrait } from '../../core/model/traits.ts';
import { hashString } from '../../core/rng.ts';
import type { HostDescription, ProviderDescription } from '../driver.ts';

export interface AllocationRatios {
  readonly vcpu: number;
  readonly ram: number;
  readonly disk: number;
}
export interface Reserved {
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
}

/** Nova's initial_*_allocation_ratio defaults. */
export const DEFAULT_ALLOCATION_RATIOS: AllocationRatios = Object.freeze({ vcpu: 4.0, ram: 1.0, disk: 1.0 });
/** Nova's reserved_host_memory_mb default; nothing else is reserved by default. */
export const DEFAULT_RESERVED: Reserved = Object.freeze({ vcpus: 0, memoryMb: 512, diskGb: 0 });
/** Traits every fake compute node reports. */
export const FAKE_ROOT_TRAITS = Object.freeze(['COMPUTE_NODE', 'HW_ARCH_X86_64']);
/** Devices of one kind a host may declare. */
export const MAX_DEVICES_PER_KIND = 64;

export interface FakeDeviceSpec {
  /** Units of the device's resource class (VFs, vGPUs, FPGA regions). */
  readonly units: number;
  readonly traits?: readonly string[];
}

export interface FakeHostSpec {
  readonly hostname: string;
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
  readonly reserved?: Partial<Reserved>;
  readonly allocationRatios?: Partial<AllocationRatios>;
  /** Extra root traits (HW_CPU_X86_AVX2, COMPUTE_*, CUSTOM_*). */
  readonly traits?: readonly string[];
  /** SR-IOV physical functions: SRIOV_NET_VF inventory, HW_NIC_SRIOV trait. */
  readonly sriovPfs?: readonly FakeDeviceSpec[];
  /** Physical GPUs: VGPU inventory. */
  readonly gpus?: readonly FakeDeviceSpec[];
  /** FPGA cards: FPGA inventory. */
  readonly fpgas?: readonly FakeDeviceSpec[];
}

/** A stable UUID from a name (FNV-1a of four salted copies; fine for fixtures and simulation). */
export function stableUuid(name: string): string {
  const hex = [0, 1, 2, 3].map((i) => hashString(`${i}:${name}`).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const DEVICE_KINDS = [
  { key: 'sriovPfs', label: 'pf', rc: 'SRIOV_NET_VF', traits: ['HW_NIC_SRIOV'] },
  { key: 'gpus', label: 'gpu', rc: 'VGPU', traits: [] },
  { key: 'fpgas', label: 'fpga', rc: 'FPGA', traits: [] },
] as const;

/** Builds (and validates) the provider tree of a fake host. Throws `invalid` naming the field. */
export function describeFakeHost(spec: FakeHostSpec): HostDescription {
  const host = spec.hostname;
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(host))
    throw new CellplaneError('invalid', `hostname "${host}" must be 1..63 letters, digits, . and -`);
  const reserved = { ...DEFAULT_RESERVED, ...spec.reserved };
  const ratios = { ...DEFAULT_ALLOCATION_RATIOS, ...spec.allocationRatios };
  const rootUuid = stableUuid(host);
  const root: ProviderDescription = {
    uuid: rootUuid,
    name: host,
    inventories: {
      VCPU: inventory(host, 'VCPU', spec.vcpus, reserved.vcpus, ratios.vcpu),
      MEMORY_MB: inventory(host, 'MEMORY_MB', spec.memoryMb, reserved.memoryMb, ratios.ram),
      DISK_GB: inventory(host, 'DISK_GB', spec.diskGb, reserved.diskGb, ratios.disk),
    },
    traits: traits(host, [...FAKE_ROOT_TRAITS, ...(spec.traits ?? [])]),
  };
  const providers: ProviderDescription[] = [root];
  for (const kind of DEVICE_KINDS) {
    const devices = spec[kind.key] ?? [];
    if (devices.length > MAX_DEVICES_PER_KIND)
      throw new CellplaneError('invalid', `${host}.${kind.key}: at most ${MAX_DEVICES_PER_KIND} devices`);
    devices.forEach((d, i) => {
      const name = `${host}_${kind.label}${i}`;
      providers.push({
        uuid: stableUuid(name),
        name,
        parentUuid: rootUuid,
        inventories: { [kind.rc]: inventory(name, kind.rc, d.units, 0, 1.0) },
        traits: traits(name, [...kind.traits, ...(d.traits ?? [])]),
      });
    });
  }
  return Object.freeze({
    hostname: host,
    hypervisorType: 'fake',
    providers,
    capabilities: Object.freeze({
      supportsRebootSoft: true,
      supportsRebootHard: true,
      supportsPower: true,
      supportsSriov: (spec.sriovPfs?.length ?? 0) > 0,
      supportsVgpu: (spec.gpus?.length ?? 0) > 0,
      supportsFpga: (spec.fpgas?.length ?? 0) > 0,
    }),
  });
}

function inventory(where: string, rc: string, total: number, reserved: number, ratio: number): Inventory {
  const inv = makeInventory({ total, reserved, allocationRatio: ratio });
  const problem = inventoryProblem(inv);
  if (problem) throw new CellplaneError('invalid', `${where} ${rc}: ${problem}`);
  return inv;
}

function traits(where: string, names: readonly string[]): string[] {
  for (const t of names) {
    if (!isStandardTrait(t) && !isCustomTraitName(t))
      throw new CellplaneError('invalid', `${where}: "${t}" is neither a standard nor a CUSTOM_ trait`);
  }
  return [...new Set(names)];
}
