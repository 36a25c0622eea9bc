/**
 * vitest globalSetup for the `real` project: makes nats-server, etcd and redis-server
 * available once per run and hands their URLs to the tests (`inject('services')`).
 * Reuses servers named by CELLPLANE_NATS_URL / CELLPLANE_ETCD_URL / CELLPLANE_REDIS_URL;
 * otherwise starts private ones on free ports in a temp dir and removes them afterwards.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { servicesDown, servicesUp } from '../../deploy/services.ts';

export interface ServiceUrls {
  nats: string;
  etcd: string;
  redis: string;
  /** Set when this run started the servers itself (tests may then restart them). */
  dir?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServiceUrls;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { CELLPLANE_NATS_URL: nats, CELLPLANE_ETCD_URL: etcd, CELLPLANE_REDIS_URL: redis } = process.env;
  if (nats && etcd && redis) {
    project.provide('services', { nats, etcd, redis });
    return async () => {};
  }
  const dir = mkdtempSync(join(tmpdir(), 'cellplane-test-'));
  const state = await servicesUp({ dir, randomPorts: true, log: (l) => console.log(`[services] ${l}`) });
  project.provide('services', { ...state.urls, dir });
  return () => servicesDown(dir, { purge: true });
}
