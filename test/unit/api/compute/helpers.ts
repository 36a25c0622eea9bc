/** Builds a compute app on the memory store and sends requests through `inject()`. */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { buildComputeApp, type ComputeConfig } from '../../../../api/compute/app.ts';
import { MemoryHostDirectory } from '../../../../api/compute/hosts.ts';
import { MemoryUsageSource } from '../../../../api/compute/quota.ts';
import { MemoryStore } from '../../../../core/adapters/memory/store.ts';
import type { Store } from '../../../../core/ports/store.ts';

export const TOKEN = 'admin-token';
export const FIXED_NOW = new Date('2026-11-23T10:00:00.000Z');

export interface Res {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: string;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected freely
  readonly json: any;
}

export interface CallOptions {
  /** Sent as `OpenStack-API-Version: compute <version>`; undefined sends none. */
  version?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Harness {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly hosts: MemoryHostDirectory;
  readonly usage: MemoryUsageSource;
  call(method: string, url: string, opts?: CallOptions): Promise<Res>;
  close(): Promise<void>;
}

export async function harness(
  config: Partial<ComputeConfig> = {},
  store: Store = new MemoryStore(),
): Promise<Harness> {
  const hosts = new MemoryHostDirectory();
  const usage = new MemoryUsageSource();
  let n = 0;
  const newUuid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const app = await buildComputeApp(
    { store, hosts, usage, now: () => FIXED_NOW, newUuid },
    { auth: { mode: 'token', token: TOKEN }, publicUrl: 'http://api.test', ...config },
  );
  return {
    app,
    store,
    hosts,
    usage,
    async call(method, url, opts = {}) {
      const headers: Record<string, string> = { 'x-auth-token': TOKEN, ...opts.headers };
      if (opts.version !== undefined) headers['openstack-api-version'] = `compute ${opts.version}`;
      let payload: string | undefined;
      if (opts.body !== undefined) {
        payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const r = await app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(payload === undefined ? {} : { payload }),
      });
      let json: unknown;
      try {
        json = r.body ? JSON.parse(r.body) : undefined;
      } catch {
        json = undefined;
      }
      return { status: r.statusCode, headers: r.headers, body: r.body, json };
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}

/** The fault of a Nova error body, checked to be the one key `name` with a matching code. */
// biome-ignore lint/suspicious/noExplicitAny: error bodies are inspected freely
export function fault(r: Res, name: string): any {
  expect(Object.keys(r.json ?? {})).toEqual([name]);
  expect(r.json[name].code).toBe(r.status);
  return r.json[name];
}

export interface Row {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly version?: string;
  readonly body?: unknown;
  readonly status: number;
  /** Fault name for errors; the message must contain `message`. */
  readonly fault?: string;
  readonly message?: string;
  /** Subset the JSON body must match (success rows). */
  readonly match?: unknown;
}

/** Runs a table row and checks status, fault shape/message or body subset. */
export async function expectRow(h: Harness, row: Row): Promise<Res> {
  const r = await h.call(row.method, row.url, { version: row.version, body: row.body });
  expect(r.status, `${row.name}: ${r.body}`).toBe(row.status);
  if (row.fault) {
    const f = fault(r, row.fault);
    if (row.message) expect(f.message).toContain(row.message);
  }
  if (row.match !== undefined) expect(r.json).toMatchObject(row.match as object);
  return r;
}

export async function createFlavor(
  h: Harness,
  flavor: Record<string, unknown>,
  version = '2.79',
): Promise<Res> {
  const r = await h.call('POST', '/v2.1/flavors', { version, body: { flavor } });
  if (r.status !== 200) throw new Error(`create flavor: ${r.status} ${r.body}`);
  return r;
}
