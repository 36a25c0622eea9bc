import { describe, expect, it } from 'vitest';
import {
  checkExtraSpec,
  describeExtraSpecProblems,
  extraSpecProblems,
} from '../../../core/model/extra-specs.ts';

describe('extra specs: what cellplane acts on', () => {
  it.each([
    ['resources:VCPU', '0'],
    ['resources:VGPU', '2'],
    ['resources:CUSTOM_BAREMETAL_GOLD', '1'],
    ['trait:HW_CPU_X86_AVX2', 'required'],
    ['trait:CUSTOM_GPU_A10', 'forbidden'],
    ['aggregate_instance_extra_specs:ssd', 'true'],
    ['aggregate_instance_extra_specs:speed', '>= 10'],
    ['hw:cpu_policy', 'shared'],
    ['resources1:VGPU', '1'],
    ['trait1:CUSTOM_X', 'required'],
    ['resources_gpu:VGPU', '1'],
    ['group_policy', 'isolate'],
  ])('%s=%s is honoured', (key, value) => {
    expect(checkExtraSpec(key, value)).toEqual({ kind: 'honoured' });
  });

  it.each([
    ['hw:cpu_policy', 'dedicated', /CPU pinning/],
    ['hw:cpu_thread_policy', 'isolate', /CPU pinning/],
    ['hw:numa_nodes', '2', /NUMA/],
    ['hw:numa_cpus.0', '0-3,^2', /NUMA/],
    ['hw:numa_mem.1', '2048', /NUMA/],
    ['hw:mem_page_size', '1GB', /huge pages/],
    ['hw:mem_encryption', 'True', /SEV/],
    ['pci_passthrough:alias', 'a1:2', /PCI passthrough/],
    ['pci_passthrough:alias', 'a1:2, b2:1', /PCI passthrough/],
    ['accel:device_profile', 'fpga-gzip', /device profiles/],
    ['hw:watchdog_action', 'reset', /no effect/],
    ['hw_rng:allowed', 'yes', /no effect/],
    ['quota:cpu_shares', '1024', /no effect/],
    ['quota:cpu_limit', '-1', /VMware/],
    ['capabilities:hypervisor_type', 's== QEMU', /ComputeCapabilitiesFilter/],
    ['vmware:hw_version', 'vmx-13', /VMware/],
  ])('%s=%s is known but not honoured', (key, value, why) => {
    const v = checkExtraSpec(key, value);
    expect(v.kind).toBe('notHonoured');
    expect(v.kind !== 'honoured' && v.reason).toMatch(why);
  });

  // Nova's 2.86 messages for a bad value; unknown keys are refused whatever their namespace
  // (Nova lets unnamespaced keys and unknown namespaces through).
  it.each([
    ['hw:cpu_policy', 'pinned', "Validation failed; 'pinned' is not one of: dedicated, shared, mixed."],
    ['hw:numa_nodes', 'two', "Validation failed; 'two' is not a valid integer value."],
    ['hw:numa_nodes', '0', "Validation failed; '0' is less than the min value of '1'."],
    ['hw:pmu', 'maybe', "Validation failed; 'maybe' is not a valid boolean-like value."],
    ['resources:VGPU', '-1', "Validation failed; '-1' is less than the min value of '0'."],
    [
      'trait:HW_CPU_X86_AVX2',
      'preferred',
      "Validation failed; 'preferred' is not one of: required, forbidden.",
    ],
    [
      'hw:mem_page_size',
      'huge',
      "Validation failed; 'huge' is not of the format '(large|small|any|\\d+([kKMGT]i?)?(b|bit|B)?)'.",
    ],
    [
      'resources:FOO',
      '1',
      "Validation failed; extra spec 'resources:FOO' does not appear to be a valid extra spec.",
    ],
    [
      'trait:NOT_A_TRAIT',
      'required',
      "Validation failed; extra spec 'trait:NOT_A_TRAIT' does not appear to be a valid extra spec.",
    ],
    [
      'hw:cpu_polcy',
      'dedicated',
      "Validation failed; extra spec 'hw:cpu_polcy' does not appear to be a valid extra spec.",
    ],
    ['k1', 'v1', "Validation failed; extra spec 'k1' does not appear to be a valid extra spec."],
    ['x:flag', 'True', "Validation failed; extra spec 'x:flag' does not appear to be a valid extra spec."],
  ])('%s=%s is invalid', (key, value, reason) => {
    expect(checkExtraSpec(key, value)).toEqual({ kind: 'invalid', reason });
  });

  it('lists every spec not acted on, in key order, one line each', () => {
    const problems = extraSpecProblems({
      'trait:HW_CPU_X86_AVX2': 'required',
      'hw:numa_nodes': '2',
      'hw:cpu_policy': 'dedicated',
      'resources:VCPU': '4',
    });
    expect(problems.map((p) => [p.key, p.kind])).toEqual([
      ['hw:cpu_policy', 'notHonoured'],
      ['hw:numa_nodes', 'notHonoured'],
    ]);
    expect(describeExtraSpecProblems(problems)).toBe(
      'hw:cpu_policy=dedicated: CPU pinning (dedicated CPUs) is not supported by cellplane yet; ' +
        'hw:numa_nodes=2: guest NUMA topologies are not supported by cellplane yet',
    );
  });
});
