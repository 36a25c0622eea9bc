/** Microversion negotiation, headers, auth and the generic error shapes (405, 404, 415, bad JSON). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { error, type Harness, harness, TOKEN } from './helpers.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(() => h.close());

describe('microversion negotiation', () => {
  it.each([
    // header value → negotiated version
    [undefined, 'placement 1.0'],
    ['1.0', 'placement 1.0'],
    ['1.17', 'placement 1.17'],
    ['latest', 'placement 1.39'],
    ['1.39', 'placement 1.39'],
  ])('header %s answers %s with vary', async (version, answered) => {
    const r = await h.call('GET', '/resource_providers', { version });
    expect(r.status).toBe(200);
    expect(r.headers['openstack-api-version']).toBe(answered);
    expect(r.headers.vary).toBe('openstack-api-version');
    expect(r.headers['x-openstack-request-id']).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('406 for an unsupported version, with max/min and no version headers', async () => {
    const r = await h.call('GET', '/resource_providers', { version: '1.40' });
    expect(r.status).toBe(406);
    expect(r.headers['openstack-api-version']).toBeUndefined();
    const e = error(r);
    expect(e).toMatchObject({
      status: 406,
      title: 'Not Acceptable',
      max_version: '1.39',
      min_version: '1.0',
    });
    expect(e.detail).toContain('Unacceptable version header: 1.40');
    expect(e.request_id).toBe(r.headers['x-openstack-request-id']);
    expect((await h.call('GET', '/', { version: '2.0' })).status).toBe(406);
  });

  it('400 for a malformed version', async () => {
    const r = await h.call('GET', '/resource_providers', { version: '1.a' });
    expect(r.status).toBe(400);
    expect(error(r).detail).toContain('invalid version string: 1.a');
  });

  it('errors carry `code` only from 1.23', async () => {
    const missing = '/resource_providers/99999999-9999-4999-8999-999999999999';
    const old = error(await h.call('GET', missing, { version: '1.22' }));
    expect(old.code).toBeUndefined();
    const now = error(await h.call('GET', missing, { version: '1.23' }));
    expect(now).toMatchObject({ status: 404, title: 'Not Found', code: 'placement.undefined_code' });
    expect(now.detail).toContain('No resource provider with uuid 99999999-9999-4999-8999-999999999999 found');
  });

  it('routes newer than the requested version answer 404 (405 for DELETE inventories before 1.5)', async () => {
    expect((await h.call('GET', '/traits', { version: '1.5' })).status).toBe(404);
    expect((await h.call('GET', '/traits', { version: '1.6' })).status).toBe(200);
    expect((await h.call('GET', '/resource_classes', { version: '1.1' })).status).toBe(404);
    expect((await h.call('GET', '/usages?project_id=p', { version: '1.8' })).status).toBe(404);
    expect((await h.call('GET', '/allocation_candidates?resources=VCPU:1', { version: '1.9' })).status).toBe(
      404,
    );
    expect((await h.call('POST', '/reshaper', { version: '1.29', body: {} })).status).toBe(404);
    expect((await h.call('POST', '/allocations', { version: '1.12', body: {} })).status).toBe(404);
    const uuid = '99999999-9999-4999-8999-999999999999';
    expect(
      (await h.call('DELETE', `/resource_providers/${uuid}/inventories`, { version: '1.4' })).status,
    ).toBe(405);
  });
});

describe('version document and auth', () => {
  it('GET / is open and lists the version range', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      versions: [
        {
          id: 'v1.0',
          max_version: '1.39',
          min_version: '1.0',
          status: 'CURRENT',
          links: [{ rel: 'self', href: '' }],
        },
      ],
    });
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { 'x-auth-token': `${TOKEN}x` }],
  ])('401 with %s, in Placement error format', async (_label, headers) => {
    const r = await h.app.inject({ method: 'GET', url: '/resource_providers', headers });
    expect(r.statusCode).toBe(401);
    expect(r.json().errors[0]).toMatchObject({ status: 401, title: 'Unauthorized' });
    expect(r.headers['x-openstack-request-id']).toBeDefined();
  });

  it('noauth mode accepts requests without a token', async () => {
    const open = await harness({ mode: 'noauth' });
    try {
      expect((await open.app.inject({ method: 'GET', url: '/resource_providers' })).statusCode).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('generic errors', () => {
  it('405 with allow for a method the path lacks', async () => {
    const r = await h.call('PATCH', '/resource_providers');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, POST');
    expect(r.headers['openstack-api-version']).toBe('placement 1.0');
    expect(error(r).detail).toContain('The method PATCH is not allowed for this resource.');
  });

  it('404 for an unknown path', async () => {
    const r = await h.call('GET', '/nope', { version: '1.39' });
    expect(r.status).toBe(404);
    expect(error(r)).toMatchObject({ status: 404, code: 'placement.undefined_code' });
  });

  it('415 for a body that is not application/json', async () => {
    const r = await h.call('POST', '/resource_providers', {
      version: '1.39',
      body: '{"name":"x"}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(r.status).toBe(415);
    expect(error(r).detail).toContain('The media type text/plain is not supported, use application/json');
  });

  it('400 for malformed JSON and for schema violations, naming the field', async () => {
    const bad = await h.call('POST', '/resource_providers', { version: '1.39', body: '{"name": ' });
    expect(bad.status).toBe(400);
    expect(error(bad).detail).toContain('Malformed JSON');
    const wrong = await h.call('POST', '/resource_providers', { version: '1.39', body: { name: 5 } });
    expect(wrong.status).toBe(400);
    expect(error(wrong).detail).toContain("JSON does not validate: 5 is not of type 'string' (at /name)");
    const extra = await h.call('POST', '/resource_providers', {
      version: '1.39',
      body: { name: 'a', foo: 1 },
    });
    expect(error(extra).detail).toContain("Additional properties are not allowed ('foo' was unexpected)");
    const query = await h.call('GET', '/resource_providers?foo=1', { version: '1.39' });
    expect(query.status).toBe(400);
    expect(error(query).detail).toContain('Invalid query string parameters');
  });
});
