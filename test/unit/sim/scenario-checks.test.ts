/**
 * Cross-checks: rules that span sections, each reported at the place to fix.
 */

import { describe, expect, it } from 'vitest';
import { edit, problemsOf, where } from './scenario-fixture.ts';

interface Case {
  name: string;
  text: string;
  at: string;
  path: string;
  message: RegExp;
}

const FAULT = '  - kind: host_crash\n    at: 2m\n    count: 1\n';

const cases: Case[] = [
  {
    name: 'a flavor needing a trait no profile has',
    text: edit('trait:HW_CPU_X86_AVX2: required', 'trait:CUSTOM_NOPE: required'),
    at: 'avx:',
    path: 'workload.flavors.avx',
    message: /flavor "avx": requires trait CUSTOM_NOPE that no host profile has/,
  },
  {
    // gen: 64 GiB RAM at ratio 1.0; bm offers only CUSTOM_BAREMETAL_GOLD.
    name: 'a flavor bigger than the largest host',
    text: edit('small: { vcpus: 1, ram: 2GiB', 'small: { vcpus: 1, ram: 96GiB'),
    at: 'small:',
    path: 'workload.flavors.small',
    message: /needs 96 GiB RAM but the largest host offers 64 GiB RAM/,
  },
  {
    // VCPU limit per host is min(total 16, int(16 * 4.0)) = 16: ratios do not lift max_unit.
    name: 'a flavor with more vCPUs than any host has, whatever the ratio',
    text: edit('vcpus: 4\n', 'vcpus: 17\n'),
    at: 'avx:',
    path: 'workload.flavors.avx',
    message: /needs 17 VCPU but the largest host offers 16 VCPU/,
  },
  {
    name: 'a bare-metal flavor that forgot to zero DISK_GB',
    text: edit(
      '    metal:\n      vcpus: 32\n      ram: 128GiB\n',
      '    metal:\n      vcpus: 32\n      ram: 128GiB\n      disk_gb: 10\n',
    ),
    at: 'metal:\n      vcpus: 32',
    path: 'workload.flavors.metal',
    message: /no host profile has all it needs: gen offers no CUSTOM_BAREMETAL_GOLD; bm offers no DISK_GB/,
  },
  {
    name: 'server group fractions over 1',
    text: edit(
      '  arrivals:\n',
      '  server_groups:\n    - { policy: affinity, size: 2, fraction: 0.7 }\n    - { policy: anti-affinity, size: 3, fraction: 0.4 }\n  arrivals:\n',
    ),
    at: 'server_groups:',
    path: 'workload.server_groups',
    message: /fractions add up to 1.1: they must sum to at most 1/,
  },
  {
    name: 'a fault after the end of the run',
    text: edit('    at: 2m\n', '    at: 11m\n'),
    at: '11m',
    path: 'faults[0].at',
    message: /11m is not within the run \(duration 10m\)/,
  },
  {
    name: 'a partition that outlasts the run',
    text: edit(FAULT, '  - kind: cell_partition\n    cell: c1\n    at: 9m\n    duration: 2m\n'),
    at: '2m\n',
    path: 'faults[0].duration',
    message: /outlasts the run/,
  },
  {
    name: 'a fault naming a missing cell',
    text: edit(FAULT, '  - kind: cell_partition\n    cell: c3\n    at: 1m\n    duration: 1m\n'),
    at: 'c3',
    path: 'faults[0].cell',
    message: /names no cell of fleet.cells \(did you mean "c1"\?\)/,
  },
  {
    name: 'a host fault asking for more hosts than its target has',
    text: edit('    count: 1\n', '    count: 5\n    profile: bm\n'),
    at: '5\n    profile',
    path: 'faults[0].count',
    message: /5 hosts asked but its target has only 2/,
  },
  {
    name: 'a BMC fault on a profile that is not bare-metal',
    text: edit(
      FAULT,
      '  - kind: bmc_power_fault\n    at: 1m\n    profile: gen\n    fault: unresponsive\n    duration: 1m\n',
    ),
    at: 'gen\n    fault',
    path: 'faults[0].profile',
    message: /profile "gen" is not bare-metal/,
  },
  {
    name: 'a burst that starts after the run',
    text: edit(
      '    - kind: poisson\n      rate_per_second: 2\n',
      '    - kind: burst\n      count: 10\n      at: 20m\n',
    ),
    at: '20m',
    path: 'workload.arrivals[0].at',
    message: /starts at 20m, not before the run ends \(10m\)/,
  },
  {
    name: 'a warmup as long as the run',
    text: edit('  seed: 5\n', '  seed: 5\n  warmup: 10m\n'),
    at: '10m\nfleet',
    path: 'run.warmup',
    message: /must be shorter than run.duration/,
  },
];

describe('cross-checks', () => {
  it.each(cases)('$name', ({ text, at, path, message }) => {
    const problems = problemsOf(text);
    const hit = problems.find((p) => p.path === path);
    expect(hit, JSON.stringify(problems, null, 1)).toBeDefined();
    expect(hit!.message).toMatch(message);
    expect({ line: hit!.line, column: hit!.column }).toEqual(where(text, at));
  });
});
