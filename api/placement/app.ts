/**
 * The Placement-compatible REST API (microversions 1.0–1.39) as a fastify app. `buildPlacementApp`
 * never listens: tests use `inject()`, the CLI calls `listen`.
 *
 * Every request: a request id (`x-openstack-request-id`), authentication (except `/`), microversion
 * negotiation (`openstack-api-version` + `vary` on every response that negotiated one), then the
 * route. Bodies are kept as strings so that routes parse and validate them per microversion
 * (http.ts). Every error leaves through one handler in Placement's format (errors.ts).
 */
import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { MAX_PATH_PARAM_CHARS, trackRoutes } from '../common/routes.ts';
import { type AuthConfig, authenticate, checkAuthConfig, isOpenPath } from './auth.ts';
import { BodyPool } from './body-pool.ts';
import { indexedCandidateSearch } from './candidate-search.ts';
import type { CandidateSearch, RouteContext } from './context.ts';
import { errorBody, PlacementHttpError, toHttpError } from './errors.ts';
import { mediaType } from './http.ts';
import { negotiate, VERSION_HEADER } from './microversion.ts';
import { allocationCandidateRoutes } from './routes/allocation-candidates.ts';
import { allocationRoutes } from './routes/allocations.ts';
import { inventoryRoutes } from './routes/inventories.ts';
import { reshaperRoutes } from './routes/reshaper.ts';
import { resourceClassRoutes } from './routes/resource-classes.ts';
import { providerRoutes } from './routes/resource-providers.ts';
import { rootRoutes } from './routes/root.ts';
import { traitRoutes } from './routes/traits.ts';
import { usageRoutes } from './routes/usages.ts';
import type { PlacementBackend } from './service.ts';

/** Largest request body accepted (a reshape of a big host is the largest legitimate one). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface PlacementDeps {
  readonly service: PlacementBackend;
  /** Clock for Last-Modified; default the system clock. */
  readonly now?: () => Date;
  /** Candidate search; default the columnar index, falling back to the reference scan. */
  readonly candidates?: CandidateSearch;
  /** Uuids of providers created without one; default crypto.randomUUID. */
  readonly newUuid?: () => string;
}

export interface PlacementConfig {
  readonly auth: AuthConfig;
  /** fastify's logger (pino options or false). Default off. */
  readonly logger?: boolean;
}

export async function buildPlacementApp(
  deps: PlacementDeps,
  config: PlacementConfig,
): Promise<FastifyInstance> {
  const auth = checkAuthConfig(config.auth);
  const app = Fastify({
    logger: config.logger ?? false,
    exposeHeadRoutes: false,
    bodyLimit: MAX_BODY_BYTES,
    routerOptions: { maxParamLength: MAX_PATH_PARAM_CHARS },
    // A malformed URL (bad percent-encoding) or an overlong path parameter is refused by the
    // router before any hook runs: answered in Placement's format too.
    frameworkErrors: (err, req, reply) => {
      setRequestId(req, reply);
      return sendError(fastifyToHttp(err), req, reply);
    },
  });
  trackRoutes(app);
  app.decorateRequest('placementVersion', undefined);
  app.decorateRequest('placementRequestId', '');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', async (req, reply) => onRequest(auth, req, reply));
  app.setErrorHandler((err: FastifyError, req, reply) => sendError(fastifyToHttp(err), req, reply));
  app.setNotFoundHandler((req, reply) => sendError(new PlacementHttpError(404, ''), req, reply));

  const ctx: RouteContext = {
    service: deps.service,
    now: deps.now ?? (() => new Date()),
    candidates: deps.candidates ?? indexedCandidateSearch(),
    bodies: new BodyPool(),
    newUuid: deps.newUuid ?? randomUUID,
  };
  for (const plugin of [
    rootRoutes,
    providerRoutes,
    inventoryRoutes,
    traitRoutes,
    resourceClassRoutes,
    allocationRoutes,
    usageRoutes,
    allocationCandidateRoutes,
    reshaperRoutes,
  ]) {
    await app.register(plugin, { ctx });
  }
  return app;
}

function setRequestId(req: FastifyRequest, reply: FastifyReply): void {
  req.placementRequestId = `req-${randomUUID()}`;
  reply.header('x-openstack-request-id', req.placementRequestId);
}

async function onRequest(auth: AuthConfig, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  setRequestId(req, reply);
  if (!isOpenPath(req.url.split('?')[0] ?? '')) authenticate(auth, req.headers['x-auth-token']);
  req.placementVersion = negotiate(req.headers[VERSION_HEADER]);
  reply.header(VERSION_HEADER, `placement ${req.placementVersion}`);
  reply.header('vary', VERSION_HEADER);
  const len = Number(req.headers['content-length'] ?? 0);
  if (!Number.isFinite(len)) throw new PlacementHttpError(400, 'content-length header must be an integer');
  if (len > 0 && !req.headers['content-type'])
    throw new PlacementHttpError(400, 'content-type header required when content-length > 0');
}

/** fastify's own errors (body too large, bad URL…) become Placement-shaped ones. */
function fastifyToHttp(err: FastifyError | PlacementHttpError): PlacementHttpError {
  if (err instanceof PlacementHttpError) return err;
  if (
    typeof err.statusCode === 'number' &&
    err.statusCode >= 400 &&
    err.statusCode < 500 &&
    err.code?.startsWith('FST_')
  )
    return new PlacementHttpError(err.statusCode, err.message);
  return toHttpError(err);
}

function sendError(err: PlacementHttpError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err.status >= 500) req.log.error({ err }, 'placement request failed');
  if (err.versionError) {
    reply.removeHeader(VERSION_HEADER);
    reply.removeHeader('vary');
  }
  // Placement sends Last-Modified/Cache-Control only with a successful representation.
  reply.removeHeader('last-modified');
  reply.removeHeader('cache-control');
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  const body = errorBody(err, {
    requestId: req.placementRequestId,
    method: req.method,
    contentType: mediaType(req),
    minor: err.versionError ? undefined : req.placementVersion?.minor,
  });
  return reply
    .code(err.status)
    .header('content-type', 'application/json')
    .send(Buffer.from(JSON.stringify(body)));
}
