/**
 * The cell roles' view of the host agents: `HostAgentClient` adapted to the ports the conductor
 * (cells/conductor/ports.ts `InstanceHosts`) and the reconciler (cells/reconcile.ts
 * `ReconcileHosts`) declare. What a failed spawn means and whether a VM is gone are the agents'
 * own answers (host-agent/driver.ts); this file only routes each call to the host's agent.
 */
import type { InstanceHosts } from '../cells/conductor/ports.ts';
import { RECONCILE_ASK_TIMEOUT_MS, type ReconcileHosts } from '../cells/reconcile.ts';
import type { AgentTarget, HostAgentClient } from '../host-agent/client.ts';
import { isInstanceNotHere, spawnVerdict } from '../host-agent/driver.ts';

/**
 * The conductor's view of the host agents: instance operations, and what a failed spawn means and
 * whether the VM is gone (the host agents' own answers, host-agent/driver.ts).
 */
export function hostAgentInstances(
  agents: HostAgentClient,
  target: (host: string) => AgentTarget,
): InstanceHosts {
  return {
    spawn: async (host, spec) => {
      await agents.spawn(target(host), spec);
    },
    destroy: (host, uuid) => agents.destroy(target(host), uuid),
    reboot: async (host, uuid, type) => {
      await agents.reboot(target(host), uuid, type === 'HARD' ? 'hard' : 'soft');
    },
    stop: async (host, uuid) => {
      await agents.stop(target(host), uuid);
    },
    start: async (host, uuid) => {
      await agents.start(target(host), uuid);
    },
    spawnVerdict,
    vmGone: isInstanceNotHere,
  };
}

/** What the reconciler asks of the hosts: the agents' `status` (under a short timeout) and destroy. */
export function reconcileHosts(
  agents: HostAgentClient,
  target: (host: string) => AgentTarget,
): ReconcileHosts {
  return {
    list: async (host) => (await agents.status(target(host), RECONCILE_ASK_TIMEOUT_MS)).instances,
    destroy: (host, uuid) => agents.destroy(target(host), uuid),
  };
}
