/**
 * Small fakes for ConductorOps alone (no bus, no actors): the scheduler's pick and reply for one
 * host, provider trees that keep who holds what per root (claims can be made to conflict), and
 * hosts that keep what runs where. Hooks let a test run something (a racing job) just before a
 * claim or a spawn lands.
 */
import type { ProviderTreeClient } from '../../../actors/provider-tree-client.ts';
import type { HostPick, SelectReply } from '../../../actors/scheduler-shard-messages.ts';
import type { InstanceHosts, SpawnVerdict } from '../../../cells/conductor/ports.ts';

export const pick = (host: string): HostPick => ({
  host,
  node: host,
  root: `root-${host}`,
  allocations: { [`root-${host}`]: { VCPU: 4 } },
  generations: { [`root-${host}`]: 1 },
});

/** Shard 0's answer: `p` selected. */
export const reply = (p: HostPick): SelectReply => ({
  requestId: 'r',
  shard: 0,
  outcome: 'selected',
  retryable: false,
  message: '',
  selections: [{ ...p, instance: 0, alternates: [] }],
  explain: {
    profile: 'default',
    snapshotGeneration: 1,
    hosts: 2,
    evaluated: 2,
    feasible: 2,
    skipped: [],
    rejected: [],
    resolvableRejections: 0,
  },
});

export interface FakeCell {
  readonly trees: ProviderTreeClient;
  readonly hosts: InstanceHosts;
  /** Every claim asked, by root, in order. */
  readonly claimed: string[];
  /** Every spawn asked, by host, in order. */
  readonly spawned: string[];
  /** What is held now: `consumer on root`. */
  claims(): string[];
  /** What runs now: `uuid on host`. */
  vms(): string[];
  /** `uuid` runs on `host` and holds its claim on `root-host` (what a finished build leaves). */
  runs(host: string, uuid: string): void;
  /** `f` runs once, just before the next claim on `root` lands. */
  beforeClaim(root: string, f: () => Promise<void>): void;
  /** `f` runs once, just before the next spawn lands. */
  beforeSpawn(f: () => Promise<void>): void;
}

/** Claims on a root in `conflicts` are refused (a stale generation), all others granted. */
export function fakeCell(conflicts: ReadonlySet<string> = new Set()): FakeCell {
  const held = new Map<string, Set<string>>();
  const running = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, k: string, v: string) => m.set(k, (m.get(k) ?? new Set()).add(v));
  const list = (m: Map<string, Set<string>>) =>
    [...m].flatMap(([k, vs]) => [...vs].map((v) => `${v} on ${k}`));
  const claimed: string[] = [];
  const spawned: string[] = [];
  let claimHook: { root: string; f: () => Promise<void> } | undefined;
  let spawnHook: (() => Promise<void>) | undefined;
  const trees = {
    claim: async (root: string, c: { consumer: string }) => {
      claimed.push(root);
      if (claimHook?.root === root) {
        const { f } = claimHook;
        claimHook = undefined;
        await f();
      }
      if (conflicts.has(root))
        return {
          ok: false,
          conflict: { reason: 'generation', message: 'stale', version: 2, generations: {}, free: {} },
        };
      add(held, root, c.consumer);
      return { ok: true, reply: { replayed: false, version: 2, generations: {} } };
    },
    release: async (root: string, consumer: string) => {
      held.get(root)?.delete(consumer);
      return { released: true };
    },
  } as unknown as ProviderTreeClient;
  const hosts: InstanceHosts = {
    spawn: async (host, spec) => {
      spawned.push(host);
      const f = spawnHook;
      spawnHook = undefined;
      await f?.();
      add(running, host, spec.uuid);
    },
    destroy: async (host, uuid) => running.get(host)?.delete(uuid) ?? false,
    reboot: async () => {},
    stop: async () => {},
    start: async () => {},
    spawnVerdict: (): SpawnVerdict => 'fatal',
    vmGone: () => false,
  };
  return {
    trees,
    hosts,
    claimed,
    spawned,
    claims: () => list(held),
    vms: () => list(running),
    runs(host, uuid) {
      add(running, host, uuid);
      add(held, `root-${host}`, uuid);
    },
    beforeClaim(root, f) {
      claimHook = { root, f };
    },
    beforeSpawn(f) {
      spawnHook = f;
    },
  };
}
