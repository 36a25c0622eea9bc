/**
 * Routing shared by the HTTP edges.
 *
 * - A route table for one URL, the OpenStack way: the listed methods get their handlers, every
 *   other method answers 405 with an `allow` header. Each API brings its own error type (Nova's
 *   and Placement's error bodies differ), built by `methodNotAllowed`.
 * - `trackRoutes(app)`: the app remembers every route registered on it, so that tests (the
 *   request fuzzer) can cover each one, including routes added later.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';

export type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

const ALL_METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/**
 * Longest path parameter (as sent, percent-encoded) the router matches; a longer one answers 414.
 * Names of up to 255 characters (traits, resource classes, flavor ids, hosts) must fit even when
 * every character is a 4-byte UTF-8 sequence sent as `%XX%XX%XX%XX`.
 */
export const MAX_PATH_PARAM_CHARS = 4096;

/** Registers `handlers` on `url`; every other method answers 405 with `allow`. */
export function routeTable(
  app: FastifyInstance,
  url: string,
  handlers: Partial<Record<HTTPMethods, Handler>>,
  methodNotAllowed: (allow: string) => Error,
): void {
  const allowed = Object.keys(handlers) as HTTPMethods[];
  for (const m of allowed) app.route({ method: m, url, handler: handlers[m]! });
  const allow = allowed.join(', ');
  app.route({
    method: ALL_METHODS.filter((m) => !allowed.includes(m)),
    url,
    config: { methodNotAllowed: true },
    handler: async () => {
      throw methodNotAllowed(allow);
    },
  });
}

/** A route as registered: method and URL pattern (`/servers/:id`), with its prefix. */
export interface RegisteredRoute {
  readonly method: HTTPMethods;
  readonly url: string;
}

const tracked = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Makes `app` remember its routes (call before registering any); see `registeredRoutes`. */
export function trackRoutes(app: FastifyInstance): void {
  const list: RegisteredRoute[] = [];
  tracked.set(app, list);
  app.addHook('onRoute', (r) => {
    if ((r.config as { methodNotAllowed?: boolean } | undefined)?.methodNotAllowed) return;
    for (const method of Array.isArray(r.method) ? r.method : [r.method])
      list.push({ method: method as HTTPMethods, url: r.url });
  });
}

/** The routes served by `app` with a handler of their own (not the 405 answers), in order. */
export function registeredRoutes(app: FastifyInstance): readonly RegisteredRoute[] {
  const list = tracked.get(app);
  if (!list) throw new Error('registeredRoutes: the app was built without trackRoutes');
  return list;
}
