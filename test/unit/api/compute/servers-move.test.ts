/**
 * Server moves through the whole embedded control plane on a VirtualClock: resize with
 * confirm/revert (400 same or unknown flavor, 403 over quota, 409 wrong state), cold migrate
 * (host from 2.56), evacuate (409 while the host is up, per the HostLiveness port). After each
 * move the books are checked: tree usage = what the servers hold, nothing over capacity.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../../core/adapters/memory/clock.ts';
import { type Embedded, startEmbedded } from '../../../../deploy/embedded.ts';
import { storedProviders } from '../../actors/boot-path-fixture.ts';

const V = { 'content-type': 'application/json', 'openstack-api-version': 'compute 2.79' };
let e: Embedded;
let clock: VirtualClock;
/** Hosts the (test's) heartbeat monitor declared dead. */
const down = new Set<string>();

afterEach(async () => {
  down.clear();
  await e?.stop();
});

async function world(hosts = 3) {
  clock = new VirtualClock(Date.parse('2026-03-01T00:00:00Z'));
  e = await startEmbedded({
    cells: 1,
    hostsPerCell: hosts,
    clock,
    host: { vcpus: 4, memoryMb: 8192, diskGb: 100 },
    liveness: { isUp: async (h) => !down.has(h) },
  });
  await until('hosts registered', async () => e.roles.get('cell1')!.registrar?.hosts().length === hosts);
  await clock.advance(3_000);
}

async function until(what: string, check: () => Promise<boolean>, maxMs = 60_000) {
  const end = clock.now() + maxMs;
  await clock.advance(0);
  while (!(await check())) {
    if (clock.now() >= end) throw new Error(`not within ${maxMs} virtual ms: ${what}`);
    await clock.advance(50);
  }
}

