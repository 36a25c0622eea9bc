/**
 * The control plane's roles as separate processes on NATS, etcd and Redis:
 *   cellplane api        the compute API over every cell
 *   cellplane conductor  a conductor replica of one cell (hosts the cell's tree actors while leading)
 *   cellplane scheduler  replicas of scheduler shards of one cell
 *   cellplane agents     simulated hosts of one cell (fake hypervisors behind real host agents)
 * Each prints what it runs on stderr and one `ready …` line on stdout once serving, and stops
 * cleanly on SIGINT/SIGTERM (a leader resigns, so its standby takes over at once).
 * Connections: --nats/--etcd/--redis/--prefix, else $CELLPLANE_*, else --config file (deploy/config.ts).
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { connectCluster, startAgents, startApi, startConductor, startScheduler } from '../deploy/cluster.ts';
import { type ConfigFlags, DEFAULT_DEPLOY_CONFIG as D, resolveConfig } from '../deploy/config.ts';
import type { StoreNotice } from '../deploy/store-recovery.ts';
import type { FakeHostSpec } from '../host-agent/drivers/fake-host.ts';
import { intIn } from './options.ts';

function withConnection(cmd: Command): Command {
  return cmd
    .option('--nats <url>', `NATS URL(s), comma-separated (default: $CELLPLANE_NATS_URL, config, ${D.nats})`)
    .option('--etcd <url>', `etcd URL(s), comma-separated (default: $CELLPLANE_ETCD_URL, config, ${D.etcd})`)
    .option('--redis <url>', `the API's Redis (default: $CELLPLANE_REDIS_URL, config, ${D.redis})`)
    .option(
      '--prefix <name>',
      `deployment prefix of subjects and keys (default: $CELLPLANE_PREFIX, config, ${D.prefix})`,
    )
    .option('--config <file>', 'YAML/JSON config file (default: $CELLPLANE_CONFIG)')
    .option('--lease-ttl-ms <ms>', `leader lease TTL (default ${D.leaseTtlMs})`)
    .option('--ack-wait-ms <ms>', `job ack-wait of the conductors (default ${D.ackWaitMs})`)
    .option(
      '--stream-replicas <n>',
      `NATS servers holding a copy of each JetStream stream: 3 on a 3-node cluster (default: $CELLPLANE_STREAM_REPLICAS, config, ${D.streamReplicas})`,
    )
    .option('--replica-id <id>', 'name of this replica (default: <hostname>-<pid>)');
}

type RoleFlags = ConfigFlags & { leaseTtlMs?: string; ackWaitMs?: string; streamReplicas?: string };

function configOf(o: RoleFlags) {
  return resolveConfig(configFlags(o));
}

/** Runs until SIGINT/SIGTERM, then `stop()` and exit 0. */
function untilSignal(what: string, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`cellplane ${what}: ${signal}, stopping…`);
    void stop().finally(() => process.exit(0));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

/**
 * What a conductor process logs: leadership changes, problems, and every job that did not run
 * once and cleanly (redelivered, retried, given up, re-queued by the build watch, timed out).
 * Store notices (deploy/store-recovery.ts) are printed as their own line.
 */
const CONDUCTOR_LOGGED = new Set([
  'elected',
  'lost',
  'serving',
  'problem',
  'redelivered',
  'retry',
  'gaveUp',
  'fenced',
  'kicked',
  'expired',
  'reregister', // the registrar asked a host whose tree the store lost to register again
]);

const replicaOf = (o: { replicaId?: string }) => o.replicaId ?? `${hostname()}-${process.pid}`;

function parseShards(value: string): number[] {
  const out = value.split(',').map((s) => Number(s.trim()));
  if (out.some((n) => !Number.isInteger(n) || n < 0))
    throw new Error(`--shard must be shard numbers like 0 or 0,1; got "${value}"`);
  return out;
}

