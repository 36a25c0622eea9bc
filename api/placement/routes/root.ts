/** GET / — the version document (no authentication, like Placement). */
import type { FastifyInstance } from 'fastify';
import { routes, sendJson } from '../http.ts';
import { MAX_VERSION, MIN_VERSION } from '../microversion.ts';

export async function rootRoutes(app: FastifyInstance): Promise<void> {
  routes(app, '/', {
    GET: async (_req, reply) =>
      sendJson(reply, 200, {
        versions: [
          {
            id: 'v1.0',
            max_version: MAX_VERSION.toString(),
            min_version: MIN_VERSION.toString(),
            status: 'CURRENT',
            links: [{ rel: 'self', href: '' }],
          },
        ],
      }),
  });
}
