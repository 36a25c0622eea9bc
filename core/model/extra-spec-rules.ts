/**
 * The flavor extra specs Nova knows (its API validators, microversion 2.86: key, value format),
 * and for each whether cellplane acts on it. A key cellplane does not act on carries `unless`:
 * why, in words an operator can act on. Keys are matched whole (`^…$`); `{id}`-style parameters
 * are regex groups. Read by extra-specs.ts, the only user.
 *
 * What cellplane honours today: `resources[N]:<CLASS>`, `trait[N]:<TRAIT>`, `group_policy`,
 * `aggregate_instance_extra_specs:<key>` and `hw:cpu_policy=shared` (every guest's policy here).
 */
import { isStandardResourceClass } from './resource-classes.ts';
import { isStandardTrait } from './traits.ts';

export type ValueRule =
  | { readonly kind: 'bool' }
  | { readonly kind: 'int'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'pattern'; readonly re: RegExp }
  | { readonly kind: 'any' };

export interface SpecRule {
  /** The key as Nova documents it (`hw:numa_cpus.{id}`). */
  readonly name: string;
  readonly key: RegExp;
  /** A further check of the key's matched name (a trait or class cellplane knows). */
  readonly keyOk?: (key: string) => boolean;
  readonly value: ValueRule;
  /** Why cellplane does not act on this key with this value; absent or undefined when it does. */
  readonly unless?: (value: string, key: string) => string | undefined;
}

const BOOL: ValueRule = { kind: 'bool' };
const INT0: ValueRule = { kind: 'int', min: 0 };
const INT1: ValueRule = { kind: 'int', min: 1 };
const ANY: ValueRule = { kind: 'any' };
const CPU_MAP: ValueRule = { kind: 'pattern', re: /^\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*$/ };
const oneOf = (...values: string[]): ValueRule => ({ kind: 'enum', values });

const always = (why: string) => () => why;
const NO_PINNING = always('CPU pinning (dedicated CPUs) is not supported by cellplane yet');
const NO_NUMA = always('guest NUMA topologies are not supported by cellplane yet');
const GUEST = always(
  "a guest setting of Nova's libvirt driver: cellplane's host agents do not configure guests, so it would have no effect",
);

/** Group suffix of granular keys (Nova's: `([a-zA-Z0-9_-]{1,64})?`). */
const GROUP = '([a-zA-Z0-9_-]{1,64})?';
const nameAfterColon = (key: string) => key.slice(key.indexOf(':') + 1);
const CUSTOM = /^CUSTOM_[A-Z0-9_]+$/;

function hw(name: string, value: ValueRule, why: (value: string) => string | undefined): SpecRule {
  return {
    name: `hw:${name}`,
    key: new RegExp(`^hw:${name.replace('.{id}', '\\.\\d+')}$`),
    value,
    unless: why,
  };
}

