/**
 * Request and response helpers every compute route uses: the negotiated microversion and identity
 * of a request, JSON bodies (415 unless JSON, 400 for malformed JSON or a schema violation),
 * query strings, route tables answering 405 for other methods, and Nova's self/bookmark links.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { type Handler, routeTable } from '../common/routes.ts';
import type { Identity } from './auth.ts';
import { badRequest, ComputeHttpError } from './errors.ts';
import type { ApiVersion } from './microversion.ts';
import { type Schema, validateBody, validateQuery } from './validate.ts';

export type { Handler };

declare module 'fastify' {
  interface FastifyRequest {
    computeVersion: ApiVersion | undefined;
    computeRequestId: string;
    computeIdentity: Identity | undefined;
  }
}

/** Where the compute API lives (Nova's v2.1 endpoint). */
export const API_PREFIX = '/v2.1';

export function mv(req: FastifyRequest): ApiVersion {
  const v = req.computeVersion;
  if (!v) throw new ComputeHttpError(500, 'microversion not negotiated');
  return v;
}

export function identity(req: FastifyRequest): Identity {
  const id = req.computeIdentity;
  if (!id) throw new ComputeHttpError(500, 'identity not resolved');
  return id;
}

/** Registers `handlers` on `url`; every other method answers 405 with `allow`. */
export function routes(app: FastifyInstance, url: string, handlers: Partial<Record<HTTPMethods, Handler>>) {
  routeTable(
    app,
    url,
    handlers,
    (allow) =>
      new ComputeHttpError(405, 'The method specified is not allowed for this resource.', {
        headers: { allow },
      }),
  );
}

/** The parsed, schema-checked JSON body. An empty body validates as None, as in Nova. */
export function jsonBody<T>(req: FastifyRequest, schema: Schema): T {
  const raw = typeof req.body === 'string' ? req.body : '';
  let data: unknown = null;
  if (raw.trim() !== '') {
    const ct = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (ct !== undefined && ct !== 'application/json' && !ct.endsWith('+json'))
      throw new ComputeHttpError(415, `Invalid content type ${ct}.`);
    try {
      data = JSON.parse(raw);
    } catch {
      throw badRequest('Malformed request body');
    }
  }
  validateBody(data, schema);
  return data as T;
}

/** The query as Nova's validators see it: the last value of each key. */
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

export function pathParam(req: FastifyRequest, name: string): string {
  return (req.params as Record<string, string>)[name] ?? '';
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

/** `scheme://host` of this server, or the configured public URL. */
export function baseUrl(req: FastifyRequest, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.headers.host ?? 'localhost'}`;
}

/** Nova's `links` of a member: self under /v2.1, bookmark without the version. */
export function memberLinks(base: string, collection: string, id: string) {
  const enc = encodeURIComponent(id);
  return [
    { href: `${base}${API_PREFIX}/${collection}/${enc}`, rel: 'self' },
    { href: `${base}/${collection}/${enc}`, rel: 'bookmark' },
  ];
}
