/**
 * Where the role processes (`cellplane api|conductor|scheduler|agents`) find NATS, etcd and
 * Redis, and the knobs they share. Precedence: command-line flags, then environment
 * (CELLPLANE_NATS_URL, CELLPLANE_ETCD_URL, CELLPLANE_REDIS_URL, CELLPLANE_PREFIX,
 * CELLPLANE_STREAM_REPLICAS), then the config file (`--config cellplane.yaml`, YAML or JSON,
 * snake_case keys), then defaults. `nats` and `etcd` name every member of a cluster: a YAML list,
 * or comma-separated in one string (as in flags and the environment); the roles connect to all.
 *
 * ```yaml
 * nats: [nats://10.0.0.5:4222, nats://10.0.0.6:4222, nats://10.0.0.7:4222]
 * etcd: http://10.0.0.5:2379,http://10.0.0.6:2379,http://10.0.0.7:2379
 * redis: redis://10.0.0.7:6379/0     # the API's store; each cell names its own Redis
 * prefix: prod                      # isolates subjects, keys and streams of one deployment
 * lease_ttl_ms: 5000                # leader leases (conductors, scheduler shards)
 * ack_wait_ms: 30000                # a job not renewed this long goes to another conductor
 * max_build_attempts: 3             # hosts tried per build (Nova's max_attempts)
 * reconcile_interval_ms: 60000      # the conductor leader compares records with the hosts this often
 * build_stall_ms: 120000            # a build no job drives this long is queued again (> ack_wait_ms)
 * build_timeout_ms: 1800000         # a build still in BUILD this long ends ERROR (Nova's instance_build_timeout)
 * cell_timeout_ms: 10000            # (api) a cell slower than this to answer a list, a read or a
 *                                   # health probe counts as down for that request
 * quota_reconcile_ms: 300000        # (api) period of the pass that recounts quota usage from the cells
 * stream_replicas: 3                # copies of each JetStream stream (1: a single NATS server)
 * extra_spec_validation: strict     # (api) strict: a flavor extra spec cellplane does not act on is
 *                                   # refused when set; lenient: stored (flavors copied from Nova)
 *                                   # and refused at boot instead
 * ```
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_LEADER_LEASE_TTL_MS } from '../actors/runtime/leader-loop.ts';
import { DEFAULT_QUOTA_RECONCILE_INTERVAL_MS } from '../api/compute/quota-reconcile.ts';
import {
  DEFAULT_BUILD_STALL_MS,
  DEFAULT_BUILD_TIMEOUT_MS,
  DEFAULT_JOB_ACK_WAIT_MS,
  DEFAULT_MAX_BUILD_ATTEMPTS,
} from '../cells/conductor/limits.ts';
import { DEFAULT_CELL_TIMEOUT_MS } from '../cells/cross-cell-list.ts';
import { DEFAULT_RECONCILE_INTERVAL_MS } from '../cells/reconcile.ts';
import { MAX_STREAM_REPLICAS } from '../core/adapters/nats/bus-support.ts';
import { serverList } from '../core/adapters/shared/urls.ts';
import { EXTRA_SPEC_VALIDATIONS, type ExtraSpecValidation } from '../core/model/extra-specs.ts';

export interface DeployConfig {
  /** The NATS servers, comma-separated (every node of a cluster). */
  readonly nats: string;
  /** The etcd members, comma-separated. */
  readonly etcd: string;
  readonly redis: string;
  readonly prefix: string;
  readonly leaseTtlMs: number;
  readonly ackWaitMs: number;
  readonly maxBuildAttempts: number;
  /** Period of the conductor leader's reconcile pass (cells/reconcile.ts). */
  readonly reconcileIntervalMs: number;
  readonly buildStallMs: number;
  readonly buildTimeoutMs: number;
  readonly cellTimeoutMs: number;
  readonly quotaReconcileMs: number;
  /** Servers holding a copy of each JetStream stream: 1, or 3 on a 3-node cluster (at most 5). */
  readonly streamReplicas: number;
  /** (api) Whether flavor extra specs are checked when set (api/compute ComputeConfig). */
  readonly extraSpecValidation: ExtraSpecValidation;
}

export const DEFAULT_DEPLOY_CONFIG: DeployConfig = Object.freeze({
  nats: 'nats://127.0.0.1:4222',
  etcd: 'http://127.0.0.1:2379',
  redis: 'redis://127.0.0.1:6379/0',
  prefix: 'cellplane',
  leaseTtlMs: DEFAULT_LEADER_LEASE_TTL_MS,
  ackWaitMs: DEFAULT_JOB_ACK_WAIT_MS,
  maxBuildAttempts: DEFAULT_MAX_BUILD_ATTEMPTS,
  reconcileIntervalMs: DEFAULT_RECONCILE_INTERVAL_MS,
  buildStallMs: DEFAULT_BUILD_STALL_MS,
  buildTimeoutMs: DEFAULT_BUILD_TIMEOUT_MS,
  cellTimeoutMs: DEFAULT_CELL_TIMEOUT_MS,
  quotaReconcileMs: DEFAULT_QUOTA_RECONCILE_INTERVAL_MS,
  streamReplicas: 1,
  extraSpecValidation: 'strict',
});

