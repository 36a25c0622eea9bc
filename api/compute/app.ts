/**
 * The Compute REST API (Nova v2.1 shapes, microversions 2.1–2.79) as a fastify app: flavors
 * (+ extra specs, access), aggregates, availability zones, server groups, quota sets, the version
 * documents, and — given a ServerBackend (the cells) — /servers with actions and instance actions. `buildComputeApp` never listens:
 * tests use `inject()`.
 *
 * Every request: a request id (`x-openstack-request-id`, `x-compute-request-id`), authentication
 * (except the version documents), microversion negotiation for /v2.1 paths (both version headers
 * and `vary` on the answer), the caller's identity, then the route. Bodies are kept as strings so
 * routes parse and validate them per microversion. Every error leaves through one handler in
 * Nova's fault format (errors.ts).
 */
import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { CellplaneError } from '../../core/errors.ts';
import { EXTRA_SPEC_VALIDATIONS, type ExtraSpecValidation } from '../../core/model/extra-specs.ts';
import type { Store } from '../../core/ports/store.ts';
import { MAX_PATH_PARAM_CHARS, trackRoutes } from '../common/routes.ts';
import {
  type AuthConfig,
  authenticate,
  checkAuthConfig,
  type Identity,
  identityOf,
  isOpenPath,
} from './auth.ts';
import type { ComputeContext } from './context.ts';
import { ComputeHttpError, errorBody, toComputeError } from './errors.ts';
import type { HostDirectory } from './hosts.ts';
import { API_PREFIX } from './http.ts';
import { LEGACY_VERSION_HEADER, negotiate, VERSION_HEADER } from './microversion.ts';
import { defaultLimits, MAX_QUOTA_LIMIT, type UsageSource } from './quota.ts';
import { QuotaLedger } from './quota-ledger.ts';
import { aggregateRoutes } from './routes/aggregates.ts';
import { availabilityZoneRoutes } from './routes/availability-zones.ts';
import { flavorExtraRoutes } from './routes/flavor-extras.ts';
import { flavorRoutes } from './routes/flavors.ts';
import { hypervisorRoutes } from './routes/hypervisors.ts';
import { quotaSetRoutes } from './routes/quota-sets.ts';
import { rootRoutes } from './routes/root.ts';
import { serverGroupRoutes } from './routes/server-groups.ts';
import { serverRoutes } from './routes/servers.ts';
import { serviceRoutes } from './routes/services.ts';
import type { ServerBackend } from './servers-backend.ts';
import { ComputeStore } from './store/index.ts';

/** Largest request body accepted: compute bodies are small (a flavor, a metadata map). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Nova's default_availability_zone: the zone of hosts in no zoned aggregate. */
export const DEFAULT_AVAILABILITY_ZONE = 'nova';
/** Nova's [api] max_limit default. */
export const DEFAULT_MAX_LIMIT = 1000;

export interface ComputeDeps {
  readonly store: Store;
  readonly hosts: HostDirectory;
  /** Usage shown by os-quota-sets (detail, the check of a lowered limit); default: the ledger's. */
  readonly usage?: UsageSource;
  /** The per-project usage ledger POST /servers reserves in; default: one over `store`. */
  readonly quota?: QuotaLedger;
  /** Clock for created_at/updated_at; default the system clock. */
  readonly now?: () => Date;
  /** Uuid source for instances, flavors, aggregates and server groups; default crypto.randomUUID. */
  readonly newUuid?: () => string;
  /** The cells behind /servers; without it /servers is not served (404). */
  readonly servers?: ServerBackend;
  /**
   * Called after every aggregate change (AggregatePublisher.sync: the schedulers' catalogue);
   * must not throw. Default: nothing (an API without schedulers).
   */
  readonly aggregatesChanged?: () => Promise<void>;
}

export interface ComputeConfig {
  readonly auth: AuthConfig;
  /** Identity of requests without X-Project-Id/X-User-Id. Default admin/admin. */
  readonly defaultIdentity?: Identity;
  /** Default quota limits by resource name (quota.ts); unnamed ones keep Nova's defaults. */
  readonly quotaDefaults?: Readonly<Record<string, number>>;
  readonly defaultAvailabilityZone?: string;
  readonly internalAvailabilityZone?: string;
  readonly maxLimit?: number;
  /** Base of links in responses (`http://api.example:8774`); default the request's Host. */
  readonly publicUrl?: string;
  /**
   * `strict` (default): a flavor extra spec cellplane does not act on is refused when set (400);
   * `lenient`: stored as given (flavors copied from Nova) and refused at boot instead.
   */
  readonly extraSpecValidation?: ExtraSpecValidation;
  readonly logger?: boolean;
}

function extraSpecValidationOf(v: ExtraSpecValidation | undefined): ExtraSpecValidation {
  if (v === undefined) return 'strict';
  if (!EXTRA_SPEC_VALIDATIONS.includes(v))
    throw new CellplaneError(
      'invalid',
      `extraSpecValidation must be one of ${EXTRA_SPEC_VALIDATIONS.join(', ')}, got ${JSON.stringify(v)}`,
    );
  return v;
}

