/** GET / and GET /v2.1 — the version documents (no authentication, as in Nova). */
import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from '../context.ts';
import { API_PREFIX, baseUrl, routes, sendJson } from '../http.ts';
import { MAX_VERSION, MIN_VERSION } from '../microversion.ts';

/** Nova's fixed `updated` stamp of the v2.1 API. */
const UPDATED = '2013-07-23T11:33:21Z';

function version() {
  return {
    id: 'v2.1',
    status: 'CURRENT',
    version: MAX_VERSION.toString(),
    min_version: MIN_VERSION.toString(),
    updated: UPDATED,
  };
}

export async function rootRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  routes(app, '/', {
    GET: async (req, reply) => {
      const base = baseUrl(req, ctx.publicUrl);
      return sendJson(reply, 200, {
        versions: [{ ...version(), links: [{ rel: 'self', href: `${base}${API_PREFIX}/` }] }],
      });
    },
  });
  routes(app, API_PREFIX, {
    GET: async (req, reply) => {
      const base = baseUrl(req, ctx.publicUrl);
      return sendJson(reply, 200, {
        version: {
          ...version(),
          links: [
            { rel: 'self', href: `${base}${API_PREFIX}/` },
            { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
          ],
          'media-types': [
            { base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' },
          ],
        },
      });
    },
  });
}
