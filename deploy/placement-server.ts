/**
 * A standalone Placement server: opens the store (Redis when a URL is given, else embedded
 * memory), loads the state, builds the app and listens. `close()` stops listening, then closes
 * the service and the store. Used by `cellplane placement` and by tests that need a real socket.
 */
import type { FastifyInstance } from 'fastify';
import { buildPlacementApp } from '../api/placement/app.ts';
import type { AuthConfig } from '../api/placement/auth.ts';
import { PlacementService } from '../api/placement/service.ts';
import { MemoryStore } from '../core/adapters/memory/store.ts';
import { RedisStore } from '../core/adapters/redis/store.ts';
import type { Store } from '../core/ports/store.ts';

export const DEFAULT_PLACEMENT_PORT = 8778;
export const DEFAULT_REDIS_PREFIX = 'placement';

export interface PlacementServerOptions {
  readonly host: string;
  readonly port: number;
  readonly auth: AuthConfig;
  /** Redis URL; omitted: embedded memory store (state lost on exit). */
  readonly redisUrl?: string;
  readonly prefix?: string;
  readonly logger?: boolean;
}

export interface PlacementServer {
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export async function startPlacementServer(opts: PlacementServerOptions): Promise<PlacementServer> {
  const store: Store = opts.redisUrl
    ? await RedisStore.open({ url: opts.redisUrl, prefix: opts.prefix ?? DEFAULT_REDIS_PREFIX })
    : new MemoryStore();
  let service: PlacementService | undefined;
  try {
    service = await PlacementService.open(store);
    const app = await buildPlacementApp({ service }, { auth: opts.auth, logger: opts.logger ?? false });
    await app.listen({ host: opts.host, port: opts.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : opts.port;
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    const svc = service;
    return {
      url: `http://${host}:${port}`,
      app,
      close: async () => {
        await app.close();
        await svc.close();
        await store.close();
      },
    };
  } catch (err) {
    await service?.close();
    await store.close();
    throw err;
  }
}
