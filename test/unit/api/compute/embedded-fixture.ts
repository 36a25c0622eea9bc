/**
 * The whole embedded control plane (deploy/embedded.ts) on a VirtualClock, driven through the
 * compute API by `app.inject`: `embeddedWorld()` starts it and waits until every host registered
 * and every cell's first capacity report reached the router (conditions, not fixed times).
 */
import { VirtualClock } from '../../../../core/adapters/memory/clock.ts';
import { type EmbeddedOptions, startEmbedded } from '../../../../deploy/embedded.ts';

export const V = { 'content-type': 'application/json', 'openstack-api-version': 'compute 2.79' };

/** A response body: Nova's JSON, read freely by the tests. */
const json = (text: string) => JSON.parse(text);

export type World = Awaited<ReturnType<typeof embeddedWorld>>;

export async function embeddedWorld(cells = 2, hostsPerCell = 3, more: Partial<EmbeddedOptions> = {}) {
  const clock = new VirtualClock(Date.parse('2026-03-01T00:00:00Z'));
  const e = await startEmbedded({
    cells,
    hostsPerCell,
    clock,
    host: { vcpus: 4, memoryMb: 8192, diskGb: 100 },
    ...more,
  });
  const until = async (what: string, check: () => Promise<boolean>, maxMs = 60_000) => {
    const end = clock.now() + maxMs;
    await clock.advance(0);
    while (!(await check())) {
      if (clock.now() >= end) throw new Error(`not within ${maxMs} virtual ms: ${what}`);
      await clock.advance(50);
    }
  };
  const call = async (
    method: string,
    url: string,
    payload?: unknown,
    headers: Record<string, string> = V,
  ) => {
    const r = await e.app.inject({
      method: method as 'GET',
      url: `/v2.1${url}`,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: r.statusCode, body: r.body ? json(r.body) : undefined, headers: r.headers };
  };
  /** POST /servers of flavor 1 (m1.tiny) unless `extra` says otherwise. */
  const boot = (name: string, extra: Record<string, unknown> = {}, hints?: Record<string, unknown>) =>
    call('POST', '/servers', {
      server: { name, imageRef: 'cirros', flavorRef: '1', networks: 'none', ...extra },
      ...(hints ? { 'os:scheduler_hints': hints } : {}),
    });
  /** The server once it left BUILD and has no task. */
  const settled = async (id: string) => {
    let last = json('{}');
    await until(`${id} settled`, async () => {
      last = (await call('GET', `/servers/${id}`)).body.server;
      return last.status !== 'BUILD' && last['OS-EXT-STS:task_state'] === null;
    });
    return last;
  };
  await until('hosts registered', async () =>
    [...e.roles.values()].every((r) => r.registrar?.hosts().length === hostsPerCell),
  );
  // The first capacity report of every cell reaches the router (under load a cell's report can
  // land later, and the router then sends every boot to the cells it heard).
  const anyFlavor = { vcpus: 1, ramMb: 512, diskGb: 1, availabilityZone: null };
  await until('every cell reported its capacity', async () =>
    e.cells.every((c) => e.backend.router.headroom(c.name, anyFlavor) !== undefined),
  );
  return { e, clock, until, call, boot, settled };
}
