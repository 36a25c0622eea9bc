/**
 * `cellplane up`: the whole control plane in one process on the embedded adapters with a
 * simulated fleet (deploy/embedded.ts), serving the compute API until Ctrl-C. The README's main job.
 */
import type { Command } from 'commander';
import { EXTRA_SPEC_VALIDATIONS, type ExtraSpecValidation } from '../core/model/extra-specs.ts';
import { DEFAULT_HOST, startEmbedded } from '../deploy/embedded.ts';
import { intIn, oneOf } from './options.ts';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description(
      'run everything in one process (embedded adapters, simulated hosts) and serve the compute API',
    )
    .option('--cells <n>', 'cells', intIn('--cells', 1, 100), 2)
    .option('--hosts-per-cell <n>', 'simulated hosts per cell', intIn('--hosts-per-cell', 1, 100_000), 50)
    .option('--shards <n>', 'scheduler shards per cell', intIn('--shards', 1, 64), 1)
    .option('--listen <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'compute API port (0: any free port)', intIn('--port', 0, 65_535), 8774)
    .option(
      '--placement-port <n>',
      "Placement API port, over the fleet's live provider trees (0: any free port)",
      intIn('--placement-port', 0, 65_535),
      8778,
    )
    .option('--seed <n>', 'seed of the simulated hosts', intIn('--seed', 0, 2 ** 31), 1)
    .option(
      '--spawn-failure-rate <p>',
      'probability that a simulated spawn fails (reschedules)',
      parseFloat,
      0,
    )
    .option(
      '--extra-spec-validation <mode>',
      'strict: refuse a flavor extra spec cellplane does not act on when it is set; lenient: store it and refuse boots with it',
      oneOf('--extra-spec-validation', EXTRA_SPEC_VALIDATIONS),
      'strict',
    )
    .action(
      async (o: {
        cells: number;
        hostsPerCell: number;
        shards: number;
        listen: string;
        port: number;
        placementPort: number;
        seed: number;
        spawnFailureRate: number;
        extraSpecValidation: ExtraSpecValidation;
      }) => {
        if (!(o.spawnFailureRate >= 0 && o.spawnFailureRate <= 1))
          throw new Error(`--spawn-failure-rate must be in [0, 1], got ${o.spawnFailureRate}`);
        const started = Date.now();
        console.error(
          `cellplane up: ${o.cells} cell(s) × ${o.hostsPerCell} simulated hosts (${DEFAULT_HOST.vcpus} VCPU ×${DEFAULT_HOST.allocationRatios?.vcpu ?? 1}, ${DEFAULT_HOST.memoryMb / 1024} GiB, ${DEFAULT_HOST.diskGb} GB each), ${o.shards} scheduler shard(s) per cell`,
        );
        const e = await startEmbedded({
          cells: o.cells,
          hostsPerCell: o.hostsPerCell,
          shardsPerCell: o.shards,
          seed: o.seed,
          compute: { extraSpecValidation: o.extraSpecValidation },
          ...(o.spawnFailureRate > 0 ? { driver: { failureRate: { spawn: o.spawnFailureRate } } } : {}),
        });
        const address = await e.app.listen({ host: o.listen, port: o.port });
        const url = `${address}/v2.1`;
        const placement = await e.placementApp.listen({ host: o.listen, port: o.placementPort });
        const hosts = [...e.roles.values()].reduce((n, r) => n + (r.registrar?.hosts().length ?? 0), 0);
        console.error(`  ${hosts} hosts registered so far, ready in ${Date.now() - started} ms`);
        console.log(`Compute API: ${url}   (no authentication; Ctrl-C stops)`);
        console.log(`Placement API: ${placement}   (the fleet's live provider trees)`);
        console.log(`Try: curl -s -X POST ${url}/servers -H 'content-type: application/json' \\`);
        console.log(`       -d '{"server": {"name": "vm1", "imageRef": "cirros", "flavorRef": "1"}}'`);
        console.log(`     curl -s ${url}/servers/detail`);
        let stopping = false;
        const stop = async (signal: string) => {
          if (stopping) return;
          stopping = true;
          console.error(`cellplane up: ${signal}, stopping…`);
          await e.stop();
          process.exit(0);
        };
        process.on('SIGINT', () => void stop('SIGINT'));
        process.on('SIGTERM', () => void stop('SIGTERM'));
      },
    );
}
