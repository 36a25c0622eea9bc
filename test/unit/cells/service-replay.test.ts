/**
 * A scheduler shard leader that takes over starts with every host up; once it has loaded its
 * trees it asks the cell's service monitor to tell it the unschedulable hosts again, so it stops
 * offering a dead host within moments instead of after the monitor's periodic re-announcement
 * (a grace period: 60 s by default). Observed from outside, through the capacity reports the
 * shard leaders publish for the cell router (hosts up per shard).
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

describe('service replay on shard takeover', () => {
  it('a new shard leader knows a silent host is down long before the periodic re-announcement', async () => {
    w = await conductorWorld();
    const world = w;
    const bus = world.broker.connect();
    /** Per shard: [leader's replica id, hosts up] of its latest capacity report. */
    const latest = new Map<number, number>();
    const sub = await bus.subscribe(capacitySubject(CELL), (m) => {
      const r = decode(capacityReport, m.data);
      latest.set(r.shard, r.hosts);
    });
    /** Host → the last transition the monitor published for it. */
    const told = new Map<string, boolean>();
    const svc = await bus.subscribe(agentSubjects(CELL).service, (m) => {
      const t = decode(serviceTransition, m.data);
      told.set(t.host, t.up);
    });
    const upHosts = () => [...latest.values()].reduce((a, b) => a + b, 0);
    try {
      await world.until('both shards reported all 6 hosts up', () => latest.size === 2 && upHosts() === 6);
      await world.until("the monitor heard cn0's heartbeats", () => told.get('cn0') === true);

      // cn0 stops beating: after the grace period the monitor tells the shards it is down.
      const cn0 = [...world.fleet.agents.hosts()].find((a) => a.host === 'cn0')!;
      cn0.missHeartbeats(-1);
      await world.until('the shards count cn0 down', () => upHosts() === 5, DEFAULT_GRACE_MS * 2);

      // Standbys for both shards, then the leading replica dies: its leases lapse after the TTL.
      await world.shardReplica('b');
      await world.shardsFirst.crash();
      latest.clear();
      const crashedAt = world.clock.now();
      await world.until('the new leaders report', () => latest.size === 2, TTL_MS * 3);
      // Well inside the grace period the monitor would otherwise wait before saying it again.
      await world.until('the new leaders count cn0 down', () => upHosts() === 5, 10_000);
      expect(world.clock.now() - crashedAt).toBeLessThan(DEFAULT_GRACE_MS / 2);
    } finally {
      await sub.unsubscribe();
      await svc.unsubscribe();
      await bus.close();
    }
  });
});
