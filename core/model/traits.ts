/**
 * Traits: the standard names of os-traits (see os-traits.ts, generated) and operator-defined
 * `CUSTOM_*` ones (`^CUSTOM_[A-Z0-9_]+$`, 1..255 characters). A few names the control plane
 * itself sets or asks for are exported as constants so a typo is a compile error.
 */

import { STANDARD_TRAIT_NAMES } from './os-traits.ts';
import { MAX_CLASS_NAME_LENGTH } from './resource-classes.ts';

export { OS_TRAITS_VERSION, STANDARD_TRAIT_NAMES } from './os-traits.ts';

export const CUSTOM_TRAIT_RE = /^CUSTOM_[A-Z0-9_]+$/;

const STANDARD_SET: ReadonlySet<string> = new Set(STANDARD_TRAIT_NAMES);

export function isStandardTrait(name: string): boolean {
  return STANDARD_SET.has(name);
}

/** Syntactically a custom trait name (whether or not it has been created). */
export function isCustomTraitName(name: string): boolean {
  return name.length <= MAX_CLASS_NAME_LENGTH && CUSTOM_TRAIT_RE.test(name);
}

/** Standard traits the control plane reads or writes itself. */
export const Traits = {
  /** Nova sets it on a compute node's root provider while the service is disabled. */
  COMPUTE_STATUS_DISABLED: 'COMPUTE_STATUS_DISABLED',
  /** Marks a provider whose resources are shared with its aggregate's members. */
  MISC_SHARES_VIA_AGGREGATE: 'MISC_SHARES_VIA_AGGREGATE',
  HW_CPU_X86_AVX2: 'HW_CPU_X86_AVX2',
  HW_CPU_X86_AVX512F: 'HW_CPU_X86_AVX512F',
  COMPUTE_VOLUME_MULTI_ATTACH: 'COMPUTE_VOLUME_MULTI_ATTACH',
  HW_GPU_API_VULKAN: 'HW_GPU_API_VULKAN',
  HW_NIC_SRIOV: 'HW_NIC_SRIOV',
  STORAGE_DISK_SSD: 'STORAGE_DISK_SSD',
} as const;
