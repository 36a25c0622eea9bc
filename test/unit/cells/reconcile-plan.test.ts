/**
 * What one host's report means against the records (cells/reconcile-plan.ts), as a table: which
 * records are findings, and which are left alone because something is under way.
 */
import { describe, expect, it } from 'vitest';
import type { InstanceStatus } from '../../../cells/instances.ts';
import { type Finding, type HostVm, planHost, type Seen } from '../../../cells/reconcile-plan.ts';

const H = 'cn1';

/** A snapshot entry: steady, placed on `host`. */
function seen(status: InstanceStatus, host: string | null = H, more: Partial<Seen> = {}): Seen {
  return { generation: 7, status, host, hosts: host ? [host] : [], steady: true, ...more };
}

const cases: Array<{
  name: string;
  record: Seen | undefined;
  vm: HostVm['powerState'] | null;
  want: Finding['kind'] | null;
}> = [
  { name: 'ACTIVE, runs', record: seen('ACTIVE'), vm: 'running', want: null },
  { name: 'ACTIVE, not on the host', record: seen('ACTIVE'), vm: null, want: 'missing' },
  { name: 'SHUTOFF, not on the host', record: seen('SHUTOFF'), vm: null, want: 'missing' },
  {
    name: 'ERROR still placed here, not on the host (a correction cut short)',
    record: seen('ERROR'),
    vm: null,
    want: 'missing',
  },
  { name: 'ACTIVE, shut down', record: seen('ACTIVE'), vm: 'shutdown', want: 'power' },
  { name: 'ACTIVE, crashed', record: seen('ACTIVE'), vm: 'crashed', want: 'power' },
  { name: 'SHUTOFF, running', record: seen('SHUTOFF'), vm: 'running', want: 'power' },
  { name: 'SHUTOFF, shut down', record: seen('SHUTOFF'), vm: 'shutdown', want: null },
  { name: 'ERROR, running (Nova leaves ERROR alone)', record: seen('ERROR'), vm: 'running', want: null },
  // Under way: a task, a move, a build — never a finding, whatever the host says.
  { name: 'task under way, VM gone', record: seen('ACTIVE', H, { steady: false }), vm: null, want: null },
  {
    name: 'BUILD spawning here, not listed yet',
    record: seen('BUILD', H, { steady: false }),
    vm: null,
    want: null,
  },
  {
    name: 'a move: placed elsewhere, target here, VM here',
    record: seen('RESIZE', 'cn2', { steady: false, hosts: ['cn2', H] }),
    vm: 'running',
    want: null,
  },
  // VMs the snapshot does not place here.
  { name: 'placed on another host', record: seen('ACTIVE', 'cn2'), vm: 'running', want: 'stray' },
  {
    name: 'placed nowhere (ERROR after a failed build)',
    record: seen('ERROR', null),
    vm: 'running',
    want: 'stray',
  },
  { name: 'no record', record: undefined, vm: 'running', want: 'stray' },
];

describe('planHost', () => {
  it.each(cases)('$name → $want', ({ record, vm, want }) => {
    const uuid = 'u1';
    const placedHere = record?.hosts.includes(H) ? [uuid] : [];
    const vms: HostVm[] = vm ? [{ uuid, powerState: vm }] : [];
    const out = planHost(H, placedHere, (u) => (u === uuid ? record : undefined), vms);
    expect(out.map((f) => f.kind)).toEqual(want ? [want] : []);
    for (const f of out) if (f.kind !== 'stray') expect(f.generation).toBe(7); // re-checked before acting
  });
});
