/** Builds a Placement app on the memory store and sends requests through `inject()`. */

import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { buildPlacementApp } from '../../../../api/placement/app.ts';
import type { AuthConfig } from '../../../../api/placement/auth.ts';
import { PlacementService } from '../../../../api/placement/service.ts';
import { MemoryStore } from '../../../../core/adapters/memory/store.ts';
import type { Store } from '../../../../core/ports/store.ts';

export const TOKEN = 'admin-token';
export const FIXED_NOW = new Date('2026-11-23T10:00:00Z');

export interface Harness {
  readonly app: FastifyInstance;
  readonly service: PlacementService;
  readonly store: Store;
  /** `version` undefined sends no version header. */
  call(
    method: string,
    url: string,
    opts?: { version?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Res>;
  close(): Promise<void>;
}

export interface Res {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: string;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected freely
  readonly json: any;
}

export async function harness(
  auth: AuthConfig = { mode: 'token', token: TOKEN },
  store: Store = new MemoryStore(),
): Promise<Harness> {
  const service = await PlacementService.open(store);
  const app = await buildPlacementApp({ service, now: () => FIXED_NOW }, { auth });
  return {
    app,
    service,
    store,
    async call(method, url, opts = {}) {
      const headers: Record<string, string> = { 'x-auth-token': TOKEN, ...opts.headers };
      if (opts.version !== undefined) headers['openstack-api-version'] = `placement ${opts.version}`;
      let payload: string | undefined;
      if (opts.body !== undefined) {
        payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const r = await app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(payload !== undefined ? { payload } : {}),
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
      await service.close();
      await store.close();
    },
  };
}

export const RP1 = '11111111-1111-4111-8111-111111111111';
export const RP2 = '22222222-2222-4222-8222-222222222222';
export const CHILD = '33333333-3333-4333-8333-333333333333';
export const AGG1 = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
export const AGG2 = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
export const C1 = 'c1c1c1c1-c1c1-4c1c-8c1c-c1c1c1c1c1c1';
export const C2 = 'c2c2c2c2-c2c2-4c2c-8c2c-c2c2c2c2c2c2';

/** Creates a provider with inventories (latest microversion) and returns its generation. */
export async function provider(
  h: Harness,
  uuid: string,
  name: string,
  inventories: Record<string, Record<string, number>> = {},
  parent?: string,
): Promise<number> {
  const r = await h.call('POST', '/resource_providers', {
    version: 'latest',
    body: { uuid, name, ...(parent ? { parent_provider_uuid: parent } : {}) },
  });
  if (r.status !== 200) throw new Error(`create ${name}: ${r.status} ${r.body}`);
  if (Object.keys(inventories).length === 0) return 0;
  const inv = await h.call('PUT', `/resource_providers/${uuid}/inventories`, {
    version: 'latest',
    body: { resource_provider_generation: 0, inventories },
  });
  if (inv.status !== 200) throw new Error(`inventories ${name}: ${inv.status} ${inv.body}`);
  return inv.json.resource_provider_generation;
}

/** The single error of a Placement error body. */
// biome-ignore lint/suspicious/noExplicitAny: error bodies are inspected freely
export function error(r: Res): any {
  expect(r.json?.errors).toHaveLength(1);
  return r.json.errors[0];
}
