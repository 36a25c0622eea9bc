/**
 * Failovers of the two roles that decide which hosts the scheduler may use:
 * - a scheduler shard leader that takes over starts with every host up; once it has loaded its
 *   trees it asks the cell's service monitor to tell it the unschedulable hosts again, so it stops
 *   offering a dead host within moments instead of after the monitor's periodic re-announcement
 *   (a grace period: 60 s by default);
 * - a service monitor that starts in a new conductor leader expects every host mapped to the
 *   cell, so a host that died before it started (never beats, never registers again) is declared
 *   down after one grace period instead of staying schedulable for good.
 * Observed from outside: the capacity reports the shard leaders publish for the cell router
 * (hosts up per shard) and the monitor's transitions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { capacityReport, capacitySubject } from '../../../actors/scheduler-shard-messages.ts';
import { decode } from '../../../core/codec/envelope.ts';
import { agentSubjects } from '../../../host-agent/agent.ts';
import { serviceTransition } from '../../../host-agent/messages.ts';
import { DEFAULT_GRACE_MS } from '../../../host-agent/monitor.ts';
import { CELL, type ConductorWorld, conductorWorld, TTL_MS } from './conductor-world.ts';

let w: ConductorWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

/** Watches the cell's capacity reports (hosts up per shard) and the monitor's transitions. */
async function watch(world: ConductorWorld) {
  const bus = world.broker.connect();
  const latest = new Map<number, number>();
  const told = new Map<string, boolean>();
  const subs = [
    await bus.subscribe(capacitySubject(CELL), (m) => {
      const r = decode(capacityReport, m.data);
      latest.set(r.shard, r.hosts);
    }),
    await bus.subscribe(agentSubjects(CELL).service, (m) => {
      const t = decode(serviceTransition, m.data);
      told.set(t.host, t.up);
    }),
  ];
  return {
    latest,
    told,
    upHosts: () => [...latest.values()].reduce((a, b) => a + b, 0),
    silence: (host: string) =>
      [...world.fleet.agents.hosts()].find((a) => a.host === host)!.missHeartbeats(-1),
    async close() {
      for (const sub of subs) await sub.unsubscribe();
      await bus.close();
    },
  };
}

describe('service replay on shard takeover', () => {
  it('a new shard leader knows a silent host is down long before the periodic re-announcement', async () => {
    w = await conductorWorld();
    const world = w;
    const v = await watch(world);
    try {
      await world.until(
        'both shards reported all 6 hosts up',
        () => v.latest.size === 2 && v.upHosts() === 6,
      );
      await world.until("the monitor heard cn0's heartbeats", () => v.told.get('cn0') === true);

      // cn0 stops beating: after the grace period the monitor tells the shards it is down.
      v.silence('cn0');
      await world.until('the shards count cn0 down', () => v.upHosts() === 5, DEFAULT_GRACE_MS * 2);

      // Standbys for both shards, then the leading replica dies: its leases lapse after the TTL.
      await world.shardReplica('b');
      await world.shardsFirst.crash();
      v.latest.clear();
      const crashedAt = world.clock.now();
      await world.until('the new leaders report', () => v.latest.size === 2, TTL_MS * 3);
      // Well inside the grace period the monitor would otherwise wait before saying it again.
      await world.until('the new leaders count cn0 down', () => v.upHosts() === 5, 10_000);
      expect(world.clock.now() - crashedAt).toBeLessThan(DEFAULT_GRACE_MS / 2);
    } finally {
      await v.close();
    }
  });
});

describe('service monitor after a conductor failover', () => {
  it('declares down a host of the cell that died before the new monitor started', async () => {
    w = await conductorWorld({ registry: true });
    const world = w;
    const v = await watch(world);
    try {
      await world.until('every host told up', () => [0, 1, 2, 3, 4, 5].every((n) => v.told.get(`cn${n}`)));
      world.fleet.agents.remove('cn0'); // the host dies: no beat, no registration on resync
      await world.first.crash(); // before the grace period ends: this monitor never says cn0 is down
      // A conductor process started after the host died (a restart, or a replacement standby):
      // its registrar hears every host on resync but cn0, which is only in the cell's mappings.
      await world.replica('c2');
      v.told.delete('cn0');
      // The new monitor never hears cn0, which is mapped to the cell: down after one grace period.
      await world.until('cn0 told down', () => v.told.get('cn0') === false, DEFAULT_GRACE_MS * 3);
      await world.until('the shards count cn0 down', () => v.upHosts() === 5, 10_000);
    } finally {
      await v.close();
    }
  });
});
