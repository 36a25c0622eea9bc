/**
 * /servers through the whole embedded control plane (deploy/embedded.ts) on a VirtualClock:
 * create → ACTIVE through router, conductor, shards and fake hosts; Nova-shaped bodies and
 * errors; quotas; merge-sorted paging across cells; delete; power actions and their 409s;
 * instance actions; a disabled cell gets nothing new; anti-affinity through the API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { VirtualClock } from '../../../../core/adapters/memory/clock.ts';
import type { Embedded } from '../../../../deploy/embedded.ts';
import { embeddedWorld, type World } from './embedded-fixture.ts';

let w: World;
let e: Embedded;
let clock: VirtualClock;

afterEach(async () => {
  await e?.stop();
});

async function world(cells = 2, hostsPerCell = 3) {
  w = await embeddedWorld(cells, hostsPerCell);
  ({ e, clock } = w);
}

const until = (...a: Parameters<World['until']>) => w.until(...a);
const call = (...a: Parameters<World['call']>) => w.call(...a);
const boot = (...a: Parameters<World['boot']>) => w.boot(...a);
const settled = (id: string) => w.settled(id);

describe('/servers on the embedded control plane', () => {
  it('create answers 202 with Location; the server goes ACTIVE with Nova-shaped detail and an action', async () => {
    await world();
    const r = await boot('web-1', { metadata: { role: 'web' } });
    expect(r.status).toBe(202);
    const id = r.body.server.id as string;
    expect(r.headers.location).toMatch(new RegExp(`/v2.1/servers/${id}$`));
    expect(r.body.server).toMatchObject({
      'OS-DCF:diskConfig': 'MANUAL',
      security_groups: [{ name: 'default' }],
    });
    const s = await settled(id);
    expect(s).toMatchObject({
      id,
      name: 'web-1',
      status: 'ACTIVE',
      tenant_id: 'admin',
      metadata: { role: 'web' },
      'OS-EXT-STS:vm_state': 'active',
      'OS-EXT-STS:power_state': 1,
      'OS-EXT-AZ:availability_zone': 'nova',
      flavor: { vcpus: 1, ram: 512, disk: 1, original_name: 'm1.tiny' },
    });
    expect(s['OS-EXT-SRV-ATTR:host']).toMatch(/^cell[12]-cn/);
    expect(s.hostId).toMatch(/^[0-9a-f]{56}$/);
    const actions = await call('GET', `/servers/${id}/os-instance-actions`);
    expect(actions.body.instanceActions).toHaveLength(1);
    const [a] = actions.body.instanceActions;
    expect(a).toMatchObject({ action: 'create', instance_uuid: id, message: null });
    const one = await call('GET', `/servers/${id}/os-instance-actions/${a.request_id}`);
    expect(one.body.instanceAction.events[0]).toMatchObject({
      event: 'compute__do_build_and_run_instance',
      result: 'Success',
      host: s['OS-EXT-SRV-ATTR:host'],
    });
  });

  it('bad input: 400s in Nova fault format naming the problem, nothing created', async () => {
    await world(1, 1);
    const cases: Array<[unknown, RegExp]> = [
      [{ server: { imageRef: 'x', flavorRef: '1', networks: 'none' } }, /'name' is a required property/],
      [
        { server: { name: 'a', imageRef: 'x', flavorRef: '99', networks: 'none' } },
        /Flavor 99 could not be found/,
      ],
      [{ server: { name: 'a', imageRef: 'x', flavorRef: '1' } }, /'networks' is a required property/],
      [
        { server: { name: 'a', imageRef: 'x', flavorRef: '1', networks: 'none', colour: 'red' } },
        /Additional properties are not allowed/,
      ],
      [
        { server: { name: 'a', imageRef: 'x', flavorRef: '1', networks: 'none', availability_zone: 'mars' } },
        /availability zone is not available/,
      ],
      [
        {
          server: { name: 'a', imageRef: 'x', flavorRef: '1', networks: 'none', min_count: 3, max_count: 2 },
        },
        /min_count/,
      ],
    ];
    for (const [body, message] of cases) {
      const r = await call('POST', '/servers', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.badRequest.message).toMatch(message);
    }
    expect((await call('GET', '/servers')).body.servers).toEqual([]);
    expect((await call('GET', '/servers/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('quota: the instance over the limit is refused with 403 and Nova’s message', async () => {
    await world(1, 2);
    expect((await call('PUT', '/os-quota-sets/admin', { quota_set: { instances: 2 } })).status).toBe(200);
    for (const n of ['a', 'b']) expect((await boot(n)).status).toBe(202);
    const over = await boot('c');
    expect(over.status).toBe(403);
    expect(over.body.forbidden.message).toMatch(
      /Quota exceeded for instances: Requested 1, but already used 2 of 2 instances/,
    );
  });

  it('quota: a finished delete gives its share back (the conductor releases it), not before', async () => {
    await world(1, 2);
    expect((await call('PUT', '/os-quota-sets/admin', { quota_set: { instances: 1 } })).status).toBe(200);
    const first = (await boot('a')).body.server.id as string;
    await settled(first);
    expect((await boot('b')).status).toBe(403);
    expect((await call('DELETE', `/servers/${first}`)).status).toBe(204);
    await until('deleted', async () => (await call('GET', `/servers/${first}`)).status === 404);
    const detail = await call('GET', '/os-quota-sets/admin/detail');
    expect(detail.body.quota_set.instances).toEqual({ in_use: 0, limit: 1, reserved: 0 });
    expect((await boot('b')).status).toBe(202);
  });

  it('lists merge-sorted across cells: paging visits every server once, in order; filters apply', async () => {
    await world(2, 3);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push((await boot(`vm-${i}`)).body.server.id);
      await clock.advance(1_000); // distinct created_at
    }
    for (const id of ids) await settled(id);
    const cellsUsed = new Set(
      (await call('GET', '/servers/detail')).body.servers.map(
        (s: Record<string, string>) => s['OS-EXT-SRV-ATTR:host']!.split('-')[0],
      ),
    );
    expect(cellsUsed.size).toBe(2);
    const seen: string[] = [];
    let url: string | undefined = '/servers?limit=3';
    while (url) {
      const page = await call('GET', url);
      seen.push(...page.body.servers.map((s: { id: string }) => s.id));
      const next = page.body.servers_links?.[0]?.href as string | undefined;
      url = next ? next.slice(next.indexOf('/v2.1') + 5) : undefined;
    }
    expect(seen).toEqual([...ids].reverse()); // default: newest first
    const byName = await call('GET', '/servers?sort_key=display_name&sort_dir=asc&name=vm-[1-3]');
    expect(byName.body.servers.map((s: { name: string }) => s.name)).toEqual(['vm-1', 'vm-2', 'vm-3']);
    expect((await call('GET', '/servers?status=ERROR')).body.servers).toEqual([]);
    expect((await call('GET', '/servers?sort_key=bogus')).status).toBe(400);
  });

  it('delete: 204, then 404; its resources are free again for a new server', async () => {
    await world(1, 1);
    // The one host: 8192 MB with 512 reserved → three m1.small (2048 MB) fit, a fourth does not.
    const small = { flavorRef: '2' };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await boot(`s-${i}`, small)).body.server.id);
      expect((await settled(ids[i]!)).status).toBe('ACTIVE');
    }
    const full = await settled((await boot('s-3', small)).body.server.id);
    expect(full.status).toBe('ERROR');
    expect((full.fault as { message: string }).message).toMatch(/No valid host was found/);
    const first = ids[0]!;
    expect((await call('DELETE', `/servers/${first}`)).status).toBe(204);
    await until('gone', async () => (await call('GET', `/servers/${first}`)).status === 404);
    expect((await call('DELETE', `/servers/${first}`)).status).toBe(404);
    const again = (await boot('s-4', small)).body.server.id;
    expect((await settled(again)).status).toBe('ACTIVE');
    const big = { flavorRef: '5' }; // 8 VCPU / 16 GiB: never fits
    expect((await settled((await boot('five', big)).body.server.id)).status).toBe('ERROR');
  });

  it('os-stop / os-start / reboot: 202, state moves, a conflicting action is 409', async () => {
    await world(1, 1);
    const id = (await boot('p')).body.server.id;
    await settled(id);
    expect((await call('POST', `/servers/${id}/action`, { 'os-start': null })).status).toBe(409);
    expect((await call('POST', `/servers/${id}/action`, { 'os-stop': null })).status).toBe(202);
    expect((await call('POST', `/servers/${id}/action`, { 'os-stop': null })).status).toBe(409);
    expect(await settled(id)).toMatchObject({ status: 'SHUTOFF', 'OS-EXT-STS:power_state': 4 });
    expect(
      (await call('POST', `/servers/${id}/action`, { reboot: { type: 'SOFT' } })).body.conflictingRequest
        .message,
    ).toMatch(/while it is in vm_state stopped/);
    expect((await call('POST', `/servers/${id}/action`, { 'os-start': null })).status).toBe(202);
    expect((await settled(id)).status).toBe('ACTIVE');
    expect((await call('POST', `/servers/${id}/action`, { reboot: { type: 'HARD' } })).status).toBe(202);
    expect((await settled(id)).status).toBe('ACTIVE');
    expect((await call('POST', `/servers/${id}/action`, { frobnicate: null })).status).toBe(404);
    const actions = (await call('GET', `/servers/${id}/os-instance-actions`)).body.instanceActions;
    expect(actions.map((a: { action: string }) => a.action)).toEqual(['reboot', 'start', 'stop', 'create']);
  });

  it('a disabled cell gets no new servers but still serves its own; all disabled → 409', async () => {
    await world(2, 2);
    const before = (await boot('old')).body.server.id;
    const oldHost = (await settled(before))['OS-EXT-SRV-ATTR:host'] as string;
    const cellOfOld = oldHost.split('-')[0]!;
    await e.registry.disable(cellOfOld, 'maintenance');
    await clock.advance(100);
    for (let i = 0; i < 6; i++) {
      const id = (await boot(`new-${i}`)).body.server.id;
      expect(((await settled(id))['OS-EXT-SRV-ATTR:host'] as string).startsWith(`${cellOfOld}-`)).toBe(false);
    }
    expect((await call('GET', `/servers/${before}`)).body.server.status).toBe('ACTIVE');
    const other = cellOfOld === 'cell1' ? 'cell2' : 'cell1';
    await e.registry.disable(other);
    await clock.advance(100);
    const none = await boot('nowhere');
    expect(none.status).toBe(409);
    expect(none.body.conflictingRequest.message).toMatch(/No cell accepts new instances/);
  });

  it('anti-affinity through the API: one member per host, the extra one ERRORs with the reason', async () => {
    await world(1, 3);
    const g = await call('POST', '/os-server-groups', {
      server_group: { name: 'spread', policy: 'anti-affinity' },
    });
    expect(g.status).toBe(200);
    const group = g.body.server_group.id as string;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await boot(`aa-${i}`, {}, { group })).body.server.id);
    const servers = await Promise.all(ids.map(settled));
    const active = servers.filter((s) => s.status === 'ACTIVE');
    expect(active).toHaveLength(3);
    expect(new Set(active.map((s) => s['OS-EXT-SRV-ATTR:host'])).size).toBe(3);
    const err = servers.find((s) => s.status === 'ERROR')!;
    expect((err.fault as { message: string }).message).toMatch(/No valid host was found/);
    const shown = await call('GET', `/os-server-groups/${group}`);
    expect(shown.body.server_group.members).toHaveLength(4);
  });

  it('affinity through the API: every member on the first member’s host, in its cell', async () => {
    await world(2, 3);
    const g = await call('POST', '/os-server-groups', { server_group: { name: 'pack', policy: 'affinity' } });
    const group = g.body.server_group.id as string;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await boot(`af-${i}`, {}, { group })).body.server.id);
    const servers = await Promise.all(ids.map(settled));
    expect(servers.map((s) => s.status)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE']);
    expect(new Set(servers.map((s) => s['OS-EXT-SRV-ATTR:host'])).size).toBe(1);
  });
});
