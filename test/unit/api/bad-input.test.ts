/**
 * Bad input the fuzzer (fuzz/) found or the issue reported, each a 4xx in the API's own error
 * format, never a 5xx: deeply nested JSON to every POST/PUT route of both APIs (the error
 * message echoes a bounded value), counts as strings below 1, undecodable flavor links and path
 * parameters, overlong path parameters. And the bounded formatter itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  boundedRepr,
  boundedText,
  MAX_ECHO_CHARS,
  MAX_ERROR_MESSAGE_CHARS,
} from '../../../api/common/bounded.ts';
import { registeredRoutes } from '../../../api/common/routes.ts';
import { computeApi } from './fuzz/compute-spec.ts';
import { placementApi } from './fuzz/placement-spec.ts';
import type { ApiSpec, World } from './fuzz/requests.ts';

/** The body: 4,000 levels of `[`, about 10 KB with the closing brackets. */
const NESTED = `${'['.repeat(4000)}${']'.repeat(4000)}`;

describe('bounded echo of client values', () => {
  it.each([
    // value, style → text
    [[1, [2, { a: 'x', b: null }]], 'python', "[1, [2, {'a': 'x', 'b': None}]]"],
    [[1, [2, { a: 'x', b: null }]], 'json', '[1,[2,{"a":"x","b":null}]]'],
    [JSON.parse(NESTED), 'python', '[[[[[[[[[...]]]]]]]]]'],
    [{ k: "it's" }, 'python', "{'k': 'it\\'s'}"],
  ] as const)('%j as %s is %s', (value, style, text) => {
    expect(boundedRepr(value, style)).toBe(text);
  });

  it('cuts long values and messages, marking the cut', () => {
    const long = boundedRepr('x'.repeat(1_000_000), 'json');
    expect(long.length).toBe(MAX_ECHO_CHARS);
    expect(long.endsWith('...')).toBe(true);
    const many = boundedRepr(
      Array.from({ length: 100_000 }, (_, i) => i),
      'python',
    );
    expect(many.length).toBe(MAX_ECHO_CHARS);
    expect(boundedText('y'.repeat(10_000)).length).toBe(MAX_ERROR_MESSAGE_CHARS);
    expect(boundedText('short')).toBe('short');
  });
});

/** The error of a 4xx answer in the API's format: Nova's one fault key, or Placement's errors[0]. */
function errorOf(api: ApiSpec, status: number, body: string): { code: number; message: string } {
  const j = JSON.parse(body);
  if (api.name === 'placement') {
    expect(j.errors).toHaveLength(1);
    return { code: j.errors[0].status, message: j.errors[0].detail };
  }
  const [fault] = Object.keys(j);
  expect(Object.keys(j)).toHaveLength(1);
  expect(j[fault!].code).toBe(status);
  return j[fault!];
}

describe.each([computeApi, placementApi])('$name API: bad input answers 4xx in its error format', (api) => {
  let world: World;
  beforeAll(async () => {
    world = await api.world();
  });
  afterAll(() => world.close());

  const send = (method: string, url: string, body?: string, headers: Record<string, string> = {}) =>
    world.app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...api.baseHeaders,
        ...api.versionHeaders(undefined),
        'content-type': 'application/json',
        ...headers,
      },
      ...(body === undefined ? {} : { payload: body }),
    });

  it('4,000 levels of nested JSON to every POST and PUT route: 4xx, the echo bounded', async () => {
    const writes = registeredRoutes(world.app).filter((r) => r.method === 'POST' || r.method === 'PUT');
    expect(writes.length).toBeGreaterThan(10);
    for (const r of writes) {
      const url = r.url.replace(/:[a-zA-Z]+/g, 'x');
      const res = await send(r.method, url, NESTED);
      expect(res.statusCode, `${r.method} ${url}: ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, `${r.method} ${url}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
      errorOf(api, res.statusCode, res.body);
      expect(res.body.length).toBeLessThan(MAX_ERROR_MESSAGE_CHARS + 1000);
    }
  });

  it('a malformed percent-encoding in the path: 400 in the API format', async () => {
    const url = api.name === 'compute' ? '/v2.1/flavors/%E0%A4%A' : '/resource_providers/%';
    const res = await send('GET', url);
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-openstack-request-id']).toMatch(/^req-/);
    errorOf(api, 400, res.body);
  });

  it('a path parameter over MAX_PATH_PARAM_CHARS: 414 in the API format', async () => {
    const url = api.name === 'compute' ? `/v2.1/flavors/${'a'.repeat(5000)}` : `/traits/${'A'.repeat(5000)}`;
    const res = await send('GET', url);
    expect(res.statusCode).toBe(414);
    errorOf(api, 414, res.body);
  });
});

