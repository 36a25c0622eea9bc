import type { Command } from 'commander';
import {
  DEFAULT_PORTS,
  DEFAULT_REDIS_PERSISTENCE,
  defaultServicesDir,
  ensureInstalled,
  ensureOpenStackTools,
  REDIS_PERSISTENCE,
  type RedisPersistence,
  type ServicesState,
  servicesDown,
  servicesStatus,
  servicesUp,
} from '../deploy/services.ts';
import { DEFAULT_HA_BASE_PORTS, HA_MEMBERS } from '../deploy/services-ha.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`"${value}" is not a TCP port (1–65535)`);
  return n;
}

function redisPersistence(value: string): RedisPersistence {
  const mode = REDIS_PERSISTENCE.find((m) => m === value);
  if (!mode)
    throw new Error(`--redis-persistence must be one of ${REDIS_PERSISTENCE.join(', ')}; got "${value}"`);
  return mode;
}

/**
 * What `services up` prints on stdout, for `eval`: the variables the roles read. With --ha the
 * NATS and etcd URLs list every member and streams get one replica per NATS node; a comment says
 * that Redis is not replicated.
 */
export function envLines(state: ServicesState): string[] {
  return [
    `export CELLPLANE_NATS_URL=${state.urls.nats}`,
    `export CELLPLANE_ETCD_URL=${state.urls.etcd}`,
    `export CELLPLANE_REDIS_URL=${state.urls.redis}`,
    `export CELLPLANE_STREAM_REPLICAS=${state.ha ? state.ha.nats.length : 1}`,
    ...(state.ha
      ? [
          '# Redis is one server, not replicated: losing it stops the control plane until it is back (production: a replica with Sentinel, see deploy/README.md)',
        ]
      : []),
  ];
}

export function registerServices(program: Command): void {
  const services = program
    .command('services')
    .description(
      'start, check and stop local nats-server (JetStream), etcd and redis-server on 127.0.0.1 (--ha: NATS and etcd as 3-member clusters)',
    );
  const dirOpt = `data and pid directory (default: $CELLPLANE_SERVICES_DIR or ${defaultServicesDir()})`;

  services
    .command('up')
    .description("start the servers (installing Debian's packages if missing) and wait until they answer")
    .option('--dir <path>', dirOpt)
    .option(
      '--ha',
      `NATS (JetStream, streams with ${HA_MEMBERS} replicas) and etcd as ${HA_MEMBERS}-member clusters; member i uses each port + i. Redis stays one server`,
    )
    .option('--nats-port <port>', `NATS client port (default ${DEFAULT_PORTS.nats})`, port)
    .option(
      '--nats-cluster-port <port>',
      `with --ha: NATS cluster (route) port (default ${DEFAULT_HA_BASE_PORTS.natsCluster})`,
      port,
    )
    .option(
      '--nats-monitor-port <port>',
      `with --ha: NATS monitoring port (default ${DEFAULT_HA_BASE_PORTS.natsMonitor})`,
      port,
    )
    .option('--etcd-port <port>', `etcd client port (default ${DEFAULT_PORTS.etcd})`, port)
    .option(
      '--etcd-peer-port <port>',
      `etcd peer port (default ${DEFAULT_PORTS.etcdPeer}; ${DEFAULT_HA_BASE_PORTS.etcdPeer} with --ha)`,
      port,
    )
    .option('--redis-port <port>', `Redis port (default ${DEFAULT_PORTS.redis})`, port)
    .option('--random-ports', 'pick free ports (so several runs can coexist)')
    .option(
      '--redis-persistence <mode>',
      `how Redis keeps its data: everysec = append-only file fsynced every second (a Redis restart loses nothing, a machine crash up to ~1 s of writes); always = fsync before every reply (nothing lost, every write waits for the disk); off = memory only (a Redis restart LOSES EVERY RECORD: instances, allocations, flavors; the roles rebuild what they can) (default ${DEFAULT_REDIS_PERSISTENCE})`,
      redisPersistence,
    )
    .action(async (o) => {
      if (!o.ha && (o.natsClusterPort || o.natsMonitorPort))
        throw new Error('--nats-cluster-port and --nats-monitor-port only apply with --ha');
      const ports: Record<string, number> = {};
      if (o.natsPort) ports.nats = o.natsPort;
      if (o.natsClusterPort) ports.natsCluster = o.natsClusterPort;
      if (o.natsMonitorPort) ports.natsMonitor = o.natsMonitorPort;
      if (o.etcdPort) ports.etcd = o.etcdPort;
      if (o.etcdPeerPort) ports.etcdPeer = o.etcdPeerPort;
      if (o.redisPort) ports.redis = o.redisPort;
      const state = await servicesUp({
        dir: o.dir,
        ports,
        randomPorts: !!o.randomPorts,
        ...(o.redisPersistence ? { redisPersistence: o.redisPersistence } : {}),
        ha: !!o.ha,
        log: (l) => console.error(l),
      });
      for (const line of envLines(state)) console.log(line);
    });

  services
    .command('down')
    .description('stop exactly the servers that "services up" started for this directory')
    .option('--dir <path>', dirOpt)
    .option('--purge', 'also delete their data')
    .action(async (o) => {
      await servicesDown(o.dir ?? defaultServicesDir(), { purge: !!o.purge, log: (l) => console.error(l) });
    });

  services
    .command('status')
    .description('show whether each server runs and answers')
    .option('--dir <path>', dirOpt)
    .option('--json', 'print JSON')
    .action(async (o) => {
      const rows = await servicesStatus(o.dir ?? defaultServicesDir());
      if (o.json) return console.log(JSON.stringify(rows, null, 2));
      if (rows.length === 0)
        return console.log('no services started for this directory (run "cellplane services up")');
      for (const r of rows) {
        const state = r.ready ? 'ready' : r.running ? 'running, not answering' : 'stopped';
        console.log(`${r.name.padEnd(6)} ${state.padEnd(24)} pid ${String(r.pid ?? '-').padEnd(8)} ${r.url}`);
      }
      if (rows.some((r) => !r.ready)) process.exitCode = 3;
    });

  services
    .command('install')
    .description("install Debian's nats-server, etcd-server and redis-server if missing (root)")
    .option(
      '--openstack',
      'also the OpenStack peers the tests compare against: openstack CLI, osc-placement, placement-api',
    )
    .action((o: { openstack?: boolean }) => {
      ensureInstalled((l) => console.error(l));
      if (o.openstack) ensureOpenStackTools((l) => console.error(l));
    });
}