export const SPEC_RULES: readonly SpecRule[] = [
  {
    name: 'resources{group}:{resource_class}',
    key: new RegExp(`^resources${GROUP}:[A-Z0-9_]+$`),
    keyOk: (k) => isStandardResourceClass(nameAfterColon(k)) || CUSTOM.test(nameAfterColon(k)),
    value: INT0,
  },
  {
    name: 'trait{group}:{trait}',
    key: new RegExp(`^trait${GROUP}:[A-Z0-9_]+$`),
    keyOk: (k) => isStandardTrait(nameAfterColon(k)) || CUSTOM.test(nameAfterColon(k)),
    value: oneOf('required', 'forbidden'),
  },
  { name: 'group_policy', key: /^group_policy$/, value: oneOf('isolate', 'none') },
  { name: 'aggregate_instance_extra_specs:{key}', key: /^aggregate_instance_extra_specs:.+$/, value: ANY },
  hw('cpu_policy', oneOf('dedicated', 'shared', 'mixed'), (v) => (v === 'shared' ? undefined : NO_PINNING())),
  hw('cpu_thread_policy', oneOf('prefer', 'isolate', 'require'), NO_PINNING),
  hw('emulator_threads_policy', oneOf('isolate', 'share'), NO_PINNING),
  hw('cpu_dedicated_mask', CPU_MAP, NO_PINNING),
  hw('cpu_realtime', BOOL, NO_PINNING),
  hw('cpu_realtime_mask', CPU_MAP, NO_PINNING),
  hw(
    'mem_page_size',
    { kind: 'pattern', re: /^(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)$/ },
    () => 'huge pages are not supported by cellplane yet',
  ),
  hw('numa_nodes', INT1, NO_NUMA),
  hw('numa_cpus.{id}', CPU_MAP, NO_NUMA),
  hw('numa_mem.{id}', INT1, NO_NUMA),
  hw('pci_numa_affinity_policy', oneOf('required', 'preferred', 'legacy', 'socket'), NO_NUMA),
  hw('mem_encryption', BOOL, always('memory encryption (AMD SEV) is not supported by cellplane yet')),
  hw(
    'pmem',
    { kind: 'pattern', re: /^([a-zA-Z0-9_]+(,)?)+$/ },
    always('vPMEM devices are not supported by cellplane'),
  ),
  hw('hide_hypervisor_id', BOOL, GUEST),
  hw('cpu_sockets', INT1, GUEST),
  hw('cpu_cores', INT1, GUEST),
  hw('cpu_threads', INT1, GUEST),
  hw('max_cpu_sockets', INT1, GUEST),
  hw('max_cpu_cores', INT1, GUEST),
  hw('max_cpu_threads', INT1, GUEST),
  hw('boot_menu', BOOL, GUEST),
  hw('pmu', BOOL, GUEST),
  hw('serial_port_count', INT0, GUEST),
  hw('tpm_model', oneOf('tpm-tis', 'tpm-crb'), GUEST),
  hw('tpm_version', oneOf('1.2', '2.0'), GUEST),
  hw('watchdog_action', oneOf('none', 'pause', 'poweroff', 'reset', 'disabled'), GUEST),
  { name: 'hide_hypervisor_id', key: /^hide_hypervisor_id$/, value: BOOL, unless: GUEST },
  { name: 'hw_rng:allowed', key: /^hw_rng:allowed$/, value: BOOL, unless: GUEST },
  { name: 'hw_rng:rate_bytes', key: /^hw_rng:rate_bytes$/, value: INT0, unless: GUEST },
  { name: 'hw_rng:rate_period', key: /^hw_rng:rate_period$/, value: INT0, unless: GUEST },
  { name: 'hw_video:ram_max_mb', key: /^hw_video:ram_max_mb$/, value: INT0, unless: GUEST },
  { name: 'os:secure_boot', key: /^os:secure_boot$/, value: oneOf('disabled', 'required'), unless: GUEST },
  {
    name: 'quota:{cpu,memory,disk_io,vif}_{limit,reservation,shares_share}',
    key: /^quota:(cpu|memory|disk_io|vif)_(limit|reservation|shares_share)$/,
    value: { kind: 'int' },
    unless: always("a setting of Nova's VMware driver; cellplane has no such driver"),
  },
  {
    name: 'quota:{cpu,memory,disk_io,vif}_shares_level',
    key: /^quota:(cpu|memory|disk_io|vif)_shares_level$/,
    value: ANY,
    unless: always("a setting of Nova's VMware driver; cellplane has no such driver"),
  },
  {
    name: 'quota:cpu_{shares,period,quota}',
    key: /^quota:cpu_(shares|period|quota)$/,
    value: INT0,
    unless: GUEST,
  },
  {
    name: 'quota:disk_{read,write,total}_{bytes,iops}_sec',
    key: /^quota:disk_(read|write|total)_(bytes|iops)_sec$/,
    value: INT0,
    unless: GUEST,
  },
  {
    name: 'quota:vif_{inbound,outbound}_{average,peak,burst}',
    key: /^quota:vif_(inbound|outbound)_(average|peak|burst)$/,
    value: INT0,
    unless: GUEST,
  },
  {
    name: 'pci_passthrough:alias',
    key: /^pci_passthrough:alias$/,
    value: { kind: 'pattern', re: /^[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*$/ },
    unless: always('PCI passthrough is not supported by cellplane yet'),
  },
  {
    name: 'accel:device_profile',
    key: /^accel:device_profile$/,
    value: ANY,
    unless: always('accelerators (device profiles) are not supported by cellplane yet'),
  },
  {
    name: 'capabilities:{capability}',
    key: /^capabilities:\w+(:\w+)*$/,
    value: ANY,
    unless: always("a ComputeCapabilitiesFilter setting: cellplane's scheduler has no such filter"),
  },
  {
    name: 'vmware:{key}',
    key: /^vmware:.+$/,
    value: ANY,
    unless: always("a setting of Nova's VMware driver; cellplane has no such driver"),
  },
  {
    name: 'powervm:{key}',
    key: /^powervm:.+$/,
    value: ANY,
    unless: always("a setting of Nova's PowerVM driver; cellplane has no such driver"),
  },
];