const FILE_KEYS: Record<string, keyof DeployConfig> = {
  nats: 'nats',
  etcd: 'etcd',
  redis: 'redis',
  prefix: 'prefix',
  lease_ttl_ms: 'leaseTtlMs',
  ack_wait_ms: 'ackWaitMs',
  max_build_attempts: 'maxBuildAttempts',
  reconcile_interval_ms: 'reconcileIntervalMs',
  build_stall_ms: 'buildStallMs',
  build_timeout_ms: 'buildTimeoutMs',
  cell_timeout_ms: 'cellTimeoutMs',
  quota_reconcile_ms: 'quotaReconcileMs',
  stream_replicas: 'streamReplicas',
  extra_spec_validation: 'extraSpecValidation',
};
const NUMERIC = new Set<keyof DeployConfig>([
  'leaseTtlMs',
  'ackWaitMs',
  'maxBuildAttempts',
  'reconcileIntervalMs',
  'buildStallMs',
  'buildTimeoutMs',
  'cellTimeoutMs',
  'quotaReconcileMs',
  'streamReplicas',
]);
/** Keys naming servers: a list in a file is joined into the comma-separated form. */
const SERVER_LISTS = new Set<keyof DeployConfig>(['nats', 'etcd']);

export type ConfigFlags = Partial<Record<keyof DeployConfig, string | number | undefined>> & {
  readonly config?: string | undefined;
};

/** The effective configuration; throws an Error naming the source and key of a bad value. */
export function resolveConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): DeployConfig {
  const out: Record<string, unknown> = { ...DEFAULT_DEPLOY_CONFIG };
  const file = flags.config ?? env.CELLPLANE_CONFIG;
  if (file) Object.assign(out, readConfigFile(file));
  const fromEnv: Partial<Record<keyof DeployConfig, string | undefined>> = {
    nats: env.CELLPLANE_NATS_URL,
    etcd: env.CELLPLANE_ETCD_URL,
    redis: env.CELLPLANE_REDIS_URL,
    prefix: env.CELLPLANE_PREFIX,
    streamReplicas: env.CELLPLANE_STREAM_REPLICAS,
  };
  for (const [k, v] of Object.entries(fromEnv)) if (v) out[k] = v;
  for (const k of Object.values(FILE_KEYS)) {
    const v = flags[k];
    if (v !== undefined) out[k] = v;
  }
  for (const k of NUMERIC) {
    const n = Number(out[k]);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`${k}: must be a positive integer, got ${JSON.stringify(out[k])}`);
    out[k] = n;
  }
  if ((out.buildStallMs as number) <= (out.ackWaitMs as number))
    throw new Error(
      `build_stall_ms (${out.buildStallMs}) must exceed ack_wait_ms (${out.ackWaitMs}): a job held by a dead conductor comes back only after the ack-wait`,
    );
  if ((out.buildTimeoutMs as number) <= (out.buildStallMs as number))
    throw new Error(
      `build_timeout_ms (${out.buildTimeoutMs}) must exceed build_stall_ms (${out.buildStallMs})`,
    );
  if ((out.streamReplicas as number) > MAX_STREAM_REPLICAS)
    throw new Error(
      `streamReplicas: at most ${MAX_STREAM_REPLICAS} (JetStream's maximum), got ${out.streamReplicas}`,
    );
  if (!(EXTRA_SPEC_VALIDATIONS as readonly unknown[]).includes(out.extraSpecValidation))
    throw new Error(
      `extraSpecValidation: one of ${EXTRA_SPEC_VALIDATIONS.join(', ')}, got ${JSON.stringify(out.extraSpecValidation)}`,
    );
  for (const k of SERVER_LISTS) out[k] = serverList(String(out[k]), k).join(',');
  if (!/^[A-Za-z0-9]+$/.test(String(out.prefix)))
    throw new Error(
      `prefix: letters and digits only (it prefixes NATS subjects), got ${JSON.stringify(out.prefix)}`,
    );
  return Object.freeze(out as unknown as DeployConfig);
}

export function readConfigFile(path: string): Partial<DeployConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new Error(`config file ${path}: not valid YAML/JSON: ${(err as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw new Error(`config file ${path}: must be a mapping of keys`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    const key = FILE_KEYS[k];
    if (!key)
      throw new Error(
        `config file ${path}: unknown key "${k}" (known: ${Object.keys(FILE_KEYS).join(', ')})`,
      );
    if (SERVER_LISTS.has(key) && Array.isArray(v) && v.length > 0 && v.every((u) => typeof u === 'string')) {
      out[key] = v.join(',');
      continue;
    }
    if (typeof v !== 'string' && typeof v !== 'number')
      throw new Error(
        `config file ${path}: ${k} must be a ${SERVER_LISTS.has(key) ? 'URL or a list of URLs' : 'string or a number'}`,
      );
    out[key] = v;
  }
  return out as Partial<DeployConfig>;
}