function contextOf(deps: ComputeDeps, config: ComputeConfig): ComputeContext {
  const maxLimit = config.maxLimit ?? DEFAULT_MAX_LIMIT;
  if (!Number.isSafeInteger(maxLimit) || maxLimit < 1)
    throw new CellplaneError('invalid', `maxLimit must be a positive integer, got ${maxLimit}`);
  for (const [k, v] of Object.entries(config.quotaDefaults ?? {}))
    if (!Number.isSafeInteger(v) || v < -1 || v > MAX_QUOTA_LIMIT)
      throw new CellplaneError(
        'invalid',
        `quota default ${k} must be an integer in -1..${MAX_QUOTA_LIMIT}, got ${v}`,
      );
  const defaultZone = config.defaultAvailabilityZone ?? DEFAULT_AVAILABILITY_ZONE;
  const internalZone = config.internalAvailabilityZone ?? 'internal';
  if (defaultZone === internalZone)
    throw new CellplaneError(
      'invalid',
      `the default and internal availability zones must differ (both "${defaultZone}")`,
    );
  const now = deps.now;
  const quota = deps.quota ?? new QuotaLedger(deps.store, now ? () => now().getTime() : undefined);
  return Object.freeze({
    store: new ComputeStore(deps.store, deps.now, deps.newUuid),
    hosts: deps.hosts,
    quota,
    usage: deps.usage ?? quota,
    quotaDefaults: Object.freeze(defaultLimits(config.quotaDefaults)),
    defaultZone,
    internalZone,
    maxLimit,
    publicUrl: config.publicUrl?.replace(/\/+$/, ''),
    extraSpecValidation: extraSpecValidationOf(config.extraSpecValidation),
    aggregatesChanged: deps.aggregatesChanged ?? (async () => {}),
    newUuid: deps.newUuid ?? randomUUID,
  });
}

export async function buildComputeApp(deps: ComputeDeps, config: ComputeConfig): Promise<FastifyInstance> {
  const auth = checkAuthConfig(config.auth);
  const fallback = Object.freeze({ ...(config.defaultIdentity ?? { projectId: 'admin', userId: 'admin' }) });
  const ctx = contextOf(deps, config);
  const app = Fastify({
    logger: config.logger ?? false,
    exposeHeadRoutes: false,
    bodyLimit: MAX_BODY_BYTES,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PATH_PARAM_CHARS },
    // A malformed URL (bad percent-encoding) or an overlong path parameter is refused by the
    // router before any hook runs: answered in Nova's format too.
    frameworkErrors: (err, req, reply) => {
      setRequestId(req, reply);
      return sendError(fastifyToHttp(err), req, reply);
    },
  });
  trackRoutes(app);
  app.decorateRequest('computeVersion', undefined);
  app.decorateRequest('computeRequestId', '');
  app.decorateRequest('computeIdentity', undefined);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', async (req, reply) => {
    setRequestId(req, reply);
    const path = req.url.split('?')[0] ?? '';
    if (!isOpenPath(path)) authenticate(auth, req.headers['x-auth-token']);
    if (path === API_PREFIX || path.startsWith(`${API_PREFIX}/`)) {
      req.computeVersion = negotiate(req.headers);
      reply.header(VERSION_HEADER, `compute ${req.computeVersion}`);
      reply.header(LEGACY_VERSION_HEADER, req.computeVersion.toString());
      reply.header('vary', `${VERSION_HEADER}, ${LEGACY_VERSION_HEADER}`);
    }
    req.computeIdentity = identityOf(req.headers, fallback);
  });
  app.setErrorHandler((err: FastifyError, req, reply) => sendError(fastifyToHttp(err), req, reply));
  app.setNotFoundHandler((req, reply) =>
    sendError(new ComputeHttpError(404, 'The resource could not be found.'), req, reply),
  );

  await app.register(rootRoutes, { ctx });
  for (const plugin of [
    flavorRoutes,
    flavorExtraRoutes,
    aggregateRoutes,
    availabilityZoneRoutes,
    serverGroupRoutes,
    quotaSetRoutes,
    hypervisorRoutes,
    serviceRoutes,
  ]) {
    await app.register(plugin, { ctx, prefix: API_PREFIX });
  }
  if (deps.servers) await app.register(serverRoutes(deps.servers), { ctx, prefix: API_PREFIX });
  return app;
}

function setRequestId(req: FastifyRequest, reply: FastifyReply): void {
  req.computeRequestId = `req-${randomUUID()}`;
  reply.header('x-openstack-request-id', req.computeRequestId);
  reply.header('x-compute-request-id', req.computeRequestId);
}

/** fastify's own 4xx (body too large, bad URL…) become Nova-shaped ones. */
function fastifyToHttp(err: FastifyError | ComputeHttpError): ComputeHttpError {
  if (err instanceof ComputeHttpError) return err;
  const s = (err as FastifyError).statusCode;
  if (typeof s === 'number' && s >= 400 && s < 500 && err.code?.startsWith('FST_'))
    return new ComputeHttpError(s, err.message);
  return toComputeError(err);
}

function sendError(err: ComputeHttpError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err.status >= 500) req.log.error({ err }, 'compute request failed');
  if (err.versionError) {
    reply.removeHeader(VERSION_HEADER);
    reply.removeHeader(LEGACY_VERSION_HEADER);
    reply.removeHeader('vary');
  }
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply
    .code(err.status)
    .header('content-type', 'application/json')
    .send(Buffer.from(JSON.stringify(errorBody(err))));
}
