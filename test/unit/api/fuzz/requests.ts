/**
 * The fuzzer's requests: what a route's generator drafts (valid, or nearly), the ids a run has
 * learnt from successful answers (`Known`, referred to as «kind:n» placeholders until sent), and
 * the API description the runner drives (`ApiSpec`). Mutations that turn a draft into bad input
 * are in mutations.ts.
 */
import fc from 'fast-check';
import type { FastifyInstance, HTTPMethods } from 'fastify';

/** A request as generated: placeholders «kind:n» in url and body are resolved when it is sent. */
export interface FuzzRequest {
  /** The route it targets (`POST /v2.1/servers/:id/action`), for coverage and reports. */
  readonly route: string;
  /** `valid` or the mutation that made it bad (`body:deep`, `header:version`…). */
  readonly label: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Text, or bytes (hex) for bodies that are not UTF-8. */
  readonly body?: string | { readonly hex: string };
}

/** What a route generator drafts: the API adds authentication, version and content type. */
export interface Draft {
  readonly path: string;
  readonly query?: string;
  /** A JSON value sent as the body (undefined: no body). */
  readonly body?: unknown;
  /** Microversion; undefined: the API's newest. */
  readonly version?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RouteSpec {
  readonly method: HTTPMethods;
  /** The URL pattern as registered (`/v2.1/servers/:id`). */
  readonly url: string;
  readonly valid: fc.Arbitrary<Draft>;
  /** How often, relative to other routes (default 1): routes with rich bodies get more. */
  readonly weight?: number;
}

export const routeKey = (method: string, url: string) => `${method} ${url}`;

export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | number | undefined>>;
  readonly body: string;
}

/** An API under test: its app and state, and how to speak to it. */
export interface World {
  readonly app: FastifyInstance;
  /** Everything the API keeps (stores, mappings, queued jobs, hosts) as plain data. */
  dump(): Promise<unknown>;
  close(): Promise<void>;
}

export interface ApiSpec {
  readonly name: string;
  readonly routes: readonly RouteSpec[];
  world(): Promise<World>;
  /** Headers of every request (authentication). */
  readonly baseHeaders: Readonly<Record<string, string>>;
  /** The microversion header for `version` (undefined: the newest). */
  versionHeaders(version: string | undefined): Record<string, string>;
  /** Version header values to mutate with: malformed, out of range, another service's. */
  readonly badVersionHeaders: readonly Record<string, string>[];
  /** Ids a successful answer tells (new servers, aggregates, request ids…); `url` as sent. */
  learn(route: string, answer: Answer, known: Known, url: string): void;
  /**
   * What a placeholder becomes while no id of its kind is known (default `none`); `gen*` is the
   * fallback of every kind `gen<n>`.
   */
  readonly fallbacks: Readonly<Record<string, string>>;
  /** Ids every world starts with (seeded servers…). */
  readonly initial?: ReadonlyArray<readonly [string, string]>;
}

/** The ids known before the first request. */
export function newKnown(api: ApiSpec): Known {
  const k = new Known(api.fallbacks);
  for (const [kind, id] of api.initial ?? []) k.add(kind, id);
  return k;
}

const PLACEHOLDER = /«([a-z0-9]+):(\d+)#?»/g;

/** A reference to the n-th known id of `kind` (any n: taken modulo the ids known). */
export const ref = (kind: string): fc.Arbitrary<string> => fc.nat({ max: 99 }).map((n) => `«${kind}:${n}»`);

/**
 * The latest known value of `kind` as a bare JSON value in a body (a generation: a number, or
 * `null`): the draft holds the string «kind:0#», sent without its quotes.
 */
export const bare = (kind: string): string => `«${kind}:0#»`;
const QUOTED_BARE = /"(«[a-z0-9]+:\d+#»)"/g;

/** Ids learnt from successful answers, per kind, in the order they were first seen. */
export class Known {
  private readonly ids = new Map<string, string[]>();
  constructor(private readonly fallbacks: Readonly<Record<string, string>>) {}

  add(kind: string, id: unknown): void {
    if (typeof id !== 'string' && typeof id !== 'number') return;
    const list = this.ids.get(kind) ?? [];
    if (!list.includes(String(id))) list.push(String(id));
    this.ids.set(kind, list);
  }

  /** Makes `value` the one known value of `kind` (a provider's generation). */
  set(kind: string, value: unknown): void {
    if (typeof value === 'string' || typeof value === 'number' || value === null)
      this.ids.set(kind, [String(value)]);
  }

  /** `text` with each «kind:n» replaced by a known id (or the kind's fallback). */
  resolve(text: string, encode = false): string {
    return text.replace(PLACEHOLDER, (_m, kind: string, n: string) => {
      const list = this.ids.get(kind);
      const id = list?.length
        ? list[Number(n) % list.length]!
        : (this.fallbacks[kind] ?? this.fallbacks[kind.replace(/\d+$/, '*')] ?? 'none');
      return encode ? encodeURIComponent(id) : id;
    });
  }
}

/** The request as sent: the draft with the API's headers, the body as JSON text. */
export function fromDraft(api: ApiSpec, route: RouteSpec, d: Draft): FuzzRequest {
  const headers: Record<string, string> = { ...api.baseHeaders, ...api.versionHeaders(d.version) };
  if (d.body !== undefined) headers['content-type'] = 'application/json';
  Object.assign(headers, d.headers ?? {});
  return {
    route: routeKey(route.method, route.url),
    label: 'valid',
    method: route.method,
    url: d.query ? `${d.path}?${d.query}` : d.path,
    headers,
    ...(d.body === undefined ? {} : { body: JSON.stringify(d.body).replace(QUOTED_BARE, '$1') }),
  };
}

/** A request with its placeholders resolved, as a transport sends it. */
export interface Resolved {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** How requests reach an API: `inject` in process, HTTP to a real process (test/e2e). */
export type Transport = (r: Resolved) => Promise<Answer>;

export const injectInto =
  (app: FastifyInstance): Transport =>
  async (r) => {
    const res = await app.inject({
      method: r.method as HTTPMethods,
      url: r.url,
      headers: r.headers,
      ...(r.body === undefined ? {} : { payload: r.body }),
    });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  };

/** Sends `r` (placeholders resolved against `known`) through `transport` (default: `inject`). */
export async function send(
  to: FastifyInstance | Transport,
  r: FuzzRequest,
  known: Known,
): Promise<Answer & { sent: Resolved }> {
  const body =
    r.body === undefined
      ? undefined
      : typeof r.body === 'string'
        ? known.resolve(r.body)
        : Buffer.from(r.body.hex, 'hex');
  const url = known.resolve(r.url, true);
  const transport = typeof to === 'function' ? to : injectInto(to);
  const sent: Resolved = {
    method: r.method,
    url,
    headers: r.headers,
    ...(body === undefined ? {} : { body }),
  };
  return { ...(await transport(sent)), sent };
}

/** The answer's JSON body, or undefined. */
export function jsonOf(a: Answer): unknown {
  try {
    return a.body ? JSON.parse(a.body) : undefined;
  } catch {
    return undefined;
  }
}
