/**
 * Request and response helpers every route uses: the microversion of a request, JSON bodies
 * (415 unless application/json, 400 for malformed JSON or a schema violation), query parameters
 * (repeated keys kept), Location, Last-Modified/Cache-Control (1.15+), route tables with 405.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { tryParseUuid, type Uuid } from '../../core/model/ids.ts';
import { type Handler, routeTable } from '../common/routes.ts';
import { badRequest, notFound, PlacementHttpError } from './errors.ts';
import type { Microversion } from './microversion.ts';
import { type Schema, validateBody, validateQuery } from './validate.ts';

export type { Handler };

declare module 'fastify' {
  interface FastifyRequest {
    placementVersion: Microversion | undefined;
    placementRequestId: string;
  }
}

export function mv(req: FastifyRequest): Microversion {
  const v = req.placementVersion;
  if (!v) throw new PlacementHttpError(500, 'microversion not negotiated');
  return v;
}

/** Registers `handlers` on `url`; every other method answers 405 with `allow`, like Placement. */
export function routes(app: FastifyInstance, url: string, handlers: Partial<Record<HTTPMethods, Handler>>) {
  routeTable(
    app,
    url,
    handlers,
    (allow) =>
      new PlacementHttpError(405, 'The method specified is not allowed for this resource.', {
        headers: { allow },
      }),
  );
}

/** The media type without parameters, or 'None' as webob prints a missing one. */
export function mediaType(req: FastifyRequest): string {
  const ct = req.headers['content-type'];
  return ct ? ct.split(';')[0]!.trim().toLowerCase() : 'None';
}

/** Placement's require_content('application/json'). */
export function requireJson(req: FastifyRequest): void {
  const type = mediaType(req);
  if (type !== 'application/json') {
    throw new PlacementHttpError(415, `The media type ${type} is not supported, use application/json`);
  }
}

/** The parsed, schema-checked JSON body (content type checked first). */
export function jsonBody<T>(req: FastifyRequest, schema: Schema): T {
  requireJson(req);
  const raw = typeof req.body === 'string' ? req.body : '';
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (err) {
    throw badRequest(`Malformed JSON: ${(err as Error).message}`);
  }
  validateBody(data, schema);
  return data as T;
}

/** All values of a query parameter, in order. */
export function queryAll(req: FastifyRequest, key: string): string[] {
  const v = (req.query as Record<string, string | string[] | undefined>)[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The query as webob's dict(req.GET) sees it: the last value of each key. */
export function queryLast(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.query as Record<string, string | string[]>))
    out[k] = Array.isArray(v) ? v[v.length - 1]! : v;
  return out;
}

export function checkQuery(req: FastifyRequest, schema: Schema): Record<string, string> {
  const q = queryLast(req);
  validateQuery(q, schema);
  return q;
}

/** A provider uuid from the path; Placement answers 404 for anything that names no provider. */
export function pathUuid(req: FastifyRequest, name = 'uuid'): Uuid {
  const raw = (req.params as Record<string, string>)[name] ?? '';
  const u = tryParseUuid(raw);
  if (!u) throw notFound(`No resource provider with uuid ${raw} found`);
  return u;
}

export function pathParam(req: FastifyRequest, name: string): string {
  return (req.params as Record<string, string>)[name] ?? '';
}

/** Last-Modified (now: we keep no timestamps) and Cache-Control from microversion 1.15. */
export function cacheHeaders(req: FastifyRequest, reply: FastifyReply, now: () => Date): void {
  if (mv(req).atLeast(15)) {
    reply.header('last-modified', now().toUTCString());
    reply.header('cache-control', 'no-cache');
  }
}

/** The absolute URL of `path` on this server (webob makes Location absolute). */
export function locationOf(req: FastifyRequest, path: string): string {
  return `${req.protocol}://${req.headers.host ?? 'localhost'}${path}`;
}

export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .send(Buffer.from(JSON.stringify(body)));
}

export function sendEmpty(reply: FastifyReply, status: number): FastifyReply {
  return reply.code(status).send();
}