describe('compute API: counts, links and project ids', () => {
  let world: World;
  beforeAll(async () => {
    world = await computeApi.world();
  });
  afterAll(() => world.close());

  const boot = (more: Record<string, unknown>) =>
    world.app.inject({
      method: 'POST',
      url: '/v2.1/servers',
      headers: { ...computeApi.baseHeaders, ...computeApi.versionHeaders(undefined) },
      payload: { server: { name: 'vm', imageRef: 'cirros', flavorRef: '1', networks: 'none', ...more } },
    });

  it.each([
    // Nova reads a count string as a number before checking minimum: 1 (validators.py).
    [
      { min_count: '0' },
      'Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1',
    ],
    [
      { min_count: '00' },
      'Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1',
    ],
    [
      { max_count: '0' },
      'Invalid input for field/attribute max_count. Value: 0. 0 is less than the minimum of 1',
    ],
    [{ min_count: '-1' }, "'-1' does not match"],
    [{ min_count: '' }, "'' is too short"],
    [
      { flavorRef: 'http://x/flavors/%' },
      "Invalid flavorRef provided: 'http://x/flavors/%' is not a valid URL.",
    ],
  ])('%j → 400 %s', async (more, message) => {
    const res = await boot(more);
    expect(res.statusCode, res.body).toBe(400);
    expect(JSON.parse(res.body).badRequest.message).toContain(message);
  });

  it('a resize to an undecodable flavor link is a 400 too', async () => {
    const res = await world.app.inject({
      method: 'POST',
      url: '/v2.1/servers/00000000-0000-4000-8000-000000000101/action',
      headers: { ...computeApi.baseHeaders, ...computeApi.versionHeaders(undefined) },
      payload: { resize: { flavorRef: 'http://x/flavors/%E0%A4%A' } },
    });
    expect(res.statusCode, res.body).toBe(400);
  });

  it.each([
    // path as sent → project id (decoded once, by the router)
    ['100%25', '100%'],
    ['%2541', '%41'],
    ['a%2Fb', 'a/b'],
  ])('the quota set of /os-quota-sets/%s is the one of project %s', async (sent, project) => {
    const res = await world.app.inject({
      method: 'GET',
      url: `/v2.1/os-quota-sets/${sent}`,
      headers: { ...computeApi.baseHeaders, ...computeApi.versionHeaders(undefined) },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.parse(res.body).quota_set.id).toBe(project);
  });
});

describe('Placement API: names up to 255 characters fit in a path', () => {
  it('PUT /traits/CUSTOM_<249 more> creates the trait (the router no longer answers 414)', async () => {
    const world = await placementApi.world();
    try {
      const name = `CUSTOM_${'X'.repeat(248)}`;
      expect(name).toHaveLength(255);
      const res = await world.app.inject({
        method: 'PUT',
        url: `/traits/${name}`,
        headers: { ...placementApi.baseHeaders, ...placementApi.versionHeaders(undefined) },
      });
      expect(res.statusCode, res.body).toBe(201);
    } finally {
      await world.close();
    }
  });
});
