/**
 * A route table for one URL, the OpenStack way: the listed methods get their handlers, every
 * other method answers 405 with an `allow` header. Each API brings its own error type (Nova's
 * and Placement's error bodies differ), built by `methodNotAllowed`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';

export type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

const ALL_METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

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
    handler: async () => {
      throw methodNotAllowed(allow);
    },
  });
}