export function registerRoles(program: Command): void {
  withConnection(
    program.command('api').description('serve the compute API over every cell (real NATS/etcd/Redis)'),
  )
    .option('--listen <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', intIn('--port', 0, 65_535), 8774)
    .option(
      '--placement-port <n>',
      "also serve the Placement API over every cell's live provider trees on this port (0: any free port); traits, aggregates and inventory tuning of compute nodes are writable",
      intIn('--placement-port', 0, 65_535),
    )
    .option(
      '--cell-timeout-ms <ms>',
      'a cell slower than this to answer a list, a read or a health probe counts as down (config cell_timeout_ms)',
    )
    .option(
      '--quota-reconcile-ms <ms>',
      'period of the pass recounting quota usage from the cells (config quota_reconcile_ms)',
    )
    .option(
      '--extra-spec-validation <mode>',
      'strict: refuse a flavor extra spec cellplane does not act on when it is set; lenient: store it and refuse boots with it (config extra_spec_validation)',
    )
    .action(async (o) => {
      const config = resolveConfig({
        ...configFlags(o),
        cellTimeoutMs: o.cellTimeoutMs,
        quotaReconcileMs: o.quotaReconcileMs,
        extraSpecValidation: o.extraSpecValidation,
      });
      const cluster = await connectCluster(config, `api-${replicaOf(o)}`);
      const api = await startApi(cluster, { onLog: (line) => console.error(`cellplane api: ${line}`) });
      const address = await api.app.listen({ host: o.listen, port: o.port });
      console.error(
        `cellplane api: ${address}/v2.1 on NATS ${config.nats} (streams ×${config.streamReplicas}), etcd ${config.etcd}, Redis ${config.redis}`,
      );
      if (o.placementPort !== undefined) {
        const placement = await api.placementApp.listen({ host: o.listen, port: o.placementPort });
        console.error(`cellplane api: Placement over the live provider trees at ${placement}`);
        console.log(`ready placement ${placement}`);
      }
      console.log(`ready api ${address}/v2.1`);
      untilSignal('api', async () => {
        await api.stop();
        await cluster.close();
      });
    });

  withConnection(
    program
      .command('conductor')
      .description(
        "run a conductor replica of a cell (leader-elected; hosts the cell's tree actors while leading)",
      ),
  )
    .requiredOption('--cell <name>', 'the cell')
    .option('--shards <n>', 'scheduler shards of the cell', intIn('--shards', 1, 64), 1)
    .option(
      '--max-build-attempts <n>',
      `hosts tried per build (Nova max_attempts; default ${D.maxBuildAttempts})`,
    )
    .option(
      '--build-stall-ms <ms>',
      `a build no job drives this long has its job queued again (default ${D.buildStallMs})`,
    )
    .option(
      '--build-timeout-ms <ms>',
      `a build still in BUILD this long ends ERROR (default ${D.buildTimeoutMs})`,
    )
    .option(
      '--reconcile-interval-ms <ms>',
      `period of the leader's comparison of the instance records with what the hosts run (default ${D.reconcileIntervalMs})`,
    )
    .action(async (o) => {
      const config = resolveConfig({
        ...configFlags(o),
        maxBuildAttempts: o.maxBuildAttempts,
        buildStallMs: o.buildStallMs,
        buildTimeoutMs: o.buildTimeoutMs,
        reconcileIntervalMs: o.reconcileIntervalMs,
      });
      const replicaId = replicaOf(o);
      const cluster = await connectCluster(config, `conductor-${o.cell}-${replicaId}`);
      const roles = await startConductor(cluster, o.cell, {
        replicaId,
        shardCount: o.shards,
        onRoleEvent: (what, e) => {
          const t = (e as { type?: string }).type;
          if (t === 'store') console.error(`cellplane conductor ${o.cell}: ${(e as StoreNotice).message}`);
          // Every reconcile event is one line: each correction, each pass with its cost.
          if (CONDUCTOR_LOGGED.has(t ?? '') || what === 'reconcile')
            console.error(`cellplane conductor ${o.cell}: ${what} ${JSON.stringify(e)}`);
          if (what === 'conductor' && t === 'serving')
            console.log(`leading conductor ${o.cell} ${replicaId}`);
        },
      });
      console.error(
        `cellplane conductor: cell ${o.cell}, replica ${replicaId}, ${o.shards} shard(s), NATS ${config.nats}, reconcile every ${config.reconcileIntervalMs} ms`,
      );
      console.log(`ready conductor ${o.cell} ${replicaId}`);
      untilSignal('conductor', async () => {
        await roles.stop();
        await cluster.close();
      });
    });

  withConnection(
    program
      .command('scheduler')
      .description('run replicas of scheduler shards of a cell (each leader-elected)'),
  )
    .requiredOption('--cell <name>', 'the cell')
    .option('--shard <list>', 'shard number(s) to run a replica of, e.g. 0 or 0,1', parseShards, [0])
    .option('--shards <n>', 'shards the cell is split into', intIn('--shards', 1, 64), 1)
    .action(async (o) => {
      const config = configOf(o);
      const replicaId = replicaOf(o);
      const cluster = await connectCluster(config, `scheduler-${o.cell}-${replicaId}`);
      const roles = await startScheduler(cluster, o.cell, {
        replicaId,
        shards: o.shard,
        shardCount: o.shards,
        onRoleEvent: (what, e) => {
          const t = (e as { type?: string }).type;
          if (t === 'serving') console.log(`leading ${what} ${o.cell} ${replicaId}`);
          if (t === 'store') console.error(`cellplane scheduler ${o.cell}: ${(e as StoreNotice).message}`);
          if (t === 'elected' || t === 'lost' || t === 'problem')
            console.error(`cellplane scheduler ${o.cell}: ${what} ${JSON.stringify(e)}`);
        },
      });
      console.error(
        `cellplane scheduler: cell ${o.cell}, shard(s) ${o.shard.join(',')} of ${o.shards}, replica ${replicaId}`,
      );
      console.log(`ready scheduler ${o.cell} ${replicaId}`);
      untilSignal('scheduler', async () => {
        await roles.stop();
        await cluster.close();
      });
    });

  withConnection(
    program
      .command('agents')
      .description('run simulated hosts of a cell: real host agents over fake hypervisors'),
  )
    .requiredOption('--cell <name>', 'the cell')
    .option('--count <n>', 'hosts', intIn('--count', 1, 100_000), 10)
    .option('--name-prefix <p>', 'host names are <prefix><number> (default: <cell>-cn)')
    .option('--first <n>', 'number of the first host', intIn('--first', 0, 10_000_000), 1)
    .option('--vcpus <n>', 'VCPUs per host', intIn('--vcpus', 1, 4096), 32)
    .option('--ram-mb <n>', 'RAM per host (MB)', intIn('--ram-mb', 1, 64 * 1024 * 1024), 131_072)
    .option('--disk-gb <n>', 'disk per host (GB)', intIn('--disk-gb', 1, 1_000_000), 2_000)
    .option('--vcpu-ratio <r>', 'VCPU allocation ratio', Number.parseFloat, 4)
    .option('--traits <list>', 'traits of the hosts, comma-separated (e.g. CUSTOM_FAST,HW_CPU_X86_AVX2)')
    .option(
      '--traits-on <n>',
      'how many of the hosts (the first ones) carry --traits (default: all)',
      intIn('--traits-on', 0, 100_000),
    )
    .option('--spawn-ms <min-max>', 'simulated spawn latency range, e.g. 20-80', '5-20')
    .option(
      '--spawn-failure-rate <p>',
      'probability that a spawn fails (the conductor reschedules)',
      Number.parseFloat,
      0,
    )
    .option('--seed <n>', 'seed of the fakes', intIn('--seed', 0, 2 ** 31), 1)
    .action(async (o) => {
      const config = configOf(o);
      const m = /^(\d+)-(\d+)$/.exec(o.spawnMs);
      if (!m || Number(m[1]) > Number(m[2]))
        throw new Error(`--spawn-ms must look like 20-80, got "${o.spawnMs}"`);
      if (!(o.spawnFailureRate >= 0 && o.spawnFailureRate <= 1))
        throw new Error(`--spawn-failure-rate must be in [0, 1], got ${o.spawnFailureRate}`);
      if (!(o.vcpuRatio > 0)) throw new Error(`--vcpu-ratio must be > 0, got ${o.vcpuRatio}`);
      const traits: string[] = o.traits
        ? String(o.traits)
            .split(',')
            .map((t: string) => t.trim())
            .filter(Boolean)
        : [];
      const traitsOn = o.traitsOn ?? o.count;
      const prefix = o.namePrefix ?? `${o.cell}-cn`;
      const hosts: FakeHostSpec[] = Array.from({ length: o.count }, (_, i) => ({
        hostname: `${prefix}${String(o.first + i).padStart(4, '0')}`,
        vcpus: o.vcpus,
        memoryMb: o.ramMb,
        diskGb: o.diskGb,
        allocationRatios: { vcpu: o.vcpuRatio },
        ...(i < traitsOn && traits.length ? { traits } : {}),
      }));
      const cluster = await connectCluster(config, `agents-${o.cell}-${replicaOf(o)}`);
      const fleet = await startAgents(cluster, o.cell, {
        hosts,
        seed: o.seed,
        driver: {
          latency: { spawn: { minMs: Number(m[1]), maxMs: Number(m[2]) } },
          ...(o.spawnFailureRate > 0 ? { failureRate: { spawn: o.spawnFailureRate } } : {}),
        },
      });
      console.error(
        `cellplane agents: ${o.count} simulated hosts in cell ${o.cell} (${hosts[0]!.hostname} …)`,
      );
      console.log(`ready agents ${o.cell} ${o.count}`);
      untilSignal('agents', async () => {
        await fleet.stop();
        await cluster.close();
      });
    });
}

function configFlags(o: RoleFlags): ConfigFlags {
  return {
    nats: o.nats,
    etcd: o.etcd,
    redis: o.redis,
    prefix: o.prefix,
    config: o.config,
    leaseTtlMs: o.leaseTtlMs,
    ackWaitMs: o.ackWaitMs,
    streamReplicas: o.streamReplicas,
  };
}
