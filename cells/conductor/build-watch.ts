/**
 * The conductor leader's build watch: no accepted build stays in BUILD for ever.
 *
 * A build's only driver is its durable job. Should the job be gone — terminated, lost with a
 * queue, or never delivered again for a reason nobody foresaw — the record would sit in BUILD
 * while every process looks healthy. So, at takeover and then every `intervalMs`, the leader walks
 * the cell's BUILDING_INDEX (oldest first; it stops at the first instance younger than `stallMs`)
 * and for each build that no job of this conductor holds:
 * - older than `timeoutMs` (Nova's `instance_build_timeout`): it ends ERROR with a fault that says
 *   so (`expire`, run exclusively with the instance's jobs);
 * - else with no sign of life for `stallMs` (no record change, no delivery or retry of its job
 *   seen here): its build job is queued again (`kick`). A duplicate is harmless — a build job
 *   finds the record no longer in BUILD, or resumes it — so the watch errs on the side of kicking.
 * Every kick and expiry is reported (`onEvent`): a kick means a job went missing, which is a bug
 * worth a log line.
 */
import type { Clock } from '../../core/ports/clock.ts';
import type { Versioned } from '../../core/stores/records.ts';
import type { InstanceRecord, InstanceStore } from '../instances.ts';
import { BUILD_WATCH_MAX_KICKS, BUILD_WATCH_PAGE } from './limits.ts';

export type BuildWatchEvent =
  | { readonly type: 'kicked'; readonly uuid: string; readonly idleMs: number }
  | { readonly type: 'expired'; readonly uuid: string; readonly reason: string };

export interface BuildWatchOptions {
  readonly instances: Pick<InstanceStore, 'building' | 'get'>;
  readonly clock: Pick<Clock, 'now'>;
  readonly stallMs: number;
  readonly timeoutMs: number;
  /** True while a job of this conductor holds the instance (running or queued behind another). */
  inHand(uuid: string): boolean;
  /** When this conductor last saw a job of the instance delivered or retried; undefined if never. */
  lastSeen(uuid: string): number | undefined;
  /** Queues the instance's build job again. */
  kick(rec: Versioned<InstanceRecord>): Promise<void>;
  /** Ends the build ERROR with `reason`, unless it left BUILD meanwhile. */
  expire(uuid: string, reason: string): Promise<void>;
  /** Must not throw. */
  onEvent?(e: BuildWatchEvent): void;
}

export interface BuildWatchPass {
  /** Builds old enough to be looked at. */
  readonly checked: number;
  readonly kicked: number;
  readonly expired: number;
}

/** One pass over the cell's builds (see the module comment). */
export async function watchBuilds(o: BuildWatchOptions): Promise<BuildWatchPass> {
  const now = o.clock.now();
  let checked = 0;
  let kicked = 0;
  let expired = 0;
  let after: string | undefined;
  for (;;) {
    const page = await o.instances.building({ limit: BUILD_WATCH_PAGE, ...(after ? { after } : {}) });
    for (const member of page.members) {
      const bar = member.indexOf('|');
      const createdMs = Date.parse(member.slice(0, bar));
      // updatedAt >= createdAt: nothing younger than the stall bound can have stalled.
      if (now - createdMs < o.stallMs) return { checked, kicked, expired };
      const uuid = member.slice(bar + 1);
      if (o.inHand(uuid)) continue;
      const rec = await o.instances.get(uuid);
      if (rec?.value.status !== 'BUILD') continue;
      checked++;
      if (now - createdMs >= o.timeoutMs) {
        const reason = timeoutReason(rec.value, o.timeoutMs);
        await o.expire(uuid, reason);
        expired++;
        emit(o, { type: 'expired', uuid, reason });
        continue;
      }
      const idleMs = now - Math.max(Date.parse(rec.value.updatedAt), o.lastSeen(uuid) ?? 0);
      if (idleMs < o.stallMs || kicked >= BUILD_WATCH_MAX_KICKS) continue;
      await o.kick(rec);
      kicked++;
      emit(o, { type: 'kicked', uuid, idleMs });
    }
    if (page.next === undefined) return { checked, kicked, expired };
    after = page.next;
  }
}

function timeoutReason(r: InstanceRecord, timeoutMs: number): string {
  const where = r.placement ? ` on ${r.placement.host}` : '';
  return `Build timed out: still in BUILD (task ${r.taskState ?? 'none'}${where}) ${Math.round(timeoutMs / 1000)} s after it was accepted at ${r.createdAt}; last change ${r.updatedAt}`;
}

function emit(o: BuildWatchOptions, e: BuildWatchEvent): void {
  try {
    o.onEvent?.(e);
  } catch {
    // Contract: listeners must not throw.
  }
}
