/**
 * Nothing outlives a deleted instance's record. The conductor runs the jobs of one instance
 * concurrently, so a delete can read the record, free every claim and destroy every VM it names,
 * and purge it — all between another job writing a placement (or a move's target) into the
 * record and that job's claim or spawn landing on the host. The delete cannot see a claim that
 * has not landed yet; the claimer can see the delete. So:
 *
 * - a claim is followed by a second look at the record: if it is gone, being deleted, or no
 *   longer names the claimed tree, the claim is freed at once (`claimWhileLive`). Either the
 *   look comes before the delete marks the record (and the delete frees the claim, which has
 *   landed by then) or after (and the claimer frees it): no order leaks it.
 * - a spawn whose result the record will not take because the instance is going away is undone:
 *   destroy on that host and free its claim (`undoForDelete`), both idempotent, in case the
 *   delete had already passed that host.
 *
 * (Seen in a real-time simulator run: a provider still holding a deleted server's 1 VCPU, 2 GiB
 * and 20 GB after a cold migration raced its delete.)
 */
import type { ClaimOutcome, ProviderTreeClient } from '../../actors/provider-tree-client.ts';
import type { HostPick } from '../../actors/scheduler-shard-messages.ts';
import { toCellplaneError } from '../../core/errors.ts';
import type { InstancePlacement, InstanceRecord, InstanceStore } from '../instances.ts';

type Where = Pick<HostPick, 'root' | 'allocations'> & { readonly generations?: HostPick['generations'] };

/** A claim that landed for an instance that is going away, and was freed again. */
export interface ClaimForGone {
  readonly ok: false;
  readonly gone: true;
}

/**
 * The instance's claim of `where` on its tree: a scheduler's pick carries the generations it saw
 * (refused if they moved on); a placement resumed from the record carries none (a replay).
 */
function claimFor(trees: ProviderTreeClient, r: InstanceRecord, where: Where): Promise<ClaimOutcome> {
  return trees.claim(where.root, {
    consumer: r.uuid,
    project: r.projectId,
    user: r.userId,
    allocations: where.allocations,
    ...(where.generations ? { expectedGenerations: where.generations } : {}),
  });
}

/** `claimFor`, then the second look: freed again (`gone`) if the instance is going away. */
export async function claimWhileLive(
  d: { readonly trees: ProviderTreeClient; readonly instances: InstanceStore },
  r: InstanceRecord,
  where: Where,
): Promise<ClaimOutcome | ClaimForGone> {
  const claimed = await claimFor(d.trees, r, where);
  if (!claimed.ok) return claimed;
  const cur = await d.instances.get(r.uuid);
  if (cur && cur.value.taskState !== 'deleting' && names(cur.value, where.root)) return claimed;
  await d.trees.release(where.root, r.uuid);
  return { ok: false, gone: true };
}

/**
 * After a spawn on `p` whose result the record would not take: if the instance is gone or being
 * deleted, destroy it there (a host that does not answer is left to the reconciler) and free the
 * claim. A record that is still there and not deleting (a twin delivery finished it) is left alone.
 */
export async function undoForDelete(
  d: {
    readonly trees: ProviderTreeClient;
    readonly instances: InstanceStore;
    readonly hosts: { destroy(host: string, uuid: string): Promise<unknown> };
  },
  uuid: string,
  p: Pick<InstancePlacement, 'host' | 'root'>,
): Promise<void> {
  const cur = await d.instances.get(uuid);
  if (cur && cur.value.taskState !== 'deleting') return;
  try {
    await d.hosts.destroy(p.host, uuid);
  } catch (err) {
    const code = toCellplaneError(err).code;
    if (code !== 'noResponders' && code !== 'timeout' && code !== 'notFound') throw err;
  }
  await d.trees.release(p.root, uuid);
}

/** Whether the record names a claim on tree `root`: its placement, or a move's source or target. */
function names(r: InstanceRecord, root: string): boolean {
  const m = r.migration;
  return r.placement?.root === root || m?.source.root === root || m?.target?.root === root;
}