const call = async (method: string, url: string, payload?: unknown, version = '2.79') => {
  const r = await e.app.inject({
    method: method as 'GET',
    url: `/v2.1${url}`,
    headers: { ...V, 'openstack-api-version': `compute ${version}` },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
};
const act = (id: string, body: unknown, version?: string) =>
  call('POST', `/servers/${id}/action`, body, version);

async function settled(id: string, status = 'ACTIVE') {
  let last: Record<string, unknown> = {};
  await until(`${id} ${status}`, async () => {
    last = (await call('GET', `/servers/${id}`)).body.server;
    return last.status === status && last['OS-EXT-STS:task_state'] === null;
  });
  return last;
}

async function bootActive(name: string, flavorRef = '1'): Promise<{ id: string; host: string }> {
  const r = await call('POST', '/servers', {
    server: { name, imageRef: 'cirros', flavorRef, networks: 'none' },
  });
  expect(r.status).toBe(202);
  const s = await settled(r.body.server.id);
  return { id: s.id as string, host: s['OS-EXT-SRV-ATTR:host'] as string };
}

/** MEMORY_MB used per host (roots only), checked within capacity. */
async function ramByHost(): Promise<Record<string, number>> {
  const cell = e.cells[0]!;
  const hosts = e.roles.get('cell1')!.registrar!.hosts();
  const out: Record<string, number> = {};
  for (const p of await storedProviders(
    e.stores.get(cell.uuid)!,
    hosts.map((h) => h.root),
  )) {
    for (const [rc, used] of Object.entries(p.usages)) expect(used).toBeLessThanOrEqual(p.capacity[rc]!);
    const h = hosts.find((x) => x.root === p.uuid);
    if (h) out[h.host] = p.usages.MEMORY_MB ?? 0;
  }
  return out;
}

describe('server moves through the API', () => {
  it('resize → VERIFY_RESIZE → confirmResize: the new flavor on the new host, the old host free', async () => {
    await world();
    const { id, host } = await bootActive('r');
    expect((await act(id, { resize: { flavorRef: '2' } })).status).toBe(202);
    const s = await settled(id, 'VERIFY_RESIZE');
    const target = s['OS-EXT-SRV-ATTR:host'] as string;
    expect(target).not.toBe(host);
    expect(s).toMatchObject({ 'OS-EXT-STS:vm_state': 'resized', flavor: { original_name: 'm1.small' } });
    // m1.tiny 512 MB stays claimed on the source, m1.small 2048 MB is claimed on the target.
    expect(await ramByHost()).toMatchObject({ [host]: 512, [target]: 2048 });
    expect((await act(id, { resize: { flavorRef: '3' } })).status).toBe(409);
    expect((await act(id, { confirmResize: null })).status).toBe(202);
    expect((await act(id, { confirmResize: null })).status).toBe(409);
    const done = await settled(id);
    expect(done['OS-EXT-SRV-ATTR:host']).toBe(target);
    expect(await ramByHost()).toMatchObject({ [host]: 0, [target]: 2048 });
    const actions = (await call('GET', `/servers/${id}/os-instance-actions`)).body.instanceActions;
    expect(actions.map((a: { action: string }) => a.action)).toEqual(['confirmResize', 'resize', 'create']);
  });

  it('revertResize: the old flavor and host come back, the target is free', async () => {
    await world();
    const { id, host } = await bootActive('r');
    expect((await act(id, { resize: { flavorRef: 2 } })).status).toBe(202);
    const target = (await settled(id, 'VERIFY_RESIZE'))['OS-EXT-SRV-ATTR:host'] as string;
    expect((await act(id, { revertResize: null })).status).toBe(202);
    const s = await settled(id);
    expect(s).toMatchObject({ 'OS-EXT-SRV-ATTR:host': host, flavor: { original_name: 'm1.tiny' } });
    expect(await ramByHost()).toMatchObject({ [host]: 512, [target]: 0 });
  });

  it('resize refusals: 400 same/unknown flavor or bad body, 409 wrong state, 403 over the cores quota', async () => {
    await world(2);
    const { id } = await bootActive('r');
    const cases: Array<[unknown, number, RegExp]> = [
      [{ resize: { flavorRef: '1' } }, 400, /When resizing, instances must change flavor!/],
      [{ resize: { flavorRef: '99' } }, 400, /Unable to locate requested flavor/],
      [{ resize: {} }, 400, /'flavorRef' is a required property/],
      [{ confirmResize: null }, 409, /Cannot 'confirmResize' instance .* vm_state active/],
      [{ revertResize: null }, 409, /vm_state active/],
    ];
    for (const [body, status, message] of cases) {
      const r = await act(id, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(Object.values(r.body as Record<string, { message: string }>)[0]!.message).toMatch(message);
    }
    // cores: 1 used of 2; m1.large needs 4 (3 more) → refused with Nova's message.
    expect((await call('PUT', '/os-quota-sets/admin', { quota_set: { cores: 2 } })).status).toBe(200);
    const over = await act(id, { resize: { flavorRef: '4' } });
    expect(over.status).toBe(403);
    expect(over.body.forbidden.message).toMatch(
      /Quota exceeded for cores: Requested 3, but already used 1 of 2 cores/,
    );
    expect((await call('GET', `/servers/${id}`)).body.server.status).toBe('ACTIVE');
  });

  it('migrate: a host only from 2.56; same or unknown host 400; lands on the asked host', async () => {
    await world();
    const { id, host } = await bootActive('m');
    const other = e.roles
      .get('cell1')!
      .registrar!.hosts()
      .find((h) => h.host !== host)!.host;
    expect((await act(id, { migrate: { host: other } }, '2.55')).status).toBe(400);
    const same = await act(id, { migrate: { host } }, '2.56');
    expect(same.status).toBe(400);
    expect(same.body.badRequest.message).toMatch(/to current host/);
    expect((await act(id, { migrate: { host: 'nowhere' } }, '2.56')).body.badRequest.message).toMatch(
      /Compute host nowhere could not be found/,
    );
    expect((await act(id, { migrate: { host: other } }, '2.56')).status).toBe(202);
    const s = await settled(id, 'VERIFY_RESIZE');
    expect(s['OS-EXT-SRV-ATTR:host']).toBe(other);
    expect((await act(id, { confirmResize: null })).status).toBe(202);
    await settled(id);
    expect(await ramByHost()).toMatchObject({ [host]: 0, [other]: 512 });
  });

  it('evacuate: 409 while the host is up; once down, rebuilt elsewhere and the dead host’s claim freed', async () => {
    await world();
    const { id, host } = await bootActive('ev');
    const up = await act(id, { evacuate: {} });
    expect(up.status).toBe(409);
    expect(up.body.conflictingRequest.message).toBe(`Compute service of ${host} is still in use.`);
    down.add(host);
    e.fleets.get('cell1')!.agents.remove(host);
    const same = await act(id, { evacuate: { host } });
    expect(same.body.badRequest.message).toMatch(/The target host can't be the same one/);
    expect((await act(id, { evacuate: { host: 'ghost' } })).status).toBe(404);
    const r = await act(id, { evacuate: {} });
    expect(r.status).toBe(200);
    const s = await settled(id);
    const now = s['OS-EXT-SRV-ATTR:host'] as string;
    expect(now).not.toBe(host);
    expect(await ramByHost()).toMatchObject({ [host]: 0, [now]: 512 });
    const actions = (await call('GET', `/servers/${id}/os-instance-actions`)).body.instanceActions;
    expect(actions[0]).toMatchObject({ action: 'evacuate', message: null });
  });

  it('evacuate before 2.14 needs onSharedStorage and answers the admin password', async () => {
    await world(2);
    const { id, host } = await bootActive('old');
    down.add(host);
    expect((await act(id, { evacuate: {} }, '2.13')).status).toBe(400);
    const r = await act(id, { evacuate: { onSharedStorage: false, adminPass: 's3cret' } }, '2.13');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ adminPass: 's3cret' });
    expect((await settled(id))['OS-EXT-SRV-ATTR:host']).not.toBe(host);
  });
});
