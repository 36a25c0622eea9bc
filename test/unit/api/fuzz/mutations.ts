/**
 * Bad input, made from a valid request so that it reaches deep into its route: a field of the body
 * given a wrong, huge, deep or strange value; the whole body replaced (deeply nested JSON, cut
 * JSON, not JSON, not UTF-8, over the size limit); a bad microversion, content type or token;
 * broken percent-encoding, odd path parameters or unknown query parameters; another method.
 * And junk: any registered route with strange parameters, method and body.
 */
import fc from 'fast-check';
import type { ApiSpec, FuzzRequest } from './requests.ts';

/** Deepest nesting generated (the issue's 500 needed ~4,000 levels; the body limit caps the rest). */
const MAX_NESTING = 60_000;
/** Longest string value generated (beyond Nova's 65,535-byte user_data). */
const MAX_STRING_CHARS = 70_000;

const DEEP = '\u0001deep\u0001';
/** A body over the compute API's 1 MiB limit (Placement's is 16 MiB: it parses this one). */
const HUGE = `"${'x'.repeat(1024 * 1024 + 10)}"`;

/** JSON text nested `depth` levels of `[` or `{"a":`. */
function nested(depth: number, object: boolean): string {
  return object
    ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
    : `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Numbers in text, and numbers at the edges: what counts, limits and ids get wrong. */
const NUMERIC_STRINGS = [
  '0',
  '00',
  '-0',
  '-1',
  ' 1',
  '1 ',
  '1.5',
  '1e3',
  '1e400',
  '0x10',
  '99999999999999999999999',
  'NaN',
  'Infinity',
  '',
];
const EDGE_NUMBERS = [0, -1, -0.5, 1.5, 0.1, 2 ** 31, 2 ** 31 - 1, 2 ** 53, 2 ** 64, 1e308, -1e308];

/** Strings a careless parser trips on. */
const WEIRD_STRINGS = [
  ...NUMERIC_STRINGS,
  ' ',
  'true',
  'None',
  'null',
  '%',
  '%ZZ',
  '%C0%AF',
  '\u0000',
  '\t\n',
  '../..',
  'a/b',
  '\ud800',
  '😀',
  'ÄÖü名前',
  '\u202e',
  '<x>',
  '\'"\\',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'http://x/flavors/%',
  'http://x/flavors/%E0%A4%A',
  'http://x/flavors/',
];

/** A JSON value of the wrong type, size or shape for most fields. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NUMERIC_STRINGS) },
  { weight: 4, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 3, arbitrary: fc.constantFrom(...WEIRD_STRINGS) },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false) },
  { weight: 2, arbitrary: fc.constantFrom([], {}, [[]], { a: {} }, [null], { '': '' }, ['1'], [1, 1]) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 256, max: MAX_STRING_CHARS }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constant(DEEP) },
);

/** Paths of every value in a JSON value (arrays and objects), the root included. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(at);
  if (Array.isArray(v)) for (const [i, x] of v.entries()) paths(x, [...at, i], out);
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function setAt(v: unknown, path: (string | number)[], x: unknown, remove: boolean): unknown {
  if (path.length === 0) return x;
  const [head, ...rest] = path;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as Record<string, unknown>) }) as Record<
    string | number,
    unknown
  >;
  if (rest.length === 0 && remove) delete copy[head!];
  else copy[head!] = setAt(copy[head!], rest, x, remove);
  return copy;
}

function valueAt(v: unknown, path: (string | number)[]): unknown {
  let cur = v;
  for (const p of path) cur = (cur as Record<string | number, unknown> | undefined)?.[p];
  return cur;
}

/** A bad value for a field holding `old`: mostly one of its own kind (a count gets "0"), else any. */
function nearValue(old: unknown): fc.Arbitrary<unknown> {
  const numeric = typeof old === 'number' || (typeof old === 'string' && /^\d+$/.test(old));
  if (numeric)
    return fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...NUMERIC_STRINGS, ...EDGE_NUMBERS) },
      { weight: 1, arbitrary: weirdValue },
    );
  if (typeof old === 'string')
    return fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...WEIRD_STRINGS) },
      { weight: 1, arbitrary: weirdValue },
    );
  return weirdValue;
}

const textOf = (v: unknown, depth: number, object: boolean) =>
  JSON.stringify(v).replaceAll(JSON.stringify(DEEP), nested(depth, object));

/** One field of the JSON body changed, removed or added. */
function fieldMutation(r: FuzzRequest): fc.Arbitrary<FuzzRequest> {
  let body: unknown;
  try {
    body = JSON.parse(typeof r.body === 'string' ? r.body : 'null');
  } catch {
    body = null;
  }
  const all = paths(body);
  // Leaves (the fields themselves) more often than the objects holding them.
  const leaves = all.filter((p) => {
    const v = valueAt(body, p);
    return v === null || typeof v !== 'object';
  });
  const path = leaves.length
    ? fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...leaves) },
        { weight: 1, arbitrary: fc.constantFrom(...all) },
      )
    : fc.constantFrom(...all);
  const edit = fc
    .record({
      path,
      how: fc.constantFrom('set', 'set', 'set', 'set', 'remove', 'add'),
      key: fc.oneof(fc.constantFrom(...WEIRD_STRINGS), fc.string({ maxLength: 8 })),
    })
    .chain((e) => nearValue(valueAt(body, e.path)).map((value) => ({ ...e, value })));
  return fc
    .record({
      edits: fc.array(edit, { minLength: 1, maxLength: 2 }),
      depth: fc.integer({ min: 10, max: MAX_NESTING }),
      object: fc.boolean(),
    })
    .map(({ edits, depth, object }) => {
      let next = body;
      for (const { path, how, key, value } of edits) {
        const target = how === 'add' ? [...path, key] : path;
        next = setAt(next, target, value, how === 'remove');
      }
      const label = `field:${edits.map((e) => e.how).join('+')}`;
      return { ...r, label, body: textOf(next ?? null, depth, object) };
    });
}

/** The whole body replaced by bad text or bytes. */
const badBody: fc.Arbitrary<{ label: string; body: string | { hex: string } }> = fc.oneof(
  fc
    .record({ depth: fc.integer({ min: 100, max: MAX_NESTING }), object: fc.boolean() })
    .map(({ depth, object }) => ({ label: 'body:deep', body: nested(depth, object) })),
  fc.integer({ min: 1000, max: 5000 }).map((d) => ({ label: 'body:unbalanced', body: '['.repeat(d) })),
  fc.string({ maxLength: 30 }).map((s) => ({ label: 'body:text', body: s })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ label: 'body:json', body: JSON.stringify(v) })),
  fc
    .uint8Array({ minLength: 1, maxLength: 40 })
    .map((b) => ({ label: 'body:bytes', body: { hex: Buffer.from([0xff, ...b]).toString('hex') } })),
  fc
    .constantFrom(
      '\ufeff{}',
      '{"a":1,"a":2}',
      '{"__proto__":{"x":1}}',
      '{"constructor":{"prototype":{"x":1}}}',
      '1e400',
      '-',
      '{',
      'null',
      '""',
      '[]',
    )
    .map((body) => ({ label: 'body:odd', body })),
  fc.constant({ label: 'body:huge', body: HUGE }),
);

/** The body cut short. */
const truncated = (r: FuzzRequest) =>
  fc
    .nat()
    .map((n) =>
      typeof r.body === 'string' && r.body.length > 1
        ? { ...r, label: 'body:cut', body: r.body.slice(0, n % r.body.length) }
        : { ...r, label: 'body:cut', body: '{' },
    );

const BAD_PERCENT = ['%', '%Z', '%ZZ', '%C0%AF', '%00', '%ff', '%E0%A4%A', '%25', '%2F', '%2e%2e'];

/** Path and query damage. */
function urlMutation(r: FuzzRequest): fc.Arbitrary<FuzzRequest> {
  const [path, query] = r.url.split('?', 2) as [string, string | undefined];
  const segments = path.split('/');
  return fc.oneof(
    fc.record({ at: fc.nat(), bad: fc.constantFrom(...BAD_PERCENT) }).map(({ at, bad }) => {
      const i = at % (r.url.length + 1);
      return { ...r, label: 'url:percent', url: r.url.slice(0, i) + bad + r.url.slice(i) };
    }),
    fc
      .record({ at: fc.nat(), v: fc.oneof(fc.constantFrom(...WEIRD_STRINGS), fc.string({ maxLength: 12 })) })
      .map(({ at, v }) => {
        const segs = [...segments];
        const i = 1 + (at % Math.max(1, segs.length - 1));
        segs[i] = encodeURIComponent(v.replace(/[\ud800-\udfff]/g, '?'));
        return { ...r, label: 'url:segment', url: segs.join('/') + (query ? `?${query}` : '') };
      }),
    fc
      .integer({ min: 200, max: 9000 })
      .map((n) => ({ ...r, label: 'url:long', url: `${path}/${'a'.repeat(n)}${query ? `?${query}` : ''}` })),
    fc
      .record({
        key: fc.constantFrom(
          'limit',
          'marker',
          'sort_key',
          'sort_dir',
          'foo',
          'all_tenants',
          'name',
          'a[b]',
          '',
        ),
        value: fc.oneof(fc.constantFrom(...WEIRD_STRINGS), fc.string({ maxLength: 8 })),
        repeat: fc.boolean(),
      })
      .map(({ key, value, repeat }) => {
        const kv = `${encodeURIComponent(key)}=${encodeURIComponent(value.replace(/[\ud800-\udfff]/g, '?'))}`;
        const q = [query, kv, repeat ? kv : undefined].filter(Boolean).join('&');
        return { ...r, label: 'url:query', url: `${path}?${q}` };
      }),
    fc.constantFrom('/', '//', '/.', '/..').map((s) => ({ ...r, label: 'url:slash', url: path + s })),
  );
}

function headerMutation(api: ApiSpec, r: FuzzRequest): fc.Arbitrary<FuzzRequest> {
  const without = (name: string) =>
    Object.fromEntries(Object.entries(r.headers).filter(([k]) => k.toLowerCase() !== name));
  return fc.oneof(
    fc
      .constantFrom(...api.badVersionHeaders)
      .map((h) => ({ ...r, label: 'header:version', headers: { ...r.headers, ...h } })),
    fc
      .constantFrom(
        'text/plain',
        'application/xml',
        'application/json; charset=latin1',
        'multipart/form-data; boundary=x',
        'application/x-www-form-urlencoded',
        'application/json-patch+json',
        ';;;',
      )
      .map((ct) => ({ ...r, label: 'header:type', headers: { ...r.headers, 'content-type': ct } })),
    fc.constant({ ...r, label: 'header:no-type', headers: without('content-type') }),
    fc.constant({ ...r, label: 'header:no-token', headers: without('x-auth-token') }),
    fc.constant({ ...r, label: 'header:bad-token', headers: { ...r.headers, 'x-auth-token': 'wrong' } }),
    fc
      .constantFrom('', 'x'.repeat(300), 'a b', '%', 'ÄÖ'.replace(/[^\x20-\x7e]/g, '?'))
      .map((p) => ({ ...r, label: 'header:project', headers: { ...r.headers, 'x-project-id': p } })),
    fc
      .constantFrom('application/xml', 'text/html', '*/*;q=0')
      .map((a) => ({ ...r, label: 'header:accept', headers: { ...r.headers, accept: a } })),
  );
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

/** `r` turned into bad input by one mutation. */
export function mutate(api: ApiSpec, r: FuzzRequest): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    { weight: 8, arbitrary: fieldMutation(r) },
    { weight: 3, arbitrary: badBody.map((b) => ({ ...r, ...b, headers: withJson(r.headers) })) },
    { weight: 1, arbitrary: truncated(r) },
    { weight: 4, arbitrary: urlMutation(r) },
    { weight: 3, arbitrary: headerMutation(api, r) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...METHODS).map((method) => ({ ...r, label: 'method', method })),
    },
  );
}

const withJson = (h: Readonly<Record<string, string>>) => ({ 'content-type': 'application/json', ...h });

/** Any registered route with strange path parameters, a random method and maybe a body. */
export function junk(api: ApiSpec, urls: readonly string[]): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      url: fc.constantFrom(...urls),
      params: fc.array(fc.oneof(fc.constantFrom(...WEIRD_STRINGS), fc.string({ maxLength: 10 })), {
        minLength: 3,
        maxLength: 3,
      }),
      method: fc.constantFrom(...METHODS),
      body: fc.option(weirdValue, { nil: undefined }),
    })
    .map(({ url, params, method, body }) => {
      let i = 0;
      const path = url.replace(/:[a-zA-Z]+/g, () =>
        encodeURIComponent((params[i++ % 3] ?? '').replace(/[\ud800-\udfff]/g, '?')),
      );
      return {
        route: `${method} ${url}`,
        label: 'junk',
        method,
        url: path,
        headers: withJson({ ...api.baseHeaders, ...api.versionHeaders(undefined) }),
        ...(body === undefined ? {} : { body: textOf(body, 5000, false) }),
      };
    });
}
