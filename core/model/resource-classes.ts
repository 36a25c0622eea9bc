/**
 * Resource classes: the standard ones of os-resource-classes 1.1.0 (in its order, which is also
 * their numeric id there) and operator-defined `CUSTOM_*` ones. Names match `^[A-Z0-9_]+$`;
 * custom names match `^CUSTOM_[A-Z0-9_]+$` and are at most 255 characters.
 */

export const STANDARD_RESOURCE_CLASSES = [
  'VCPU',
  'MEMORY_MB',
  'DISK_GB',
  'PCI_DEVICE',
  'SRIOV_NET_VF',
  'NUMA_SOCKET',
  'NUMA_CORE',
  'NUMA_THREAD',
  'NUMA_MEMORY_MB',
  'IPV4_ADDRESS',
  'VGPU',
  'VGPU_DISPLAY_HEAD',
  'NET_BW_EGR_KILOBIT_PER_SEC',
  'NET_BW_IGR_KILOBIT_PER_SEC',
  'PCPU',
  'MEM_ENCRYPTION_CONTEXT',
  'FPGA',
  'PGPU',
  'NET_PACKET_RATE_KILOPACKET_PER_SEC',
  'NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC',
  'NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC',
] as const;

export type StandardResourceClass = (typeof STANDARD_RESOURCE_CLASSES)[number];

/** Longest resource class or trait name Placement accepts. */
export const MAX_CLASS_NAME_LENGTH = 255;

export const RESOURCE_CLASS_NAME_RE = /^[A-Z0-9_]+$/;
export const CUSTOM_RESOURCE_CLASS_RE = /^CUSTOM_[A-Z0-9_]+$/;

const STANDARD_SET: ReadonlySet<string> = new Set(STANDARD_RESOURCE_CLASSES);

export function isStandardResourceClass(name: string): name is StandardResourceClass {
  return STANDARD_SET.has(name);
}

/** Syntactically a custom class name (whether or not it has been created). */
export function isCustomResourceClassName(name: string): boolean {
  return name.length <= MAX_CLASS_NAME_LENGTH && CUSTOM_RESOURCE_CLASS_RE.test(name);
}

/** Syntactically a resource class name (standard or custom, created or not). */
export function isResourceClassName(name: string): boolean {
  return name.length >= 1 && name.length <= MAX_CLASS_NAME_LENGTH && RESOURCE_CLASS_NAME_RE.test(name);
}
