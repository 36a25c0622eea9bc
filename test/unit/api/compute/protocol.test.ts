/** Microversion negotiation, version documents, auth, identity and the generic fault shapes. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fault, type Harness, harness } from './helpers.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(() => h.close());

describe('microversion negotiation', () => {
  it.each([
    // request headers → negotiated version
    [{}, '2.1'],
    [{ 'openstack-api-version': 'compute 2.55' }, '2.55'],
    [{ 'openstack-api-version': 'compute latest' }, '2.79'],
    [{ 'openstack-api-version': 'placement 1.2, compute 2.64' }, '2.64'],
    [{ 'x-openstack-nova-api-version': '2.13' }, '2.13'],
    // The new header wins over the legacy one.
    [{ 'openstack-api-version': 'compute 2.20', 'x-openstack-nova-api-version': '2.13' }, '2.20'],
  ])('%j negotiates %s and answers both headers with vary', async (headers, v) => {
    const r = await h.call('GET', '/v2.1/flavors', { headers: headers as Record<string, string> });
    expect(r.status).toBe(200);
    expect(r.headers['openstack-api-version']).toBe(`compute ${v}`);
    expect(r.headers['x-openstack-nova-api-version']).toBe(v);
    expect(r.headers.vary).toBe('openstack-api-version, x-openstack-nova-api-version');
    expect(r.headers['x-openstack-request-id']).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(r.headers['x-compute-request-id']).toBe(r.headers['x-openstack-request-id']);
  });

  it.each([
    ['2.80', 406, 'Version 2.80 is not supported by the API. Minimum is 2.1 and maximum is 2.79.'],
    ['2.0', 406, 'Version 2.0 is not supported by the API.'],
    ['3.1', 406, 'Version 3.1 is not supported'],
    ['2.x', 400, 'API Version String 2.x is of invalid format. Must be of format MajorNum.MinorNum.'],
  ])('version %s answers %i without version headers', async (version, status, message) => {
    const r = await h.call('GET', '/v2.1/flavors', { version });
    expect(r.status).toBe(status);
    expect(r.headers['openstack-api-version']).toBeUndefined();
    expect(fault(r, status === 400 ? 'badRequest' : 'computeFault').message).toContain(message);
  });

  it('methods newer than the requested version answer 404', async () => {
    const r = await h.call('PUT', '/v2.1/flavors/1', {
      version: '2.54',
      body: { flavor: { description: 'x' } },
    });
    expect(r.status).toBe(404);
    fault(r, 'itemNotFound');
  });
});

describe('version documents', () => {
  it('GET / lists v2.1 without a token', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      versions: [
        {
          id: 'v2.1',
          status: 'CURRENT',
          version: '2.79',
          min_version: '2.1',
          updated: '2013-07-23T11:33:21Z',
          links: [{ rel: 'self', href: 'http://api.test/v2.1/' }],
        },
      ],
    });
  });

  it.each(['/v2.1', '/v2.1/'])('GET %s is the v2.1 document, open', async (url) => {
    const r = await h.app.inject({ method: 'GET', url });
    expect(r.statusCode).toBe(200);
    expect(r.json().version).toMatchObject({ id: 'v2.1', version: '2.79', min_version: '2.1' });
    expect(r.json().version['media-types'][0].type).toBe(
      'application/vnd.openstack.compute+json;version=2.1',
    );
  });
});

describe('auth and generic faults', () => {
  it('401 unauthorized without the token', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/v2.1/flavors' });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toEqual({
      unauthorized: { code: 401, message: 'The request you have made requires authentication.' },
    });
  });

  it.each([
    // name, method, url, body, status, fault
    ['unknown path', 'GET', '/v2.1/os-nothing', undefined, 404, 'itemNotFound'],
    ['method not allowed', 'PATCH', '/v2.1/flavors', undefined, 405, 'badMethod'],
    ['malformed JSON', 'POST', '/v2.1/flavors', '{"flavor":', 400, 'badRequest'],
    ['empty body', 'POST', '/v2.1/os-aggregates', '', 400, 'badRequest'],
  ])('%s → %i %s', async (_n, method, url, body, status, name) => {
    const r = await h.call(method, url, body === undefined ? {} : { body });
    expect(r.status).toBe(status);
    fault(r, name);
  });

  it('415 for a non-JSON body', async () => {
    const r = await h.call('POST', '/v2.1/flavors', {
      body: 'x=1',
      headers: { 'content-type': 'text/plain' },
    });
    expect(r.status).toBe(415);
    expect(fault(r, 'badMediaType').message).toBe('Invalid content type text/plain.');
  });

  it('405 carries allow', async () => {
    const r = await h.call('DELETE', '/v2.1/flavors/detail');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET');
  });

  it('an empty body validates as None, as in Nova', async () => {
    const r = await h.call('POST', '/v2.1/os-aggregates', { body: '' });
    expect(fault(r, 'badRequest').message).toBe("None is not of type 'object'");
  });
});
