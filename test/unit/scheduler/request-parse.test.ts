import { describe, expect, it } from 'vitest';
import { CellplaneError } from '../../../core/errors.ts';
import {
  type NovaFlavor,
  type NovaRequestInput,
  parseNovaRequest,
} from '../../../core/scheduler/request-parse.ts';

const flavor = { vcpus: 2, ram: 4096, disk: 20 };
const parse = (over: Partial<NovaRequestInput> = {}) => parseNovaRequest({ id: 'r1', flavor, ...over });

function errorOf(fn: () => unknown): CellplaneError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CellplaneError) return err;
    throw err;
  }
  throw new Error('expected an invalid error');
}

describe('parseNovaRequest: resources', () => {
  it.each([
    { f: flavor, want: { DISK_GB: 20, MEMORY_MB: 4096, VCPU: 2 } },
    // disk = root 20 + ephemeral 10 + ceil(swap 1536 MB / 1024) = 20 + 10 + 2 = 32
    { f: { ...flavor, ephemeral: 10, swap: 1536 }, want: { DISK_GB: 32, MEMORY_MB: 4096, VCPU: 2 } },
    // resources:DISK_GB=0 drops disk (boot from volume)
    { f: { ...flavor, extra_specs: { 'resources:DISK_GB': '0' } }, want: { MEMORY_MB: 4096, VCPU: 2 } },
    // an override replaces the flavor's amount; extra classes are added
    {
      f: {
        ...flavor,
        extra_specs: { 'resources:VCPU': '8', 'resources:VGPU': '1', 'resources:CUSTOM_FPGA_X': '2' },
      },
      want: { CUSTOM_FPGA_X: 2, DISK_GB: 20, MEMORY_MB: 4096, VCPU: 8, VGPU: 1 },
    },
  ] as { f: NovaFlavor; want: Record<string, number> }[])('$f', ({ f, want }) => {
    const spec = parse({ flavor: f });
    expect(Object.fromEntries(spec.resources.map((r) => [r.rc, r.amount]))).toEqual(want);
    expect(spec.resources.map((r) => r.rc)).toEqual(Object.keys(want)); // sorted by class
  });
});

describe('parseNovaRequest: traits, aggregates, zones, groups, hosts', () => {
  it('reads trait and aggregate_instance_extra_specs scopes and hw:cpu_policy=shared', () => {
    const spec = parse({
      flavor: {
        ...flavor,
        extra_specs: {
          'trait:HW_CPU_X86_AVX2': 'required',
          'trait:CUSTOM_SLOW': 'forbidden',
          'aggregate_instance_extra_specs:disk': 'ssd',
          'hw:cpu_policy': 'shared',
        },
      },
    });
    expect(spec).toMatchObject({
      requiredTraits: ['HW_CPU_X86_AVX2'],
      forbiddenTraits: ['CUSTOM_SLOW'],
      aggregateSpecs: [{ key: 'disk', requirement: 'ssd' }],
    });
  });

  it.each([
    { az: 'az1', want: { availabilityZone: 'az1', forceHosts: [], forceNodes: [] } },
    { az: 'az1:cn1', want: { availabilityZone: 'az1', forceHosts: ['cn1'], forceNodes: [] } },
    { az: 'az1:cn1:node1', want: { availabilityZone: 'az1', forceHosts: ['cn1'], forceNodes: ['node1'] } },
    { az: ':cn1', want: { availabilityZone: null, forceHosts: ['cn1'] } },
  ])('availability_zone $az', ({ az, want }) => {
    expect(parse({ availability_zone: az, is_admin: true })).toMatchObject(want);
  });

  it('takes the server group from its record and the group hint', () => {
    const spec = parse({
      scheduler_hints: { group: 'g1' },
      group: { uuid: 'g1', policy: 'anti-affinity', rules: { max_server_per_host: '3' } },
      num_instances: 4,
      ignore_hosts: ['cn9', 'cn9'],
    });
    expect(spec).toMatchObject({
      group: { id: 'g1', policy: 'anti-affinity', maxServerPerHost: 3 },
      numInstances: 4,
      ignoreHosts: ['cn9'],
    });
    expect(parse({ group: { uuid: 'g2', policy: 'soft-affinity' } }).group).toEqual({
      id: 'g2',
      policy: 'soft-affinity',
      maxServerPerHost: 1,
    });
  });
});

