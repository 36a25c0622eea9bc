/**
 * `cellplane placement`: a standalone Placement-compatible API server (microversions 1.0–1.39).
 *   cellplane placement --port 8778 [--host 127.0.0.1] [--redis URL] [--prefix P]
 *                       [--auth-token T | --noauth]
 * Prints the URL, serves until SIGINT/SIGTERM, then closes cleanly.
 */
import type { Command } from 'commander';
import type { AuthConfig } from '../api/placement/auth.ts';
import {
  DEFAULT_PLACEMENT_PORT,
  DEFAULT_REDIS_PREFIX,
  startPlacementServer,
} from '../deploy/placement-server.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`"${value}" is not a TCP port (0–65535)`);
  return n;
}

interface PlacementFlags {
  port: number;
  host: string;
  redis?: string;
  prefix: string;
  authToken?: string;
  noauth?: boolean;
  log?: boolean;
}

export function authFromFlags(o: Pick<PlacementFlags, 'authToken' | 'noauth'>): AuthConfig {
  if (o.authToken !== undefined && o.noauth)
    throw new Error('--auth-token and --noauth contradict each other: pick one');
  if (o.authToken !== undefined) return { mode: 'token', token: o.authToken };
  if (o.noauth) return { mode: 'noauth' };
  const env = process.env.CELLPLANE_PLACEMENT_TOKEN;
  if (env) return { mode: 'token', token: env };
  throw new Error('give --auth-token T (or $CELLPLANE_PLACEMENT_TOKEN) or --noauth');
}

export function registerPlacement(program: Command): void {
  program
    .command('placement')
    .description('run a standalone OpenStack Placement-compatible API server (microversions 1.0–1.39)')
    .option(
      '--port <port>',
      `TCP port (default ${DEFAULT_PLACEMENT_PORT}; 0 picks a free one)`,
      port,
      DEFAULT_PLACEMENT_PORT,
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--redis <url>', 'keep the state in Redis (default: in memory, lost on exit)')
    .option('--prefix <prefix>', 'Redis key prefix', DEFAULT_REDIS_PREFIX)
    .option('--auth-token <token>', 'admin token clients send as X-Auth-Token')
    .option('--noauth', 'accept every request without a token (local use only)')
    .option('--log', 'log requests (JSON, to stdout)')
    .action(async (o: PlacementFlags) => {
      const server = await startPlacementServer({
        host: o.host,
        port: o.port,
        auth: authFromFlags(o),
        ...(o.redis ? { redisUrl: o.redis } : {}),
        prefix: o.prefix,
        logger: !!o.log,
      });
      console.log(server.url);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
    });
}
