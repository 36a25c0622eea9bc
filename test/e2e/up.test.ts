/**
 * The README's main job, as an operator runs it: `cellplane up` prints the compute API's URL,
 * a server POSTed there goes ACTIVE on a simulated host, and Ctrl-C (SIGTERM here) stops it
 * cleanly with exit status 0. No servers needed (embedded adapters).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RoleProcesses } from './fixtures/roles.ts';

const procs = new RoleProcesses({});
afterAll(() => procs.stopAll());

describe('cellplane up', () => {
  it('serves the compute API and Placement over its trees: a server boots to ACTIVE, SIGTERM stops it cleanly', {
    timeout: 90_000,
  }, async () => {
    const up = procs.start('up', [
      'up',
      '--port',
      '0',
      '--placement-port',
      '0',
      '--cells',
      '2',
      '--hosts-per-cell',
      '5',
    ]);
    const line = await up.line(/^Compute API: /, 60_000);
    const url = line.split(' ')[2]!;
    const placement = (await up.line(/^Placement API: /, 60_000)).split(' ')[2]!;
    // Every host of both cells shows as a resource provider once its agent registered.
    let providers = 0;
    for (let i = 0; i < 300 && providers < 10; i++) {
      const rps = (await (await fetch(`${placement}/resource_providers`)).json()) as {
        resource_providers: unknown[];
      };
      providers = rps.resource_providers.length;
      if (providers < 10) await new Promise((r) => setTimeout(r, 100));
    }
    expect(providers).toBe(10);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2\.1$/);
    const created = await fetch(`${url}/servers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ server: { name: 'vm1', imageRef: 'cirros', flavorRef: '1' } }),
    });
    expect(created.status).toBe(202);
    const id = ((await created.json()) as { server: { id: string } }).server.id;
    let server: Record<string, unknown> = {};
    for (let i = 0; i < 200; i++) {
      server = ((await (await fetch(`${url}/servers/${id}`)).json()) as { server: Record<string, unknown> })
        .server;
      if (server.status !== 'BUILD') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(server.status).toBe('ACTIVE');
    expect(server['OS-EXT-SRV-ATTR:host']).toMatch(/^cell[12]-cn\d{4}$/);
    up.kill('SIGTERM');
    expect(await up.exited).toBe(0);
  });
});
