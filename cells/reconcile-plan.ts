/**
 * What one host's report means against the records (pure): the findings the reconciler
 * (cells/reconcile.ts) then checks against a fresh read of each record before it corrects anything.
 *
 * The records are a snapshot read BEFORE the host was asked, each reduced to `Seen`. A finding on a
 * record is only acted on if the record still has the snapshot's generation after the host
 * answered: then nothing wrote it between the two reads, so nothing can have started, moved or
 * stopped the VM in between (every operation writes the record first), and the host's answer is
 * about the state the record describes.
 */

import type { InstanceRecord, InstanceStatus } from './instances.ts';
import type { VmPower } from './reconcile-fix.ts';
import { hostsOf, steady } from './reconcile-fix.ts';

/** What the reconciler keeps of a record between the snapshot and the host's answer. */
export interface Seen {
  readonly generation: number;
  readonly status: InstanceStatus;
  /** The placement's host (where it should run now), if any. */
  readonly host: string | null;
  /** Every host it may run on (placement, a move's source and target). */
  readonly hosts: readonly string[];
  /** No task, no move, a settled status (reconcile-fix.ts `steady`). */
  readonly steady: boolean;
}

export function seenOf(generation: number, r: InstanceRecord): Seen {
  return {
    generation,
    status: r.status,
    host: r.placement?.host ?? null,
    hosts: hostsOf(r),
    steady: steady(r),
  };
}

/** A VM as its host reports it. */
export interface HostVm {
  readonly uuid: string;
  readonly powerState: VmPower;
}

export type Finding =
  /** A steady record places it on the host; the host does not run it. */
  | { readonly kind: 'missing'; readonly uuid: string; readonly generation: number }
  /** A steady record places it on the host; the host runs it in another power state. */
  | { readonly kind: 'power'; readonly uuid: string; readonly generation: number; readonly vm: VmPower }
  /** The host runs it; the snapshot does not place it there (moved away, deleted, or no record). */
  | { readonly kind: 'stray'; readonly uuid: string };

/**
 * The findings on `host`. `placedHere`: the uuids the snapshot places on the host (any of its
 * hosts); `seen(uuid)`: the snapshot's view of any instance.
 */
export function planHost(
  host: string,
  placedHere: readonly string[],
  seen: (uuid: string) => Seen | undefined,
  vms: readonly HostVm[],
): Finding[] {
  const out: Finding[] = [];
  const running = new Map(vms.map((v) => [v.uuid, v.powerState] as const));
  for (const uuid of placedHere) {
    const s = seen(uuid);
    if (!s?.steady || s.host !== host) continue;
    const vm = running.get(uuid);
    if (vm === undefined) out.push({ kind: 'missing', uuid, generation: s.generation });
    else if (s.status === 'ACTIVE' ? vm !== 'running' : s.status === 'SHUTOFF' && vm === 'running')
      out.push({ kind: 'power', uuid, generation: s.generation, vm });
  }
  for (const v of vms) {
    const s = seen(v.uuid);
    if (!s?.hosts.includes(host)) out.push({ kind: 'stray', uuid: v.uuid });
  }
  return out;
}