describe('parseNovaRequest: granular request groups', () => {
  it('groups by suffix, each with its resources and traits, sorted; the policy; nothing granular → null', () => {
    const spec = parse({
      flavor: {
        ...flavor,
        extra_specs: {
          'resources2:SRIOV_NET_VF': '1',
          'trait2:CUSTOM_PHYSNET_A': 'required',
          'resources1:VGPU': '2',
          'trait1:CUSTOM_SLOW': 'forbidden',
          'resources1:VGPU_DISPLAY_HEAD': '0',
          group_policy: 'isolate',
        },
      },
    });
    expect(spec.granular).toEqual({
      policy: 'isolate',
      groups: [
        { suffix: '1', resources: [{ rc: 'VGPU', amount: 2 }], required: [], forbidden: ['CUSTOM_SLOW'] },
        {
          suffix: '2',
          resources: [{ rc: 'SRIOV_NET_VF', amount: 1 }],
          required: ['CUSTOM_PHYSNET_A'],
          forbidden: [],
        },
      ],
    });
    // One group needs no policy (Placement's default, none).
    expect(parse({ flavor: { ...flavor, extra_specs: { 'resources1:VGPU': '1' } } }).granular?.policy).toBe(
      'none',
    );
    expect(parse({}).granular).toBeNull();
  });
});

describe('parseNovaRequest: invalid input names the field', () => {
  it.each([
    { over: { id: '' }, field: 'id' },
    { over: { flavor: { ...flavor, vcpus: 0 } }, field: 'flavor.vcpus' },
    { over: { flavor: { ...flavor, ram: 1.5 } }, field: 'flavor.ram' },
    { over: { flavor: { ...flavor, swap: -1 } }, field: 'flavor.swap' },
    {
      over: { flavor: { ...flavor, extra_specs: { 'resources:VGPU': 'one' } } },
      field: 'flavor.extra_specs.resources:VGPU',
    },
    {
      over: { flavor: { ...flavor, extra_specs: { 'resources:vgpu': '1' } } },
      field: 'flavor.extra_specs.resources:vgpu',
    },
    {
      // a group with traits and no resources
      over: { flavor: { ...flavor, extra_specs: { 'trait1:CUSTOM_X': 'required' } } },
      field: 'flavor.extra_specs.resources1',
    },
    {
      // two groups and no group_policy (Placement requires one)
      over: { flavor: { ...flavor, extra_specs: { 'resources1:VGPU': '1', 'resources2:VGPU': '1' } } },
      field: 'flavor.extra_specs.group_policy',
    },
    {
      over: { flavor: { ...flavor, extra_specs: { group_policy: 'isolate' } } },
      field: 'flavor.extra_specs.group_policy',
    },
    {
      over: { flavor: { ...flavor, extra_specs: { 'trait:HW_CPU_X86_AVX2': 'preferred' } } },
      field: 'flavor.extra_specs.trait:HW_CPU_X86_AVX2',
    },
    {
      over: { flavor: { ...flavor, extra_specs: { 'trait:NOT_A_TRAIT': 'required' } } },
      field: 'flavor.extra_specs.trait:NOT_A_TRAIT',
    },
    {
      over: { flavor: { ...flavor, extra_specs: { 'aggregate_instance_extra_specs:': 'x' } } },
      field: 'flavor.extra_specs.aggregate_instance_extra_specs:',
    },
    {
      over: { flavor: { ...flavor, extra_specs: { 'hw:cpu_policy': 'dedicated' } } },
      field: 'flavor.extra_specs.hw:cpu_policy',
    },
    {
      over: { flavor: { ...flavor, extra_specs: { 'x:flag': 'True' } } },
      field: 'flavor.extra_specs.x:flag',
    },
    { over: { num_instances: 0 }, field: 'num_instances' },
    { over: { num_instances: 1001 }, field: 'num_instances' },
    { over: { availability_zone: 'a:b:c:d', is_admin: true }, field: 'availability_zone' },
    { over: { availability_zone: 'az1:cn1' }, field: 'force_hosts' },
    { over: { force_hosts: ['cn1'] }, field: 'force_hosts' },
    { over: { scheduler_hints: { group: 'g1' } }, field: 'scheduler_hints.group' },
    {
      over: { scheduler_hints: { group: 'g1' }, group: { uuid: 'g2', policy: 'affinity' } },
      field: 'scheduler_hints.group',
    },
    { over: { group: { uuid: 'g', policy: 'spread' } }, field: 'group.policy' },
    {
      over: { group: { uuid: 'g', policy: 'affinity', rules: { max_server_per_host: 2 } } },
      field: 'group.rules.max_server_per_host',
    },
    {
      over: { group: { uuid: 'g', policy: 'anti-affinity', rules: { max_server_per_host: 0 } } },
      field: 'group.rules.max_server_per_host',
    },
    {
      over: { group: { uuid: 'g', policy: 'anti-affinity', rules: { colour: 'red' } } },
      field: 'group.rules.colour',
    },
  ] as { over: Partial<NovaRequestInput>; field: string }[])('$field', ({ over, field }) => {
    const err = errorOf(() => parse(over));
    expect(err.code).toBe('invalid');
    expect(err.details).toEqual({ field });
    expect(err.message.startsWith(`${field}: `)).toBe(true);
  });
});
